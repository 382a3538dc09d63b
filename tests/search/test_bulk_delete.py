"""A bulk ``delete(Segment)`` (as a re-run of the transcript stage does) takes the
segments' documents out of the index too: no hit, no count, no orphan document."""

from __future__ import annotations

from sqlalchemy import delete, select

from earshot.search import SearchOptions, check_index, search
from earshot.store.case import Case
from earshot.store.models import Segment

ALL = SearchOptions(limit=10_000)


def test_bulk_deleted_segments_leave_the_index(sample_case: Case) -> None:
    with sample_case.session() as session:
        before = search(session, "мама", ALL)
        assert before.total >= 2
        gone = before.hits[0].segment
        transcript = session.scalar(select(Segment.transcript_id).where(Segment.id == gone))
        doomed = set(session.scalars(select(Segment.id).where(Segment.transcript_id == transcript)))
        session.execute(delete(Segment).where(Segment.transcript_id == transcript))
        inside = search(session, "мама", ALL)  # this transaction: the pending overlay
        assert {h.segment for h in inside.hits} == {h.segment for h in before.hits} - doomed
        assert inside.total == before.total - len(doomed & {h.segment for h in before.hits})
    with sample_case.session() as session:
        after = search(session, "мама", ALL)
        assert {h.segment for h in after.hits} == {h.segment for h in before.hits} - doomed
        assert after.total == len(after.hits)
        assert check_index(session) == []
