"""Date filters in the case's own time zone use the index's local day and month terms;
in any other zone they fall back to the UTC terms. Both must equal plain filtering, and
a rebuild adopts a changed case zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from earshot.search import SearchOptions, check_index, reindex, search
from earshot.search.indexer import index_for
from earshot.store.case import Case
from earshot.store.models import Call, Segment

WORD = "мама"
CASE_ZONE = "Europe/Moscow"


def _set_case_zone(case: Case, zone: str) -> None:
    config = Path(case.path) / "earshot.toml"
    body = config.read_text("utf-8")
    assert 'timezone = "UTC"' in body
    config.write_text(body.replace('timezone = "UTC"', f'timezone = "{zone}"'), "utf-8")


def _found(case: Case, query: str, zone: str) -> set[int]:
    with case.session() as session:
        return {
            h.segment for h in search(session, query, SearchOptions(10_000, 0, "RU", zone)).hits
        }


def _starts(case: Case) -> dict[int, datetime]:
    with case.session() as session:
        ids = [h.segment for h in search(session, WORD, SearchOptions(limit=10_000)).hits]
        out: dict[int, datetime] = {}
        for seg_id in ids:
            seg = session.get(Segment, seg_id)
            assert seg is not None
            call = session.get(Call, seg.call_id)
            assert call is not None and call.started_at is not None
            out[seg_id] = call.started_at.replace(tzinfo=UTC)
        return out


@pytest.fixture
def moscow_case(sample_case: Case) -> Case:
    _set_case_zone(sample_case, CASE_ZONE)
    with sample_case.session() as session:
        assert index_for(session).zone == "UTC"  # built before the change: keeps its zone
        reindex(session)
        session.commit()
        assert index_for(session).zone == CASE_ZONE  # the rebuild adopted the case's zone
    return sample_case


@pytest.mark.parametrize("zone", [CASE_ZONE, "UTC", "America/Los_Angeles"])
def test_dates_in_any_zone_equal_plain_filtering(moscow_case: Case, zone: str) -> None:
    starts = _starts(moscow_case)
    tz = ZoneInfo(zone)
    days = sorted({s.astimezone(tz).date() for s in starts.values()})
    assert len(days) >= 3, "the sample corpus should spread WORD over several days"
    first, last = days[1], days[-2]
    lo = datetime.combine(first, time(0), tzinfo=tz)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    expected = {
        f"{WORD} from:{first} to:{last}": {i for i, s in starts.items() if lo <= s < hi},
        f"{WORD} from:{first}": {i for i, s in starts.items() if lo <= s},
        f"{WORD} to:{last}": {i for i, s in starts.items() if s < hi},
        f"{WORD} from:{first:%Y-%m} to:{last:%Y-%m}": {
            i
            for i, s in starts.items()
            if first.replace(day=1) <= s.astimezone(tz).date()
            and s.astimezone(tz).date().replace(day=1) <= last.replace(day=1)
        },
    }
    for query, want in expected.items():
        assert _found(moscow_case, query, zone) == want, query
    assert any(expected.values())


def test_a_call_just_after_local_midnight_belongs_to_the_local_day(moscow_case: Case) -> None:
    seg_id = next(iter(_starts(moscow_case)))
    # 21:30 UTC on 1 March is 00:30 on 2 March in Moscow (UTC+3).
    moment = datetime(2030, 3, 1, 21, 30, tzinfo=UTC)
    with moscow_case.session() as session:
        seg = session.get(Segment, seg_id)
        assert seg is not None
        call = session.get(Call, seg.call_id)
        assert call is not None
        call.started_at = moment
        session.flush()
        # Pending (in this transaction): the overlay index uses the same local terms.
        hits = search(
            session, f"{WORD} from:2030-03-02 to:2030-03-02", SearchOptions(timezone=CASE_ZONE)
        )
        assert seg_id in {h.segment for h in hits.hits}
        session.commit()
    assert seg_id in _found(moscow_case, f"{WORD} from:2030-03-02 to:2030-03-02", CASE_ZONE)
    assert seg_id in _found(moscow_case, f"{WORD} from:2030-03 to:2030-03", CASE_ZONE)
    assert seg_id not in _found(moscow_case, f"{WORD} from:2030-03-01 to:2030-03-01", CASE_ZONE)
    assert seg_id not in _found(moscow_case, f"{WORD} to:2030-03-01", CASE_ZONE)
    assert seg_id in _found(moscow_case, f"{WORD} from:2030-03-01 to:2030-03-01", "UTC")
    assert seg_id not in _found(moscow_case, f"{WORD} from:2030-03-02", "UTC")
    with moscow_case.session() as session:
        assert check_index(session) == []
