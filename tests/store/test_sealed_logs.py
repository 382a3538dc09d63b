"""Sealed logs: RFC 8785 hashes, a MAC per entry, anchors with length and head, upgrades.

Each attack is done as someone with write access to the database would do it: drop the
triggers first, then write rows directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import tomli_w
from sqlalchemy.exc import DBAPIError

from earshot.settings import Settings
from earshot.store.audit import audit, verify_audit
from earshot.store.case import Case
from earshot.store.chainkey import KEY_NAME, ChainKeyError, entry_mac
from earshot.store.custody import append_custody, verify_chain
from earshot.store.database import make_engine, migrate
from earshot.store.hashchain import GENESIS, chain_digest, legacy_digest
from earshot.store.verify import verify_case

_AUDIT_COLS = ("at", "user", "action", "object_type", "object_id", "detail")
_CUSTODY_COLS = ("at", "operator", "action", "sha256", "path", "detail")


def _drop_triggers(case: Case, table: str) -> None:
    """What an attacker with database access does first."""
    with case.engine.begin() as conn:
        if case.engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"DROP TRIGGER {table}_append_only ON {table}"))
            conn.execute(sa.text(f"DROP TRIGGER {table}_needs_mac ON {table}"))
        else:
            for name in ("no_update", "no_delete", "needs_mac"):
                conn.execute(sa.text(f"DROP TRIGGER {table}_{name}"))


def _rows(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
        return [dict(r._mapping) for r in conn.execute(sa.select(reflected).order_by("id"))]


def _content(row: dict[str, Any], cols: tuple[str, ...]) -> dict[str, Any]:
    out = {c: row[c] for c in cols}
    at = out["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    out["at"] = at.replace(tzinfo=UTC).isoformat(timespec="microseconds")
    if isinstance(out["detail"], str):
        out["detail"] = json.loads(out["detail"])
    return out


def _insert(engine: sa.Engine, table: str, values: dict[str, Any]) -> None:
    with engine.begin() as conn:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
        conn.execute(reflected.insert().values(**values))


def _forge(
    case: Case, table: str, cols: tuple[str, ...], fields: dict[str, Any], *, mac_key: bytes | None
) -> None:
    """Append an entry that chains correctly onto the newest one; its MAC under `mac_key`
    (the attacker's guess), or none in the old style when `mac_key` is None."""
    last = _rows(case.engine, table)[-1]
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    values: dict[str, Any] = {
        **fields,
        "at": at.replace(tzinfo=None),
        "prev_hash": last["entry_hash"],
    }
    content = {c: values[c] for c in cols} | {"at": at.isoformat(timespec="microseconds")}
    if mac_key is None:
        values["entry_hash"] = legacy_digest(last["entry_hash"], content)
    else:
        values["entry_hash"] = chain_digest(last["entry_hash"], content)
        values["entry_mac"] = entry_mac(mac_key, table, values["entry_hash"])
    _insert(case.engine, table, values)


# -- the canonical form --------------------------------------------------------------


def test_hash_is_sha256_of_rfc8785_canonical_json() -> None:
    """Keys sorted by code unit, numbers in ECMAScript form (1.0 -> 1, 1e21 -> 1e+21),
    UTF-8 kept, no whitespace: the bytes a third party's JCS implementation produces."""
    content = {"é": "звонок", "a": 1.0, "b": [1e21, 0.5, -0.0], "c": None, "d": "\u2028\n"}
    expected = (
        '{"a":1,"b":[1e+21,0.5,0],"c":null,"d":"\u2028\\n","prev":"' + GENESIS + '","é":"звонок"}'
    ).encode()
    assert chain_digest(GENESIS, content) == hashlib.sha256(expected).hexdigest()
    # The old form differs exactly where JSON serializers disagree (numbers).
    assert legacy_digest(GENESIS, content) != chain_digest(GENESIS, content)


# -- custody log ---------------------------------------------------------------------


def _custody(case: Case, n: int) -> None:
    for i in range(n):
        with case.session() as session:
            append_custody(session, operator="ops", action="ingested", detail={"i": i, "s": 1.5})


def test_every_entry_is_sealed_and_anchored(case: Case) -> None:
    _custody(case, 3)
    rows = _rows(case.engine, "custody_log")
    key = bytes.fromhex((case.path / KEY_NAME).read_text().strip())
    assert all(r["entry_mac"] == entry_mac(key, "custody_log", r["entry_hash"]) for r in rows)
    anchor = json.loads((case.path / "custody.anchor").read_text())
    assert anchor == {
        "format": 2,
        "length": 4,
        "head": rows[-1]["entry_hash"],
        "legacy": 0,
        "last_id": rows[-1]["id"],
    }
    for name in (KEY_NAME, "custody.anchor", "custody.anchor.lock"):
        assert stat.S_IMODE(os.stat(case.path / name).st_mode) == 0o600, name
    with case.session() as session:
        assert verify_chain(session) == (4, [])


def test_insert_without_mac_is_refused_by_the_database(case: Case) -> None:
    _custody(case, 1)
    row = _rows(case.engine, "custody_log")[-1]
    row.pop("id")
    row["entry_mac"] = None
    row["entry_hash"] = "f" * 64
    for table in ("custody_log", "audit_log"):
        if table == "audit_log":
            with case.session() as session:
                audit(session, user="u", action="view_call", object_type="call", object_id="1")
            row = _rows(case.engine, table)[-1]
            row.pop("id")
            row.update(entry_mac=None, entry_hash="e" * 64)
        with pytest.raises(DBAPIError, match="without a MAC is refused"):
            _insert(case.engine, table, row)


def test_deleting_the_newest_custody_entries_fails_verify(case: Case) -> None:
    _custody(case, 4)
    _drop_triggers(case, "custody_log")
    with case.engine.begin() as conn:
        newest = conn.execute(sa.text("SELECT max(id) FROM custody_log")).scalar_one()
        conn.execute(sa.text("DELETE FROM custody_log WHERE id >= :n"), {"n": newest - 1})
    report = verify_case(case)
    assert not report.ok
    assert report.custody_entries == 3
    assert any("custody.anchor records 5 entries" in p for p in report.custody_problems)
    assert any("removed from the end" in p for p in report.custody_problems)


def test_work_after_a_cut_does_not_paper_over_it(case: Case) -> None:
    """Entries deleted, then Earshot goes on appending (past the old length): the anchor
    does not move over the gap, so the cut stays visible."""
    _custody(case, 3)
    before = json.loads((case.path / "custody.anchor").read_text())
    _drop_triggers(case, "custody_log")
    with case.engine.begin() as conn:
        newest = conn.execute(sa.text("SELECT max(id) FROM custody_log")).scalar_one()
        conn.execute(sa.text("DELETE FROM custody_log WHERE id >= :n"), {"n": newest - 1})
    _custody(case, 5)
    assert json.loads((case.path / "custody.anchor").read_text()) == before
    with case.session() as session:
        count, problems = verify_chain(session)
    assert count == 7
    assert [p.message for p in problems] == [
        f"is not the entry recorded as number {before['length']} in custody.anchor: "
        "the end of the log was rewritten"
    ]


def test_rewritten_tail_fails_verify(case: Case) -> None:
    """Delete the newest entry and append a different one in its place, with a MAC under
    a guessed key: both the MAC and the anchor's head catch it."""
    _custody(case, 2)
    _drop_triggers(case, "custody_log")
    with case.engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM custody_log WHERE id = (SELECT max(id) FROM custody_log)")
        )
    fields = {"operator": "ops", "action": "ingested", "sha256": None, "path": None, "detail": {}}
    _forge(case, "custody_log", _CUSTODY_COLS, fields, mac_key=os.urandom(32))
    with case.session() as session:
        count, problems = verify_chain(session)
    messages = [p.message for p in problems]
    assert count == 3
    assert any("wrong MAC" in m for m in messages)
    assert any("not the entry recorded as number 3" in m for m in messages)


def test_forged_custody_entry_with_a_guessed_key_is_caught(case: Case) -> None:
    _custody(case, 2)
    _drop_triggers(case, "custody_log")
    fields = {"operator": "ops", "action": "deleted", "sha256": None, "path": "x", "detail": {}}
    _forge(case, "custody_log", _CUSTODY_COLS, fields, mac_key=os.urandom(32))
    report = verify_case(case)
    assert any("wrong MAC" in p and "forged" in p for p in report.custody_problems)


def test_old_style_entry_without_mac_after_sealed_ones_is_caught(case: Case) -> None:
    _custody(case, 1)
    _drop_triggers(case, "custody_log")
    fields = {"operator": "ops", "action": "deleted", "sha256": None, "path": None, "detail": {}}
    _forge(case, "custody_log", _CUSTODY_COLS, fields, mac_key=None)
    with case.session() as session:
        _, problems = verify_chain(session)
    assert [p.message for p in problems] == ["has no MAC: it was written outside Earshot"]


def test_missing_chain_key_stops_appends_and_fails_verify(case: Case) -> None:
    _custody(case, 1)
    (case.path / KEY_NAME).unlink()
    with pytest.raises(ChainKeyError, match="restore it from a backup"), case.session() as session:
        append_custody(session, operator="ops", action="ingested")
    assert not (case.path / KEY_NAME).exists()  # never silently replaced
    with case.session() as session:
        _, problems = verify_chain(session)
    assert len(problems) == 1 and "chain key" in problems[0].message


def test_chain_key_file_setting_keeps_the_key_outside_the_case(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "team.key"
    Case.init(tmp_path / "c", settings=Settings(chain_key_file=str(key_file))).close()
    assert key_file.is_file() and not (tmp_path / "c" / KEY_NAME).exists()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    with Case.open(tmp_path / "c") as case:  # the setting is kept with the case
        _custody(case, 1)
        with case.session() as session:
            assert verify_chain(session) == (2, [])
    assert not (tmp_path / "c" / KEY_NAME).exists()


# -- cases made before sealed logs ----------------------------------------------------


def _old_case(path: Path, db_url: str) -> None:
    """What Earshot before sealed logs left: schema 0500, legacy hashes, no MACs, an
    audit anchor of format 1, no custody anchor, no chain key."""
    path.mkdir()
    case_id = uuid.uuid4().hex
    settings: dict[str, Any] = {"region": "RU", "timezone": "UTC"}
    if db_url:
        settings["db"] = db_url
    config = {"case": {"id": case_id, "format": 1}, "settings": settings}
    (path / "earshot.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    engine = make_engine(db_url or f"sqlite:///{path / 'earshot.db'}")
    migrate(engine, "0500")
    (path / "media").mkdir()
    _insert(engine, "case_info", {"key": "case_id", "value": case_id})
    prev = GENESIS
    for i, action in enumerate(["case-created", "ingested"]):
        at = datetime(2026, 11, 20, 8, i, tzinfo=UTC)
        content = {
            "at": at.isoformat(timespec="microseconds"),
            "operator": "old",
            "action": action,
            "sha256": None,
            "path": None,
            "detail": {"n": 1.0},
        }
        digest = legacy_digest(prev, content)
        row = content | {"at": at.replace(tzinfo=None), "prev_hash": prev, "entry_hash": digest}
        _insert(engine, "custody_log", row)
        prev = digest
    prev = GENESIS
    for i in range(2):
        at = datetime(2026, 11, 21, 8, i, tzinfo=UTC)
        content = {
            "at": at.isoformat(timespec="microseconds"),
            "user": "old",
            "action": "view_call",
            "object_type": "call",
            "object_id": str(i),
            "detail": {},
        }
        digest = legacy_digest(prev, content)
        row = content | {"at": at.replace(tzinfo=None), "prev_hash": prev, "entry_hash": digest}
        _insert(engine, "audit_log", row)
        prev = digest
        last_id = i + 1
    (path / "audit.anchor").write_text(
        json.dumps({"format": 1, "last_id": last_id, "last_hash": prev}), encoding="utf-8"
    )
    engine.dispose()


def test_older_case_is_upgraded_and_stays_verifiable(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "old"
    _old_case(path, db_url)
    with Case.open(path) as case:
        assert case.migration is not None and case.migration.before == "0500"
        with case.session() as session:
            assert verify_chain(session)[1] == []
            assert verify_audit(session).ok
        rows = _rows(case.engine, "custody_log")
        assert [r["action"] for r in rows] == ["case-created", "ingested", "schema-upgraded"]
        assert [r["entry_mac"] is None for r in rows] == [True, True, False]
        custody_anchor = json.loads((path / "custody.anchor").read_text())
        audit_anchor = json.loads((path / "audit.anchor").read_text())
        assert custody_anchor["legacy"] == 2 and custody_anchor["length"] == 3
        assert audit_anchor == {
            "format": 2,
            "length": 2,
            "head": _rows(case.engine, "audit_log")[-1]["entry_hash"],
            "legacy": 2,
            "last_id": 2,
        }
        with case.session() as session:
            audit(session, user="new", action="view_call", object_type="call", object_id="7")
            assert verify_audit(session).ok
        assert verify_case(case).ok
    with Case.open(path) as again:
        assert again.migration is None


def test_old_style_entry_appended_after_an_upgrade_is_caught(tmp_path: Path) -> None:
    """Right after the upgrade the audit log has no sealed entry yet; the anchor's
    `legacy` count still tells the old entries from a new one without a MAC."""
    path = tmp_path / "old"
    _old_case(path, "")
    with Case.open(path) as case:
        _drop_triggers(case, "audit_log")
        fields = {
            "user": "mallory",
            "action": "view_call",
            "object_type": "call",
            "object_id": "1",
            "detail": {},
        }
        _forge(case, "audit_log", _AUDIT_COLS, fields, mac_key=None)
        with case.session() as session:
            report = verify_audit(session)
    assert report.problems == ["audit entry 3: has no MAC: it was written outside Earshot"]


@pytest.mark.postgres
def test_restricted_postgres_role_appends_but_cannot_touch_the_logs(
    tmp_path: Path, pg_url: str
) -> None:
    """The recipe of docs/security.md: Earshot runs as a role that may INSERT and SELECT
    the logs but not UPDATE, DELETE or TRUNCATE them, and does not own them (so it
    cannot drop their triggers)."""
    import psycopg

    path = tmp_path / "team"
    Case.init(path, db=pg_url).close()  # made by the owner
    role = f"earshot_app_{uuid.uuid4().hex[:8]}"
    owner = psycopg.connect(pg_url, autocommit=True)
    try:
        for statement in (
            f'CREATE ROLE "{role}" LOGIN',
            f'GRANT USAGE ON SCHEMA public TO "{role}"',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
            f'REVOKE UPDATE, DELETE, TRUNCATE ON custody_log, audit_log FROM "{role}"',
        ):
            owner.execute(statement)
        app_url = sa.make_url(pg_url).set(username=role, password=None)
        app_url_text = app_url.render_as_string(hide_password=False)
        with Case.open(path, settings=Settings(db=app_url_text)) as case:
            assert case.engine.url.username == role
            _custody(case, 2)
            with case.session() as session:
                audit(session, user="ann", action="view_call", object_type="call", object_id="1")
            with case.engine.begin() as conn:
                for statement in (
                    "DELETE FROM custody_log",
                    "UPDATE audit_log SET object_id = '9'",
                    "DROP TRIGGER custody_log_append_only ON custody_log",
                ):
                    refused = pytest.raises(DBAPIError, match=r"permission denied|must be owner")
                    with refused, conn.begin_nested():
                        conn.execute(sa.text(statement))
            assert verify_case(case).ok
    finally:
        owner.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
        owner.execute(f'DROP OWNED BY "{role}"')
        owner.execute(f'DROP ROLE IF EXISTS "{role}"')
        owner.close()


def test_concurrent_writers_keep_one_chain(case: Case) -> None:
    """Several threads (as several server processes would) append at once: every entry
    chains onto the one before it and the anchor ends at the full length."""
    import threading

    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                with case.session() as session:
                    audit(session, user=f"w{n}", action="view_call", object_type="call",
                          object_id=str(i))  # fmt: skip
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with case.session() as session:
        report = verify_audit(session)
    assert report.ok, report.problems
    assert report.entries == 24
    assert json.loads((case.path / "audit.anchor").read_text())["length"] == 24


def test_verify_commands_fail_on_a_cut_custody_log_and_a_forged_audit_entry(
    case: Case,
    run_cli: Any,
) -> None:
    """The review's two checks, as a newsroom runs them."""
    _custody(case, 3)
    with case.session() as session:
        audit(session, user="ann", action="view_call", object_type="call", object_id="1")
    assert "OK" in run_cli("verify", case.path).stdout
    _drop_triggers(case, "custody_log")
    _drop_triggers(case, "audit_log")
    with case.engine.begin() as conn:
        newest = conn.execute(sa.text("SELECT max(id) FROM custody_log")).scalar_one()
        conn.execute(sa.text("DELETE FROM custody_log WHERE id >= :n"), {"n": newest - 1})
    failed = run_cli("verify", case.path, code=1)
    assert "CUSTODY" in failed.stderr and "removed from the end" in failed.stderr
    fields = {"user": "ann", "action": "export", "object_type": "call", "object_id": "1",
              "detail": {}}  # fmt: skip
    _forge(case, "audit_log", _AUDIT_COLS, fields, mac_key=os.urandom(32))
    forged = run_cli("audit", "verify", case.path, code=1)
    assert "wrong MAC" in forged.stderr
