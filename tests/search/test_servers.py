"""Several servers on one case: each process's readers see every commit, whichever
process wrote it; one writer at a time holds the lock in the case directory."""

from __future__ import annotations

import fcntl
import threading
import time

from sqlalchemy import select

from earshot.search import SearchOptions, search
from earshot.search.indexer import index_for
from earshot.search.tindex import LOCK_NAME
from earshot.store.case import Case
from earshot.store.models import Segment

ALL = SearchOptions(limit=10_000)


def test_a_second_server_sees_each_commit_and_writers_take_turns(sample_case: Case) -> None:
    other = Case.open(sample_case.path)  # another engine, another index handle: a server
    try:
        with other.session() as session:
            assert search(session, "дирижабль", ALL).total == 0  # its searcher is open
        with sample_case.session() as session:
            seg = session.execute(select(Segment).order_by(Segment.id)).scalars().first()
            assert seg is not None
            seg.text = "Дирижабль над полем."
            seg_id = seg.id
        with other.session() as session:
            assert [h.segment for h in search(session, "дирижабль", ALL).hits] == [seg_id]
        # While one process holds the writer lock, another's commit waits for it.
        with (sample_case.path / LOCK_NAME).open("a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            done = threading.Event()

            def edit() -> None:
                with other.session() as session:
                    row = session.get(Segment, seg_id)
                    assert row is not None
                    row.text = "Аэростат над полем."
                done.set()

            worker = threading.Thread(target=edit)
            worker.start()
            time.sleep(1.0)
            assert not done.is_set()  # committed, waiting to write the index
            fcntl.flock(fh, fcntl.LOCK_UN)
            worker.join(timeout=60)
            assert done.is_set()
        with sample_case.session() as session:
            assert [h.segment for h in search(session, "аэростат", ALL).hits] == [seg_id]
            assert index_for(session).path == sample_case.path / "search-index"
    finally:
        other.close()
