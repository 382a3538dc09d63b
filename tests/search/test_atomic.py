"""The database is the truth: a crash never leaves the index out of step with the data
(killed mid-transaction, or between the commit and the index update), and a case from
before the tantivy index is migrated and indexed."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select, text

from earshot.search import SearchOptions, check_index, search
from earshot.store.case import Case
from earshot.store.database import current_revision, head_revision, make_engine
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


# Commits one edit with the test hook set: the process kills itself (SIGKILL) right
# after the commit, before the index is touched.
KILLED_AFTER_COMMIT = textwrap.dedent(
    """
    import sys
    from sqlalchemy import select
    from earshot.search import SearchOptions, search
    from earshot.store.case import Case
    from earshot.store.models import Segment

    case = Case.open(sys.argv[1])
    with case.session() as session:
        search(session, "мама", SearchOptions(limit=1))  # the index is open in this process
        segs = session.execute(select(Segment).order_by(Segment.id)).scalars().all()
        segs[0].text = "Аэростат поднялся над полем."
        session.delete(segs[1])
    print("not killed", flush=True)
    """
)


def test_sigkill_between_commit_and_index_update_loses_no_hit(sample_case: Case) -> None:
    with sample_case.session() as session:
        segs = session.execute(select(Segment).order_by(Segment.id)).scalars().all()
        first, second = segs[0].id, segs[1].id
        gone_word = segs[1].text.split()[0]
    sample_case.close()
    env = dict(os.environ, EARSHOT_TEST_KILL_AFTER_COMMIT="1")
    child = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_COMMIT, str(sample_case.path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "not killed" not in child.stdout
    # The commit happened, the index was not touched: the outbox holds both segments.
    with sqlite_or_pg_rows(sample_case) as rows:
        assert {first, second} <= rows
    reopened = Case.open(sample_case.path)
    try:
        with reopened.session() as session:
            found = search(session, "аэростат", ALL)
            assert [h.segment for h in found.hits] == [first]
            assert second not in {h.segment for h in search(session, gone_word, ALL).hits}
            assert check_index(session) == []
        with reopened.session() as session:
            left = session.execute(text("SELECT count(*) FROM search_outbox")).scalar_one()
        assert left == 0  # applied on open
    finally:
        reopened.close()


@contextmanager
def sqlite_or_pg_rows(case: Case) -> Iterator[set[int]]:
    """The outbox's segment ids, read without opening the case's index."""
    engine = make_engine(
        f"sqlite:///{case.path / 'earshot.db'}"
        if case.engine.dialect.name == "sqlite"
        else case.engine.url.render_as_string(hide_password=False)
    )
    try:
        with engine.connect() as conn:
            yield {int(r[0]) for r in conn.execute(text("SELECT segment_id FROM search_outbox"))}
    finally:
        engine.dispose()


def test_case_from_before_tantivy_is_migrated_and_indexed(sample_case: Case) -> None:
    if sample_case.engine.dialect.name != "sqlite":
        return
    with sample_case.session() as session:
        expected = [h.segment for h in search(session, "мама party:A", ALL).hits]
    assert expected
    sample_case.close()
    # Put the case back to schema 0404: an FTS5 table and the signature list, no outbox,
    # no tantivy index.
    shutil.rmtree(sample_case.path / "search-index")
    with sqlite3.connect(sample_case.path / "earshot.db") as conn:
        conn.execute("DROP TABLE search_outbox")
        conn.execute("CREATE VIRTUAL TABLE segment_fts USING fts5(ru, en, ru_seq, en_seq, meta)")
        conn.execute("CREATE TABLE search_signatures (key TEXT, signature TEXT)")
        conn.execute("UPDATE alembic_version SET version_num = '0404' WHERE version_num = '0405'")
    reopened = Case.open(sample_case.path)
    try:
        assert reopened.migration is not None
        assert current_revision(reopened.engine) == head_revision(reopened.engine)
        with sqlite3.connect(sample_case.path / "earshot.db") as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "segment_fts" not in names and "search_signatures" not in names
        with reopened.session() as session:
            assert [h.segment for h in search(session, "мама party:A", ALL).hits] == expected
            assert check_index(session) == []
        assert (sample_case.path / "search-index" / "meta.json").exists()
    finally:
        reopened.close()
