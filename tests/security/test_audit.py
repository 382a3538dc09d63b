"""Audit log: entries chain, and every kind of tampering is detected on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from earshot.store.audit import ANCHOR_NAME, audit, audit_entries, verify_audit
from earshot.store.case import Case


def _fill(case: Case, n: int = 5) -> None:
    for i in range(n):
        with case.session() as session:
            audit(
                session,
                user=f"анна{i % 2}",
                action="view_call",
                object_type="call",
                object_id=str(i),
                detail={"note": "<script>alert(1)</script>", "i": i},
            )


def _drop_triggers(case: Case) -> None:
    """What an attacker with database access does first."""
    with case.engine.begin() as conn:
        if case.engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))
            conn.execute(sa.text("DROP TRIGGER audit_log_needs_mac ON audit_log"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(sa.text("DROP TRIGGER audit_log_needs_mac"))


def _exec(case: Case, sql: str) -> None:
    with case.engine.begin() as conn:
        conn.execute(sa.text(sql))


def test_untouched_log_verifies_and_anchor_follows_commits(case: Case) -> None:
    _fill(case)
    with case.session() as session:
        report = verify_audit(session)
        entries = audit_entries(session)
    assert report.ok, report.problems
    assert report.entries == 5 and report.anchor_checked
    assert report.head_hash == entries[-1].entry_hash
    anchor = json.loads((case.path / ANCHOR_NAME).read_text(encoding="utf-8"))
    assert anchor["length"] == 5 and anchor["head"] == entries[-1].entry_hash
    assert [e.object_id for e in entries] == ["0", "1", "2", "3", "4"]
    with case.session() as session:
        assert [e.object_id for e in audit_entries(session, limit=2)] == ["3", "4"]
        assert len(audit_entries(session, user="анна1")) == 2


def test_rolled_back_entry_does_not_move_the_anchor(case: Case) -> None:
    _fill(case, 2)
    before = (case.path / ANCHOR_NAME).read_text(encoding="utf-8")
    with pytest.raises(RuntimeError), case.session() as session:
        audit(session, user="x", action="edit", object_type="segment", object_id="9")
        raise RuntimeError("edit failed")
    assert (case.path / ANCHOR_NAME).read_text(encoding="utf-8") == before
    with case.session() as session:
        assert verify_audit(session).ok


def test_triggers_refuse_update_and_delete(case: Case) -> None:
    _fill(case, 2)
    for sql in ("UPDATE audit_log SET object_id = '99'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            _exec(case, sql)


def test_altered_entry_is_detected(case: Case) -> None:
    _fill(case)
    _drop_triggers(case)
    _exec(case, "UPDATE audit_log SET object_id = '77' WHERE id = 3")
    with case.session() as session:
        report = verify_audit(session)
    assert not report.ok
    assert any("entry 3" in p and "altered" in p for p in report.problems)


def test_removed_middle_entry_is_detected(case: Case) -> None:
    _fill(case)
    _drop_triggers(case)
    _exec(case, "DELETE FROM audit_log WHERE id = 2")
    with case.session() as session:
        report = verify_audit(session)
    assert any("entry 3" in p and "removed or reordered" in p for p in report.problems)


def test_reordered_entries_are_detected(case: Case) -> None:
    _fill(case)
    _drop_triggers(case)
    # Swap entries 2 and 4 wholesale (content and hashes), as a reordering would.
    cols = 'at, "user", action, object_type, object_id, detail, prev_hash, entry_hash, entry_mac'
    _exec(case, f"CREATE TABLE swap AS SELECT id, {cols} FROM audit_log WHERE id IN (2, 4)")
    _exec(case, "DELETE FROM audit_log WHERE id IN (2, 4)")
    _exec(
        case,
        f"INSERT INTO audit_log (id, {cols}) SELECT 6 - id, {cols} FROM swap",
    )
    with case.session() as session:
        report = verify_audit(session)
    assert not report.ok
    assert any("removed or reordered" in p for p in report.problems)


def test_removed_tail_is_caught_by_the_anchor(case: Case) -> None:
    _fill(case)
    _drop_triggers(case)
    _exec(case, "DELETE FROM audit_log WHERE id >= 4")
    with case.session() as session:
        report = verify_audit(session)
    assert report.entries == 3
    assert len(report.problems) == 1 and "removed from the end" in report.problems[0]


def test_deleted_anchor_is_reported(case: Case) -> None:
    _fill(case, 2)
    (case.path / ANCHOR_NAME).unlink()
    with case.session() as session:
        report = verify_audit(session)
    assert not report.ok and ANCHOR_NAME in report.problems[0]


def test_empty_log_without_anchor_is_fine(case_dir: Path) -> None:
    with Case.open(case_dir) as case, case.session() as session:
        report = verify_audit(session)
    assert report.ok and report.entries == 0 and report.head_hash is None


@pytest.mark.parametrize("guessed_key", [None, b"\x01" * 32])
def test_forged_correctly_chained_entry_is_caught(case: Case, guessed_key: bytes | None) -> None:
    """The review's attack: a forged entry appended with a correct chain link (RFC 8785
    hash over the newest entry's hash), with no MAC or a MAC under a guessed key."""
    from datetime import UTC, datetime

    from earshot.store.chainkey import entry_mac
    from earshot.store.hashchain import chain_digest

    _fill(case, 3)
    _drop_triggers(case)
    with case.session() as session:
        head = audit_entries(session)[-1].entry_hash
    at = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    content = {
        "at": at.isoformat(timespec="microseconds"),
        "user": "admin",
        "action": "verify",
        "object_type": "call",
        "object_id": "1",
        "detail": {},
    }
    digest = chain_digest(head, content)
    mac = None if guessed_key is None else entry_mac(guessed_key, "audit_log", digest)
    with case.engine.begin() as conn:
        table = sa.Table("audit_log", sa.MetaData(), autoload_with=conn)
        conn.execute(
            table.insert().values(
                **(content | {"at": at.replace(tzinfo=None)}),
                prev_hash=head,
                entry_hash=digest,
                entry_mac=mac,
            )
        )
    with case.session() as session:
        report = verify_audit(session)
    assert report.entries == 4 and not report.ok
    expected = "has no MAC" if guessed_key is None else "wrong MAC"
    assert len(report.problems) == 1 and expected in report.problems[0]
