"""The index lives in the case database: a crash never leaves it out of step with the
data, and a case with schema 0400's companion index file is migrated."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

from sqlalchemy import select

from earshot.search import SearchOptions, check_index, search
from earshot.store.case import Case
from earshot.store.database import current_revision, head_revision
from earshot.store.models import Segment

ALL = SearchOptions(limit=10_000)

# Commits one edit, then edits every segment of the case in a second transaction and
# waits, flushed but uncommitted, to be killed; then keeps committing edits in a loop.
CHILD = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import select
    from earshot.store.case import Case
    from earshot.store.models import Segment

    case = Case.open(sys.argv[1])
    with case.session() as session:
        first = session.execute(select(Segment).order_by(Segment.id)).scalars().first()
        first.text = "Парашют раскрылся над лесом."
    print("committed", flush=True)
    session = case.session().__enter__()
    for seg in session.execute(select(Segment)).scalars():
        seg.text = "Дирижабль " + seg.text
    session.flush()
    print("flushed", flush=True)
    time.sleep(60)
    """
)


def _run_until(case: Case, marker: str) -> None:
    env = dict(os.environ)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(case.path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == marker:
                break
        else:
            raise AssertionError(f"the child ended before {marker!r}")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)


def test_sigkill_mid_transaction_leaves_index_and_data_in_step(sample_case: Case) -> None:
    sample_case.engine.dispose()
    _run_until(sample_case, "flushed")
    reopened = Case.open(sample_case.path)
    try:
        with reopened.session() as session:
            assert check_index(session) == []
            texts = [s.text for s in session.execute(select(Segment)).scalars()]
            assert texts and not any(t.startswith("Дирижабль") for t in texts)
            assert search(session, "дирижабль", ALL).total == 0
            found = search(session, "парашют", ALL)
            assert found.total == 1
            assert found.hits[0].text == "Парашют раскрылся над лесом."
    finally:
        reopened.close()


def test_case_with_the_old_index_file_is_migrated(sample_case: Case) -> None:
    if sample_case.engine.dialect.name != "sqlite":
        return
    with sample_case.session() as session:
        expected = {h.segment for h in search(session, "мама", ALL).hits}
    assert expected
    sample_case.close()
    # Put the case back to schema 0400: the index in a companion file, none inside.
    database = sample_case.path / "earshot.db"
    old = sample_case.path / "earshot-search.db"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE VIRTUAL TABLE segment_fts USING fts5(ru, en)")
    with sqlite3.connect(database) as conn:
        for name in (
            "ix_search_calls_started_at",
            "ix_search_parties_phone_id",
            "ix_search_parties_person_id",
        ):
            conn.execute(f"DROP INDEX {name}")
        for table in ("segment_fts", "search_stats", "search_signatures", "search_keys"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP INDEX ix_segment_search_facets")  # migration 0404's
        for column in ("ru_rep", "en_rep", "party", "started_at"):  # migrations 0403, 0404
            conn.execute(f"ALTER TABLE segment_search DROP COLUMN {column}")
        conn.execute(
            "UPDATE alembic_version SET version_num = '0400' "
            "WHERE version_num IN ('0401', '0402', '0403', '0404')"
        )
    reopened = Case.open(sample_case.path)
    try:
        assert reopened.migration is not None
        assert current_revision(reopened.engine) == head_revision(reopened.engine)
        assert not old.exists()
        with reopened.session() as session:
            assert check_index(session) == []
            assert {h.segment for h in search(session, "мама", ALL).hits} == expected
    finally:
        reopened.close()


def test_case_without_facet_tokens_is_migrated(sample_case: Case) -> None:
    if sample_case.engine.dialect.name != "sqlite":
        return
    with sample_case.session() as session:
        expected = [h.segment for h in search(session, "мама party:A", ALL).hits]
    assert expected
    sample_case.close()
    # Put the case back to schema 0401: a four-column FTS5 table, no facet column.
    with sqlite3.connect(sample_case.path / "earshot.db") as conn:
        conn.execute("DROP TABLE segment_fts")
        conn.execute("CREATE VIRTUAL TABLE segment_fts USING fts5(ru, en, ru_seq, en_seq)")
        conn.execute("DROP TABLE search_keys")  # migration 0403's
        conn.execute("DROP INDEX ix_segment_search_facets")  # migration 0404's
        for column in ("ru_rep", "en_rep", "party", "started_at"):
            conn.execute(f"ALTER TABLE segment_search DROP COLUMN {column}")
        conn.execute(
            "UPDATE alembic_version SET version_num = '0401' "
            "WHERE version_num IN ('0402', '0403', '0404')"
        )
    reopened = Case.open(sample_case.path)
    try:
        assert reopened.migration is not None
        assert current_revision(reopened.engine) == head_revision(reopened.engine)
        with reopened.session() as session:
            assert check_index(session) == []
            assert [h.segment for h in search(session, "мама party:A", ALL).hits] == expected
    finally:
        reopened.close()
