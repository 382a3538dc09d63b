"""A rebuild deletes only the outbox rows it has covered: a change committed while it
runs (by a transaction that was already open when it began) stays in the outbox and is
applied, so no hit is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from earshot.search import check_index, reindex, search
from earshot.search.indexer import apply_outbox, index_for
from earshot.store.case import Case
from earshot.store.models import Segment

WORD = "кукурузник"  # in no sample call


# SQLite has one writer: a transaction that has written holds the lock until it ends,
# so no change can commit while another transaction rebuilds; the race is PostgreSQL's.
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_change_committed_during_a_rebuild_is_not_lost(sample_case: Case) -> None:
    with sample_case.session() as session:
        seg_id = int(session.execute(text("SELECT min(id) FROM segments")).scalar_one())
        other = int(session.execute(text("SELECT max(id) FROM segments")).scalar_one())
    # An edit open in another transaction before the rebuild starts: its outbox row takes
    # an id now, and it commits while the rebuild runs.
    early_block = sample_case.session()
    early = early_block.__enter__()
    seg = early.get(Segment, seg_id)
    assert seg is not None
    seg.text = f"{seg.text} {WORD}"
    early.flush()
    # A later edit that commits before the rebuild: a higher outbox id, visible to it.
    with sample_case.session() as later:
        later_seg = later.get(Segment, other)
        assert later_seg is not None
        later_seg.text = f"{later_seg.text} {WORD}"
        later.flush()
        # Keep its row for the rebuild to cover (as if this process died before applying).
        later.info.pop("search_outbox_written", None)
    committed: list[bool] = []

    def progress(done: int, total: int) -> None:
        if not committed:  # after the rebuild has read the early segment's old text
            early.info.pop("search_outbox_written", None)  # as if it died before applying
            early_block.__exit__(None, None, None)
            committed.append(True)

    with sample_case.session() as session:
        pending = int(session.execute(text("SELECT count(*) FROM search_outbox")).scalar_one())
        assert pending == 1  # the later edit's row; the early one is not visible yet
        reindex(session, progress)
    assert committed
    with sample_case.session() as session:
        left = int(session.execute(text("SELECT count(*) FROM search_outbox")).scalar_one())
        assert left == 1  # the early edit's row stayed, to be applied
    with sample_case.session() as session:
        apply_outbox(sample_case.engine, index_for(session))
    with sample_case.session() as session:
        found = {h.segment for h in search(session, WORD).hits}
        assert found == {seg_id, other}
        assert check_index(session) == []
