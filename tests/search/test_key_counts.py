"""PostgreSQL's BM25 statistics (migration 0403) stay equal to a fresh count of the
index: ``search_keys`` (each key's document frequency per column, kept by triggers)
and the ``ru_rep`` / ``en_rep`` repeated-key counts of each row, on every write path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, select, text

from earshot.search import SearchOptions, check_index, reindex, reindex_segments, search
from earshot.search.index import tsvector_parts
from earshot.store.case import Case
from earshot.store.database import current_revision, head_revision
from earshot.store.language_models import Translation
from earshot.store.models import Segment

from .conftest import ingest_sample

pytestmark = pytest.mark.postgres

ALL = SearchOptions(limit=10_000)

FRESH_KEYS = """
SELECT coalesce(j.rk, j.ek) AS k, count(j.rk), count(j.ek),
       count(*) FILTER (WHERE j.rk IS NOT NULL AND j.ek IS NOT NULL)
FROM segment_search x, LATERAL (
    SELECT a.k AS rk, c.k AS ek FROM unnest(tsvector_to_array(x.ru)) a(k)
    FULL JOIN unnest(tsvector_to_array(x.en)) c(k) ON a.k = c.k) j
GROUP BY 1
"""
REPEATS = (
    "(SELECT jsonb_object_agg(lexeme, cardinality(positions)) FROM unnest({col}) "
    "WHERE cardinality(positions) > 1)"
)
QUERIES = ["мама", "Бахмут штурм", '"груз 200"', "drone", "мама OR mother", "штурм party:A"]


@pytest.fixture
def pg_case(pg_url: str, tmp_path: Path) -> Iterator[Case]:
    case = Case.init(tmp_path / "case", db=pg_url)
    ingest_sample(case, tmp_path)
    yield case
    case.close()


def assert_in_step(conn: Connection) -> None:
    stored = {
        str(r[0]): (int(r[1]), int(r[2]), int(r[3]))
        for r in conn.execute(text("SELECT key, rows_ru, rows_en, rows_both FROM search_keys"))
    }
    fresh = {str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(text(FRESH_KEYS))}
    assert stored == fresh
    wrong = conn.execute(
        text(
            "SELECT segment_id FROM segment_search WHERE "
            f"ru_rep IS DISTINCT FROM {REPEATS.format(col='ru')} OR "
            f"en_rep IS DISTINCT FROM {REPEATS.format(col='en')}"
        )
    ).all()
    assert wrong == []


def answers(case: Case) -> dict[str, list[tuple[int, float]]]:
    with case.session() as session:
        return {q: [(h.segment, h.score) for h in search(session, q, ALL).hits] for q in QUERIES}


def test_counts_follow_edits_translations_deletes_and_reindex(pg_case: Case) -> None:
    with pg_case.session() as session:
        conn = session.connection()
        assert conn.execute(text("SELECT count(*) FROM search_keys")).scalar_one() > 0
        assert_in_step(conn)
    # an edit, seen inside its own transaction (after the flush) and after the commit
    with pg_case.session() as session:
        seg = (
            session.execute(select(Segment).where(Segment.text.contains("Бахмут")))
            .scalars()
            .first()
        )
        assert seg is not None
        seg.text = "Мама, мама, мама звонила маме: парашют и снова парашют."
        session.flush()
        assert_in_step(session.connection())
        hits = search(session, "парашют", ALL).hits
        assert [h.segment for h in hits] == [seg.id]
        seg_id = seg.id
    with pg_case.session() as session:
        conn = session.connection()
        assert_in_step(conn)
        rep = conn.execute(
            text("SELECT ru_rep FROM segment_search WHERE segment_id = :s"), {"s": seg_id}
        ).scalar_one()
        assert rep["мама"] == 4 and rep["парашют"] == 2
    # a translation added, edited, then deleted
    with pg_case.session() as session:
        seg = session.get(Segment, seg_id)
        assert seg is not None
        session.add(Translation(segment_id=seg_id, call_id=seg.call_id, text="Mother called."))
        session.flush()
        assert_in_step(session.connection())
    with pg_case.session() as session:
        tr = session.execute(select(Translation).where(Translation.segment_id == seg_id)).scalar()
        assert tr is not None
        tr.text = "Drone, drone and another drone over the river."
        session.flush()
        assert_in_step(session.connection())
        assert seg_id in {h.segment for h in search(session, "drone", ALL).hits}
    with pg_case.session() as session:
        tr = session.execute(select(Translation).where(Translation.segment_id == seg_id)).scalar()
        session.delete(tr)
    with pg_case.session() as session:
        assert_in_step(session.connection())
        assert seg_id not in {h.segment for h in search(session, "drone", ALL).hits}
    # a rolled-back edit leaves the counts as they were
    with pg_case.session() as session:
        before = session.execute(text("SELECT * FROM search_keys ORDER BY key")).all()
    with pytest.raises(RuntimeError), pg_case.session() as session:
        edited = session.get(Segment, seg_id)
        assert edited is not None
        edited.text = "Совсем другое слово: дирижабль."
        session.flush()
        raise RuntimeError("roll back")
    with pg_case.session() as session:
        assert session.execute(text("SELECT * FROM search_keys ORDER BY key")).all() == before
    # an ORM delete, and a bulk SQL delete (the index row goes by the foreign key's
    # cascade: the triggers still count it out)
    with pg_case.session() as session:
        doomed = session.get(Segment, seg_id)
        session.delete(doomed)
    with pg_case.session() as session:
        assert_in_step(session.connection())
        other = session.execute(select(Segment.id).order_by(Segment.id.desc())).scalars().first()
        session.execute(text("DELETE FROM segments WHERE id = :s"), {"s": other})
        reindex_segments(session, [other])
        assert_in_step(session.connection())
        assert check_index(session) == []  # the search_stats totals too
    # the bulk rebuild gives the same counts and the same answers
    expected = answers(pg_case)
    with pg_case.session() as session:
        reindex(session)
        assert_in_step(session.connection())
    assert answers(pg_case) == expected
    with pg_case.session() as session:
        assert check_index(session) == []
    # check_index notices counts that went wrong (rolled back)
    with pytest.raises(RuntimeError), pg_case.session() as session:
        conn = session.connection()
        first = conn.execute(text("SELECT min(segment_id) FROM segment_search")).scalar_one()
        conn.execute(text("UPDATE search_keys SET rows_ru = rows_ru + 1 WHERE key = 'мама'"))
        conn.execute(
            text("UPDATE segment_search SET ru_rep = '{\"мама\": 7}' WHERE segment_id = :s"),
            {"s": first},
        )
        problems = check_index(session)
        assert any("search_keys" in p and "мама" in p for p in problems)
        assert f"segment {first}: index row differs from its text" in problems
        raise RuntimeError("roll back")


def test_repeat_counts_match_the_stored_tsvector(pg_case: Case) -> None:
    body = " ".join(["штурм"] * 300 + ["мама", "мамы", "маме"])
    literal, repeats = tsvector_parts(body, "ru")
    assert repeats is not None
    with pg_case.session() as session:
        got = session.execute(
            text(
                "SELECT jsonb_object_agg(lexeme, cardinality(positions)) "
                "FROM unnest(CAST(:v AS tsvector)) WHERE cardinality(positions) > 1"
            ),
            {"v": literal},
        ).scalar_one()
    assert got == json.loads(repeats)
    assert got["штурм"] == 256  # a tsvector keeps at most 256 positions per lexeme
    assert tsvector_parts("мама", "ru")[1] is None


def test_case_before_0403_is_migrated(pg_case: Case, pg_url: str) -> None:
    expected = answers(pg_case)
    pg_case.close()
    # Put the case back to schema 0402: no key table, no repeat columns, no triggers.
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as conn:
        for name in ("insert", "update", "delete"):
            conn.execute(f"DROP TRIGGER segment_search_keys_{name} ON segment_search")
        conn.execute("DROP FUNCTION earshot_search_keys_sync()")
        conn.execute("DROP TABLE search_keys")
        conn.execute("ALTER TABLE segment_search DROP COLUMN ru_rep, DROP COLUMN en_rep")
        # migration 0404's facet columns (their index goes with them)
        conn.execute("ALTER TABLE segment_search DROP COLUMN party, DROP COLUMN started_at")
        conn.execute(
            "UPDATE alembic_version SET version_num = '0402' WHERE version_num IN ('0403', '0404')"
        )
    reopened = Case.open(pg_case.path)
    try:
        assert reopened.migration is not None
        assert current_revision(reopened.engine) == head_revision(reopened.engine)
        with reopened.session() as session:
            assert_in_step(session.connection())
            assert check_index(session) == []
        assert answers(reopened) == expected
    finally:
        reopened.close()
