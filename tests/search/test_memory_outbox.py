"""Several processes of an encrypted case, each with its own in-memory index: every one
takes in every committed edit (the outbox rows stay for the others), a process that
missed pruned rows rebuilds, and on PostgreSQL a row that commits after a higher one is
not skipped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from earshot.search import SearchOptions, check_index, search
from earshot.search import indexer as indexer_module
from earshot.search.applied import GAP_SETTLE_S, PRUNED_KEY, Applied
from earshot.search.indexer import index_for, unapplied_segments
from earshot.security.crypto import KeySource, create_key_file
from earshot.store.case import Case
from earshot.store.models import CaseInfo, Segment

from .conftest import ingest_sample

ALL = SearchOptions(limit=10_000)
WORD = "дирижабль"  # in no sample call


@pytest.fixture
def encrypted(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, KeySource]]:
    """An encrypted sample case (SQLCipher, or PostgreSQL with encrypted media: both
    keep the index in memory) and its key."""
    key = tmp_path / "case.key"
    create_key_file(key)
    with Case.init(
        tmp_path / "case", db=db_url or None, encryption=KeySource(key_file=key)
    ) as case:
        ingest_sample(case, tmp_path)
    yield tmp_path / "case", KeySource(key_file=key)


def _edit(case: Case, count: int, *, skip: int = 0) -> list[int]:
    """Put WORD in `count` segments (after the first `skip`), one commit each."""
    with case.session() as session:
        ids = list(
            session.execute(select(Segment.id).order_by(Segment.id).offset(skip).limit(count))
            .scalars()
            .all()
        )
    for seg_id in ids:
        with case.session() as session:
            seg = session.get(Segment, seg_id)
            assert seg is not None
            seg.text = f"{seg.text} {WORD.capitalize()}."
    return ids


def _found(case: Case) -> set[int]:
    with case.session() as session:
        return {h.segment for h in search(session, WORD, ALL).hits}


def _outbox(case: Case) -> list[int]:
    with case.session() as session:
        return [int(r[0]) for r in session.execute(text("SELECT id FROM search_outbox"))]


def test_every_server_process_takes_in_every_edit(encrypted: tuple[Path, KeySource]) -> None:
    path, key = encrypted
    with (
        Case.open(path, key=key) as first,
        Case.open(path, key=key) as second,
        Case.open(path, key=key) as worker,
    ):
        assert _found(first) == _found(second) == set()  # both built their index
        before = len(_outbox(worker))
        edited = _edit(worker, 3)  # a job worker: no index of its own
        assert _found(first) == set(edited)
        # The first server applied the rows; they stay for the second one's index.
        assert len(_outbox(worker)) == before + 3
        assert _found(second) == set(edited)
        more = _edit(worker, 2, skip=3)
        assert _found(second) == set(edited + more)
        assert _found(first) == set(edited + more)
        for server in (first, second):
            with server.session() as session:
                idx = index_for(session)
                assert idx.path is None
                # Taken in, not searched again in the overlay at every search.
                assert unapplied_segments(session.connection(), idx) == set()
                assert check_index(session) == []
        # A server's own edit: found in its transaction, then by the other server.
        with first.session() as session:
            seg = session.get(Segment, edited[0])
            assert seg is not None
            seg.text = "Тишина."
            session.flush()
            assert edited[0] not in {h.segment for h in search(session, WORD, ALL).hits}
        assert _found(second) == set(edited[1:] + more)
    assert not (path / "search-index").exists()


def test_a_process_that_missed_pruned_rows_rebuilds(
    encrypted: tuple[Path, KeySource], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer_module, "KEEP", 2)  # prune once 4 rows are kept
    path, key = encrypted
    with (
        Case.open(path, key=key) as busy,
        Case.open(path, key=key) as idle,
        Case.open(path, key=key) as worker,
    ):
        assert _found(busy) == _found(idle) == set()
        edited = _edit(worker, 6)
        assert _found(busy) == set(edited)  # took them in, then pruned the oldest
        left = _outbox(worker)
        with worker.session() as session:
            frontier = session.get(CaseInfo, PRUNED_KEY)
            assert frontier is not None
        assert len(left) == 2 and min(left) > int(frontier.value)
        # The idle process never saw the pruned rows: it rebuilds, and misses nothing.
        assert _found(idle) == set(edited)
        with idle.session() as session:
            assert check_index(session) == []
        # Pruning never empties the outbox: ids keep rising for the next edits.
        more = _edit(worker, 1, skip=6)
        assert _found(idle) == _found(busy) == set(edited + more)


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_row_that_commits_after_a_higher_one_is_not_skipped(
    encrypted: tuple[Path, KeySource],
) -> None:
    """PostgreSQL hands out ids in the order transactions ask, not the order they
    commit: the server that took in the higher row keeps asking for the lower one."""
    path, key = encrypted
    with Case.open(path, key=key) as server, Case.open(path, key=key) as worker:
        assert _found(server) == set()
        with worker.session() as session:
            ids = list(session.execute(select(Segment.id).order_by(Segment.id).limit(2)).scalars())
        slow_block = worker.session()
        slow = slow_block.__enter__()
        seg = slow.get(Segment, ids[0])
        assert seg is not None
        seg.text = f"{seg.text} {WORD}"
        slow.flush()  # its outbox row has the lower id, not yet committed
        with worker.session() as quick:
            other = quick.get(Segment, ids[1])
            assert other is not None
            other.text = f"{other.text} {WORD}"
        assert _found(server) == {ids[1]}
        with server.session() as session:
            assert len(index_for(session).applied.gaps) == 1
        slow_block.__exit__(None, None, None)  # commits
        assert _found(server) == set(ids)
        with server.session() as session:
            idx = index_for(session)
            assert idx.applied.gaps == []
            assert check_index(session) == []


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_rolled_back_gap_is_dropped_once_no_transaction_can_fill_it(
    encrypted: tuple[Path, KeySource], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, key = encrypted
    clock = [1000.0]
    monkeypatch.setattr(indexer_module, "_now", lambda: clock[0])
    with Case.open(path, key=key) as server, Case.open(path, key=key) as worker:
        assert _found(server) == set()
        with worker.session() as doomed:
            seg = doomed.execute(select(Segment).order_by(Segment.id)).scalars().first()
            assert seg is not None
            seg.text = f"{seg.text} {WORD}"
            doomed.flush()  # takes an outbox id ...
            doomed.rollback()  # ... that no row will ever have
        edited = _edit(worker, 1, skip=1)
        assert _found(server) == set(edited)
        with server.session() as session:
            applied = index_for(session).applied
        assert len(applied.gaps) == 1
        clock[0] += GAP_SETTLE_S  # old enough: its horizon is taken at the next look
        _found(server)
        assert applied.gaps and applied.gaps[0].horizon is not None
        # Dropped once no transaction from before the horizon runs any more. Transaction
        # ids are the server's, not the database's: another test's transaction on the
        # same server holds the gap open until it ends, hence the wait.
        deadline = time.monotonic() + 60
        while True:
            _found(server)
            if not applied.gaps or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert applied.gaps == []


def test_applied_rows_and_gaps() -> None:
    applied = Applied()
    applied.take([1, 2, 5, 9], 0.0, ordered=False)
    assert applied.upto == 9
    assert [(g.lo, g.hi) for g in applied.gaps] == [(3, 4), (6, 8)]
    assert [i for i in range(1, 12) if applied.is_new(i)] == [3, 4, 6, 7, 8, 10, 11]
    assert applied.where() == (
        "(id > ? OR id BETWEEN ? AND ? OR id BETWEEN ? AND ?)",
        [9, 3, 4, 6, 8],
    )
    applied.take([7], 1.0, ordered=False)  # fills the middle of a gap: it splits
    assert [(g.lo, g.hi) for g in applied.gaps] == [(3, 4), (6, 6), (8, 8)]
    applied.take([3, 4, 6, 8], 2.0, ordered=False)
    assert applied.gaps == [] and applied.where() == ("id > ?", [9])
    assert applied.lowest_unseen() == 10
    # SQLite commits in id order: an id skipped was never committed, no gap.
    ordered = Applied()
    ordered.take([4, 8], 0.0, ordered=True)
    assert ordered.gaps == [] and ordered.upto == 8
    # After a build: what it saw, and (PostgreSQL) the ids above the pruned frontier it
    # did not.
    built = Applied()
    built.reset([12, 13, 15], 10, 0.0, ordered=False)
    assert built.upto == 15 and [(g.lo, g.hi) for g in built.gaps] == [(11, 11), (14, 14)]
    built.reset([], 10, 0.0, ordered=False)
    assert built.upto == 10 and built.gaps == []
    # Settling: a gap is given a horizon once old enough, and dropped when the oldest
    # running transaction has passed it.
    gappy = Applied()
    gappy.take([1, 3], 0.0, ordered=False)
    gappy.settle(1.0, oldest_running=50, next_xid=60)  # too young: kept, no horizon
    assert gappy.gaps[0].horizon is None
    gappy.settle(GAP_SETTLE_S, oldest_running=50, next_xid=60)
    assert gappy.gaps[0].horizon == 60
    gappy.settle(GAP_SETTLE_S + 1, oldest_running=59, next_xid=70)  # one may still come
    assert len(gappy.gaps) == 1
    gappy.settle(GAP_SETTLE_S + 2, oldest_running=60, next_xid=70)
    assert gappy.gaps == []


_SERVER = """
import json, sys
from pathlib import Path
from earshot.search import SearchOptions, search
from earshot.security.crypto import KeySource
from earshot.store.case import Case

case = Case.open(Path(sys.argv[1]), key=KeySource(key_file=Path(sys.argv[2])))
for line in sys.stdin:
    with case.session() as session:
        hits = search(session, line.strip(), SearchOptions(limit=10_000)).hits
    print(json.dumps(sorted(h.segment for h in hits)), flush=True)
"""


def test_two_real_server_processes_each_see_a_third_ones_edits(
    encrypted: tuple[Path, KeySource],
) -> None:
    """The same with real processes: two searching servers and the test as the writer."""
    import json
    import subprocess
    import sys

    path, key = encrypted
    assert key.key_file is not None
    servers = [
        subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(path), str(key.key_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]

    def ask(server: subprocess.Popen[str]) -> set[int]:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(WORD + "\n")
        server.stdin.flush()
        return set(json.loads(server.stdout.readline()))

    try:
        assert [ask(s) for s in servers] == [set(), set()]  # each built its own index
        with Case.open(path, key=key) as writer:
            edited = _edit(writer, 2)
            assert ask(servers[0]) == set(edited)
            assert ask(servers[1]) == set(edited)
            more = _edit(writer, 1, skip=2)
            assert ask(servers[1]) == ask(servers[0]) == set(edited + more)
    finally:
        for server in servers:
            server.kill()
            server.wait()
