"""Facets (party, call start) are fast fields of the index; word + filter answers must
equal plain filtering, in any time zone, after any edit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from earshot.search import SearchOptions, check_index, search
from earshot.store.case import Case
from earshot.store.models import Call, Segment

WORD = "мама"


def _facts(case: Case) -> dict[int, tuple[str | None, datetime | None]]:
    """segment id -> (party, call start) for every segment holding WORD."""
    with case.session() as session:
        ids = [h.segment for h in search(session, WORD, SearchOptions(limit=10_000)).hits]
        rows = session.execute(
            select(Segment.id, Segment.party, Call.started_at)
            .join(Call, Call.id == Segment.call_id)
            .where(Segment.id.in_(ids))
        ).all()
    return {int(i): (p, s) for i, p, s in rows}


def _found(case: Case, query: str, zone: str = "UTC") -> set[int]:
    options = SearchOptions(limit=10_000, timezone=zone)
    with case.session() as session:
        return {h.segment for h in search(session, query, options).hits}


@pytest.mark.parametrize("zone", ["UTC", "Europe/Moscow", "America/Los_Angeles"])
def test_word_with_dates_and_party_equals_plain_filtering(sample_case: Case, zone: str) -> None:
    facts = _facts(sample_case)
    starts = sorted({s for _p, s in facts.values() if s is not None})
    assert len(starts) >= 3, "the sample corpus should spread WORD over several calls"
    tz = ZoneInfo(zone)
    # A range whose local-time edges cut through the middle of the calls' days.
    first, last = starts[1].astimezone(tz).date(), starts[-2].astimezone(tz).date()
    lo = datetime.combine(first, time(0), tzinfo=tz)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    cases: dict[str, set[int]] = {
        f"{WORD} from:{first} to:{last}": {
            i for i, (_p, s) in facts.items() if s is not None and lo <= s < hi
        },
        f"{WORD} from:{first}": {i for i, (_p, s) in facts.items() if s is not None and lo <= s},
        f"{WORD} to:{last}": {i for i, (_p, s) in facts.items() if s is not None and s < hi},
        f"{WORD} party:A from:{first} to:{last}": {
            i for i, (p, s) in facts.items() if p == "A" and s is not None and lo <= s < hi
        },
        f"{WORD} party:B": {i for i, (p, _s) in facts.items() if p == "B"},
    }
    for query, expected in cases.items():
        assert _found(sample_case, query, zone) == expected, query
    assert any(cases.values())


def test_moved_call_and_changed_party_are_reindexed(sample_case: Case) -> None:
    facts = _facts(sample_case)
    seg_id = next(i for i, (p, s) in facts.items() if p == "A" and s is not None)
    far = date(2031, 6, 15)
    with sample_case.session() as session:
        seg = session.get(Segment, seg_id)
        assert seg is not None
        call = session.get(Call, seg.call_id)
        assert call is not None
        call.started_at = datetime.combine(far, time(12), tzinfo=UTC)
        seg.party = "B"
        session.flush()
        assert seg_id in {
            h.segment for h in search(session, f"{WORD} from:{far} to:{far} party:B").hits
        }
    assert seg_id in _found(sample_case, f"{WORD} from:2031-06 to:2031-06 party:B")
    assert seg_id not in _found(sample_case, f"{WORD} party:A")
    assert seg_id not in _found(sample_case, f"{WORD} to:2031-05-31")
    with sample_case.session() as session:
        assert check_index(session) == []


def test_facets_are_fast_fields_of_every_document(sample_case: Case) -> None:
    """Each document holds its segment's party and its call's start (µs, UTC)."""
    import tantivy

    from earshot.search.indexer import index_for
    from earshot.search.tindex import micros

    with sample_case.session() as session:
        searcher = index_for(session).searcher()
        result = searcher.search(tantivy.Query.all_query(), limit=10_000)
        addresses = [a for _s, a in result.hits]
        ids = searcher.fast_field_values("id", addresses)
        started = dict(zip(ids, searcher.fast_field_values("started", addresses), strict=True))
        rows = session.execute(
            select(Segment.id, Call.started_at).join(Call, Call.id == Segment.call_id)
        ).all()
        assert len(rows) == len(ids) > 0
        for seg_id, start in rows:
            assert started[seg_id] == (None if start is None else micros(start))
        assert check_index(session) == []
