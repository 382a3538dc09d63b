"""PostgreSQL keeps the facet data (the segment's party, its call's start) in
``segment_search`` (migration 0404), and word + facet queries are decided there without
joining the segments: the stored copy must follow every edit, and the answers must
stay those of plain filtering."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, select, text

from earshot.search import SearchOptions, check_index, parse_query, reindex, search
from earshot.search.plan import compile_query
from earshot.store.case import Case
from earshot.store.database import current_revision, head_revision
from earshot.store.models import Call, Party, Phone, Segment

from .conftest import ingest_sample

pytestmark = pytest.mark.postgres

ALL = SearchOptions(limit=10_000)
WORD = "мама"
QUERIES = [
    f"{WORD} party:A",
    f"{WORD} party:B|A from:2023-01-01",
    f"{WORD} from:2023-01 to:2023-06",
    f"{WORD} to:2023-03-01 party:B",
    f"{WORD} OR mother party:A",
]


@pytest.fixture
def pg_case(pg_url: str, tmp_path: Path) -> Iterator[Case]:
    case = Case.init(tmp_path / "case", db=pg_url)
    ingest_sample(case, tmp_path)
    yield case
    case.close()


def stale_rows(conn: Connection) -> list[int]:
    """Index rows whose party or call start differ from the segment's."""
    return [
        int(r[0])
        for r in conn.execute(
            text(
                "SELECT ss.segment_id FROM segment_search ss JOIN segments s "
                "ON s.id = ss.segment_id LEFT JOIN calls c ON c.id = s.call_id "
                "WHERE ss.party IS DISTINCT FROM s.party "
                "OR ss.started_at IS DISTINCT FROM c.started_at "
                "OR ss.call_id IS DISTINCT FROM s.call_id"
            )
        )
    ]


def found(case: Case, query: str, zone: str = "UTC") -> set[int]:
    with case.session() as session:
        options = SearchOptions(limit=10_000, timezone=zone)
        return {h.segment for h in search(session, query, options).hits}


def answers(case: Case) -> dict[str, list[tuple[int, float]]]:
    with case.session() as session:
        return {q: [(h.segment, h.score) for h in search(session, q, ALL).hits] for q in QUERIES}


def test_word_and_facets_need_no_join(pg_case: Case) -> None:
    query = f"{WORD} from:2023-01-01 to:2023-01-31 party:A phone:+79155553147"
    with pg_case.session() as session:
        conn = session.connection()
        plan = compile_query(conn, parse_query(query), query, region="RU", timezone="Asia/Tokyo")
        assert plan.where == []
        joined = " ".join(plan.index_where)
        assert "ss.started_at >=" in joined and "ss.started_at <" in joined
        assert "ss.party IN" in joined and "ss.call_id IN" in joined
        # the bounds are the case zone's local midnights (Tokyo: 15:00 UTC the day before)
        bounds = sorted(v for v in plan.params.values() if isinstance(v, datetime))
        assert [b.astimezone(UTC) for b in bounds] == [
            datetime(2022, 12, 31, 15, tzinfo=UTC),
            datetime(2023, 1, 31, 15, tzinfo=UTC),
        ]
        assert stale_rows(conn) == []


def test_facet_columns_follow_call_time_party_and_phone_edits(pg_case: Case) -> None:
    with pg_case.session() as session:
        ids = [h.segment for h in search(session, WORD, ALL).hits]
        seg = (
            session.execute(select(Segment).where(Segment.party == "A", Segment.id.in_(ids)))
            .scalars()
            .first()
        )
        assert seg is not None
        seg_id, call_id = seg.id, seg.call_id
    far = date(2031, 6, 15)
    # the call's start moves (ORM edit): seen inside the transaction and after it
    with pg_case.session() as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.started_at = datetime.combine(far, time(23, 30), tzinfo=UTC)
        session.flush()
        assert stale_rows(session.connection()) == []
        hits = search(session, f"{WORD} from:{far} to:{far}", ALL).hits
        assert seg_id in {h.segment for h in hits}
    # 23:30 UTC is the next day in Moscow: the case time zone still decides the day
    assert seg_id in found(pg_case, f"{WORD} from:{far} to:{far}")
    assert seg_id not in found(pg_case, f"{WORD} from:{far} to:{far}", "Europe/Moscow")
    assert seg_id in found(pg_case, f"{WORD} from:2031-06-16 to:2031-06-16", "Europe/Moscow")
    assert seg_id not in found(pg_case, f"{WORD} to:2031-06-14")
    # the segment's party changes
    with pg_case.session() as session:
        seg = session.get(Segment, seg_id)
        assert seg is not None
        seg.party = "B"
        session.flush()
        assert stale_rows(session.connection()) == []
    assert seg_id in found(pg_case, f"{WORD} party:B from:2031-06")
    assert seg_id not in found(pg_case, f"{WORD} party:A")
    # a party's phone changes (identity edit): phone: follows at once
    with pg_case.session() as session:
        party = session.execute(select(Party).where(Party.call_id == call_id)).scalars().first()
        assert party is not None
        phone = Phone(e164="+79990001122")
        session.add(phone)
        session.flush()
        party.phone_id = phone.id
    assert seg_id in found(pg_case, f"{WORD} phone:+79990001122 party:B")
    # a rolled-back move leaves the stored start as it was
    with pytest.raises(RuntimeError), pg_case.session() as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.started_at = datetime(2040, 1, 1, tzinfo=UTC)
        session.flush()
        raise RuntimeError("roll back")
    assert seg_id in found(pg_case, f"{WORD} from:{far} to:2031-06-16")
    with pg_case.session() as session:
        assert stale_rows(session.connection()) == []
        assert check_index(session) == []
    # the bulk rebuild (COPY) writes the same facet data
    expected = answers(pg_case)
    with pg_case.session() as session:
        reindex(session)
        assert stale_rows(session.connection()) == []
    assert answers(pg_case) == expected
    # check_index notices a stale copy (rolled back)
    with pytest.raises(RuntimeError), pg_case.session() as session:
        session.execute(
            text("UPDATE segment_search SET party = 'X' WHERE segment_id = :s"), {"s": seg_id}
        )
        problems = check_index(session)
        assert f"segment {seg_id}: index row's call, party or start is stale" in problems
        raise RuntimeError("roll back")


def test_case_before_0404_is_migrated(pg_case: Case, pg_url: str) -> None:
    expected = answers(pg_case)
    assert any(expected.values())
    pg_case.close()
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("ALTER TABLE segment_search DROP COLUMN party, DROP COLUMN started_at")
        conn.execute("UPDATE alembic_version SET version_num = '0403' WHERE version_num = '0404'")
    reopened = Case.open(pg_case.path)
    try:
        assert reopened.migration is not None
        assert current_revision(reopened.engine) == head_revision(reopened.engine)
        with reopened.session() as session:
            assert stale_rows(session.connection()) == []
            assert check_index(session) == []
            keys = session.execute(text("SELECT count(*) FROM search_keys")).scalar_one()
            assert keys > 0
        assert answers(reopened) == expected
    finally:
        reopened.close()
