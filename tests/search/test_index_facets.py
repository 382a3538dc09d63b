"""phone:, person:, theme:, term: and place: are answered by the index alone (facets of
each document, earshot.search.facets), with the answers the database gives, after every
kind of change: before the commit (the pending overlay) and after it (the index), on
both backends, and after a rebuild."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from earshot.identity import Actor, PersonDetails, add_person, link_party
from earshot.identity.merge import merge_persons, unmerge
from earshot.language.case_lexicon import add_case_entry, remove_case_entry
from earshot.language.overrides import set_entity_person, set_theme
from earshot.phones import normalize_phone
from earshot.search import SearchError, SearchOptions, check_index, facets, indexer, reindex, search
from earshot.search import index as search_index
from earshot.search.plan import _name_variants
from earshot.store.case import Case
from earshot.store.language_models import CallTheme, SegmentEntity, SegmentSlang, SegmentTheme
from earshot.store.models import Party, Phone, Segment

ALL = SearchOptions(limit=10_000)
EDITOR = Actor("editor-ann", "editor")


def _found(session: Session, query: str) -> set[int]:
    return {h.segment for h in search(session, query, ALL).hits}


def _rows(session: Session, sql: str, **params: Any) -> set[int]:
    return {int(r[0]) for r in session.execute(text(sql), params)}


def _truth(session: Session, name: str, value: str) -> set[int]:
    """What a filter found when it was answered by the database (the reference)."""
    calls = "SELECT id FROM segments WHERE call_id IN ({})"
    if name == "phone":
        return _rows(
            session,
            calls.format(
                "SELECT pa.call_id FROM parties pa JOIN phones ph ON ph.id = pa.phone_id "
                "WHERE ph.e164 = :v"
            ),
            v=normalize_phone(value, "RU"),
        )
    if name == "term":
        return _rows(session, "SELECT segment_id FROM segment_slang WHERE term = :v", v=value)
    if name == "theme":
        return _rows(
            session, "SELECT segment_id FROM segment_themes WHERE theme = :v", v=value
        ) | _rows(
            session, calls.format("SELECT call_id FROM call_themes WHERE theme = :v"), v=value
        )
    if name == "place":
        forms = _name_variants(value)
        marks = ", ".join(f":f{i}" for i in range(len(forms)))
        return _rows(
            session,
            "SELECT segment_id FROM segment_entities WHERE kind = 'LOC' "
            f"AND (normal IN ({marks}) OR place_name IN ({marks}))",
            **{f"f{i}": f for i, f in enumerate(forms)},
        )
    assert name == "person"
    return _rows(
        session, calls.format("SELECT call_id FROM parties WHERE person_id = :v"), v=int(value)
    ) | _rows(session, "SELECT segment_id FROM segment_entities WHERE person_id = :v", v=int(value))


def _agree(session: Session, queries: list[tuple[str, str]]) -> dict[str, set[int]]:
    """Every query's hits equal the database's answer; returns the hits."""
    out: dict[str, set[int]] = {}
    for name, value in queries:
        query = f'{name}:"{value}"'
        out[query] = _found(session, query)
        assert out[query] == _truth(session, name, value), query
    return out


def _segments(session: Session, n: int) -> list[Segment]:
    """`n` segments of different calls (verbatim, first of their call)."""
    out: list[Segment] = []
    for seg in session.scalars(select(Segment).order_by(Segment.call_id, Segment.id)):
        if all(s.call_id != seg.call_id for s in out):
            out.append(seg)
        if len(out) == n:
            break
    assert len(out) == n
    return out


def _tag(session: Session, seg: Segment, *, term: str, theme: str, place: str) -> None:
    common = {"segment_id": seg.id, "call_id": seg.call_id, "info_key": "test"}
    session.add(
        SegmentSlang(start=0, end=1, text="x", term=term, gloss="g", category="c", **common)
    )
    session.add(SegmentTheme(theme=theme, cues=[], **common))
    session.add(
        SegmentEntity(
            kind="LOC", start=0, end=1, text=place, normal=place, place_name=None, **common
        )
    )


QUERIES = [
    ("term", "груз200"),
    ("theme", "refusal"),
    ("theme", "hunger"),
    ("place", "Ивановка"),
    ("place", "Бахмут"),
]


def test_tags_are_facets_before_and_after_commit(sample_case: Case) -> None:
    with sample_case.session() as session:
        first, second, third = _segments(session, 3)
        ids = (first.id, second.id, third.id)
        _tag(session, first, term="груз200", theme="refusal", place="Ивановка")
        _tag(session, second, term="груз200", theme="hunger", place="Бахмут")
        session.add(CallTheme(call_id=third.call_id, theme="refusal", info_key="test"))
        session.flush()
        before = _agree(session, QUERIES)
        assert before['term:"груз200"'] == {first.id, second.id}
        assert {first.id, third.id} <= before['theme:"refusal"']
        third_call = _rows(session, "SELECT id FROM segments WHERE call_id = :c", c=third.call_id)
        assert third_call <= before['theme:"refusal"']  # every segment of a themed call
    with sample_case.session() as session:
        after = _agree(session, QUERIES)
        assert after == before
        assert check_index(session) == []
    # untag one by one (ORM deletes), again before and after the commit
    with sample_case.session() as session:
        for row in session.scalars(select(SegmentSlang).where(SegmentSlang.segment_id == ids[0])):
            session.delete(row)
        theme = session.get(CallTheme, (third.call_id, "refusal"))
        session.delete(theme)
        session.flush()
        during = _agree(session, QUERIES)
        assert during['term:"груз200"'] == {ids[1]}
        assert third_call.isdisjoint(during['theme:"refusal"'])
    with sample_case.session() as session:
        assert _agree(session, QUERIES) == during
        assert check_index(session) == []
    # a rebuild from the database gives the same answers
    with sample_case.session() as session:
        reindex(session)
    with sample_case.session() as session:
        assert _agree(session, QUERIES) == during


def test_deleting_a_tag_not_loaded_is_followed(sample_case: Case) -> None:
    """A row deleted while expired (its segment not loaded) still names its segment."""
    with sample_case.session() as session:
        seg = _segments(session, 1)[0]
        _tag(session, seg, term="груз200", theme="refusal", place="Ивановка")
        seg_id = seg.id
    with sample_case.session() as session:
        assert _found(session, "term:груз200") == {seg_id}
        row = session.scalars(select(SegmentSlang).where(SegmentSlang.segment_id == seg_id)).one()
        session.expire(row)
        session.delete(row)
        session.flush()
        assert _found(session, "term:груз200") == set()
    with sample_case.session() as session:
        assert _found(session, "term:груз200") == set()
        assert check_index(session) == []


def test_bulk_writers_of_the_tagging_tables_are_followed(sample_case: Case) -> None:
    """The language layer writes its tables with bulk statements (insert(...) with rows,
    delete(...).where, update(...)): they bypass the unit of work, and still reach the
    outbox in their transaction."""
    with sample_case.session() as session:
        first, second = _segments(session, 2)
        at = {"call_id": first.call_id, "info_key": "bulk", "segment_id": first.id}
        session.execute(
            insert(SegmentSlang),
            [{**at, "start": 0, "end": 1, "text": "x", "term": "груз200", "gloss": "g",
              "category": "c", "slur": False}],
        )  # fmt: skip
        session.execute(insert(SegmentTheme), [{**at, "theme": "hunger", "cues": []}])
        session.execute(
            insert(SegmentEntity),
            [{**at, "kind": "LOC", "start": 3, "end": 9, "text": "Бахмуте", "normal": "Бахмут",
              "place_name": "Бахмут", "places": []}],
        )  # fmt: skip
        session.execute(
            insert(CallTheme), [{"call_id": second.call_id, "theme": "hunger", "info_key": "b"}]
        )
        hits = _agree(session, QUERIES)
        assert first.id in hits['term:"груз200"'] and first.id in hits['place:"Бахмут"']
        assert second.id in hits['theme:"hunger"']
        ids = (first.id, second.id)
    with sample_case.session() as session:
        assert _agree(session, QUERIES) == hits
        assert check_index(session) == []
    # an editor's call-theme decision (ORM add, bulk delete) and entity link (bulk update)
    with sample_case.session() as session:
        person = add_person(session, EDITOR, PersonDetails(name="Пётр Бахмутов"))
        entity = session.scalars(
            select(SegmentEntity).where(SegmentEntity.segment_id == ids[0])
        ).one()
        set_entity_person(session, entity, person_id=person.id, actor="ann")
        set_theme(session, call_id=second.call_id, theme="hunger", present=False, actor="ann")
        set_theme(session, call_id=first.call_id, theme="refusal", present=True, actor="ann")
        person_id = person.id
        queries = [*QUERIES, ("person", str(person_id))]
        during = _agree(session, queries)
        assert during[f'person:"{person_id}"'] == {ids[0]}
        assert ids[1] not in during['theme:"hunger"']
        assert ids[0] in during['theme:"refusal"']
    with sample_case.session() as session:
        assert _agree(session, queries) == during
        assert check_index(session) == []
    # bulk deletes
    with sample_case.session() as session:
        for table in (SegmentSlang, SegmentTheme, SegmentEntity):
            session.execute(delete(table).where(table.info_key == "bulk"))
        gone = _agree(session, queries)
        assert ids[0] not in gone['term:"груз200"'] | gone[f'person:"{person_id}"']
    with sample_case.session() as session:
        assert _agree(session, queries) == gone
        assert check_index(session) == []


def test_case_lexicon_hits_are_facets(sample_case: Case) -> None:
    add_case_entry(
        sample_case,
        term="mama_case",
        forms=["мама"],
        gloss="mum",
        category="personnel",
        actor="ann",
    )
    with sample_case.session() as session:
        hits = _agree(session, [("term", "mama_case")])['term:"mama_case"']
        assert hits and hits <= _found(session, "мама")
        assert check_index(session) == []
    remove_case_entry(sample_case, "mama_case")
    with sample_case.session() as session:
        assert _found(session, "term:mama_case") == set()
        assert check_index(session) == []


def _party_with_phone(session: Session) -> Party:
    party = session.scalars(
        select(Party).where(Party.phone_id.is_not(None)).order_by(Party.id)
    ).first()
    assert party is not None
    return party


def test_party_links_phone_changes_and_merges_are_followed(sample_case: Case) -> None:
    with sample_case.session() as session:
        party = _party_with_phone(session)
        call_id, party_id = party.call_id, party.id
        other = session.scalars(
            select(Party).where(Party.call_id != call_id).order_by(Party.id)
        ).first()
        assert other is not None
        keep = add_person(session, EDITOR, PersonDetails(name="Оставленный Человек"))
        merged = add_person(session, EDITOR, PersonDetails(name="Слитый Человек"))
        keep_id, merged_id = keep.id, merged.id
        link_party(session, EDITOR, party, keep)
        link_party(session, EDITOR, other, merged)
        call_segments = _rows(session, "SELECT id FROM segments WHERE call_id = :c", c=call_id)
        other_segments = _rows(
            session, "SELECT id FROM segments WHERE call_id = :c", c=other.call_id
        )
        queries = [("person", str(keep_id)), ("person", str(merged_id))]
        hits = _agree(session, queries)
        assert hits[f'person:"{keep_id}"'] == call_segments
        assert hits[f'person:"{merged_id}"'] == other_segments
        assert _found(session, 'person:"Оставленный"') == call_segments
    with sample_case.session() as session:
        assert _agree(session, queries) == hits
        assert check_index(session) == []
    # merge: the merged person's call sides move to the kept person
    with sample_case.session() as session:
        keep_p, merged_p = session.get(type(keep), keep_id), session.get(type(merged), merged_id)
        assert keep_p is not None and merged_p is not None
        merge_persons(session, EDITOR, keep_p, merged_p)
        merged_hits = _agree(session, queries)
        assert merged_hits[f'person:"{keep_id}"'] == call_segments | other_segments
        assert merged_hits[f'person:"{merged_id}"'] == set()
    with sample_case.session() as session:
        assert _agree(session, queries) == merged_hits
        assert check_index(session) == []
    # the party's phone changes (another number), then that number is corrected
    with sample_case.session() as session:
        party_row = session.get(Party, party_id)
        assert party_row is not None and party_row.phone is not None
        old = party_row.phone.e164
        new = Phone(e164="+74955550199")
        session.add(new)
        session.flush()
        party_row.phone_id = new.id
        session.flush()
        phones = [("phone", old), ("phone", "+74955550199")]
        moved = _agree(session, phones)
        assert call_segments <= moved['phone:"+74955550199"']
        assert call_segments.isdisjoint(moved[f'phone:"{old}"'])
    with sample_case.session() as session:
        assert _agree(session, phones) == moved
        fixed = session.scalars(select(Phone).where(Phone.e164 == "+74955550199")).one()
        fixed.e164 = "+74955550177"
        session.flush()
        phones.append(("phone", "+74955550177"))
        corrected = _agree(session, phones)
        assert corrected['phone:"+74955550177"'] == call_segments
        assert corrected['phone:"+74955550199"'] == set()
    with sample_case.session() as session:
        assert _agree(session, phones) == corrected
        assert check_index(session) == []
    # and unlinked: the rolled-back change leaves the index as it was
    with pytest.raises(RuntimeError), sample_case.session() as session:
        party_row = session.get(Party, party_id)
        assert party_row is not None
        party_row.person_id = None
        session.flush()
        assert _found(session, f"person:{keep_id}") == other_segments
        raise RuntimeError("roll back")
    with sample_case.session() as session:
        assert _found(session, f"person:{keep_id}") == call_segments | other_segments


def test_a_kept_persons_filter_takes_in_the_mentions_of_persons_merged_into_it(
    sample_case: Case,
) -> None:
    """A merge moves call sides, not mentions: a segment whose entity names the merged
    person is found by the kept person's filter (at any depth of merging), until the
    merge is undone."""
    with sample_case.session() as session:
        party = _party_with_phone(session)
        first, second = _segments(session, 2)
        keep = add_person(session, EDITOR, PersonDetails(name="Оставленный Человек"))
        middle = add_person(session, EDITOR, PersonDetails(name="Средний Человек"))
        merged = add_person(session, EDITOR, PersonDetails(name="Слитый Человек"))
        link_party(session, EDITOR, party, keep)
        mentions = []
        for seg in (first, second):
            session.execute(
                insert(SegmentEntity),
                [{"call_id": seg.call_id, "info_key": "m", "segment_id": seg.id, "kind": "PER",
                  "start": 0, "end": 5, "text": "Слитый", "normal": "Слитый", "places": []}],
            )  # fmt: skip
            mentions.append(
                session.scalars(
                    select(SegmentEntity).where(SegmentEntity.segment_id == seg.id)
                ).one()
            )
        set_entity_person(session, mentions[0], person_id=merged.id, actor="ann")
        set_entity_person(session, mentions[1], person_id=middle.id, actor="ann")
        call_segments = _rows(
            session, "SELECT id FROM segments WHERE call_id = :c", c=party.call_id
        )
        ids = (keep.id, middle.id, merged.id)
    with sample_case.session() as session:
        assert _found(session, f"person:{ids[0]}") == call_segments
        assert _found(session, f"person:{ids[2]}") == {first.id}
        kept, middle_p, merged_p = (session.get(type(keep), i) for i in ids)
        assert kept is not None and middle_p is not None and merged_p is not None
        merge_persons(session, EDITOR, middle_p, merged_p)
        merge_persons(session, EDITOR, kept, middle_p)
        found = _found(session, f"person:{ids[0]}")
        assert found == call_segments | {first.id, second.id}
        assert _found(session, 'person:"Оставленный"') == found
        # The merged persons keep what still points at them.
        assert _found(session, f"person:{ids[1]}") == {first.id, second.id}
        assert _found(session, f"person:{ids[2]}") == {first.id}
    with sample_case.session() as session:
        assert _found(session, f"person:{ids[0]}") == call_segments | {first.id, second.id}
        assert check_index(session) == []
        kept = session.get(type(keep), ids[0])
        assert kept is not None
        unmerge(session, EDITOR, kept)
        assert _found(session, f"person:{ids[0]}") == call_segments
    with sample_case.session() as session:
        assert _found(session, f"person:{ids[0]}") == call_segments


def test_check_index_sees_facets_changed_behind_its_back(sample_case: Case) -> None:
    """SQL that bypasses the session (and so the outbox) leaves the index stale: the
    digest covers the facets, so check_index says which documents; a rebuild mends it."""
    with sample_case.session() as session:
        seg = _segments(session, 1)[0]
        n = len(_rows(session, "SELECT id FROM segments WHERE call_id = :c", c=seg.call_id))
        session.connection().execute(
            text("INSERT INTO call_themes (call_id, theme, info_key) VALUES (:c, 'x', 'raw')"),
            {"c": seg.call_id},
        )
    with sample_case.session() as session:
        problems = check_index(session, limit=1000)
        assert len(problems) == n and all("differs" in p for p in problems)
        assert _found(session, "theme:x") == set()  # the index has not heard of it
        reindex(session)
    with sample_case.session() as session:
        assert check_index(session) == []
        assert _agree(session, [("theme", "x")])['theme:"x"']


def test_rebuild_reads_facets_a_batch_at_a_time(
    sample_case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebuild reads the facets with a few statements per batch of segments, never
    one per segment, by id range or (calls far apart) by id list; same answers."""
    with sample_case.session() as session:
        segs = _segments(session, 4)
        for i, seg in enumerate(segs):
            _tag(session, seg, term="груз200", theme="refusal", place="Ивановка" if i else "Бахмут")
        total = int(session.execute(text("SELECT count(*) FROM segments")).scalar_one())
    monkeypatch.setattr(indexer, "_BATCH", 25)
    statements: list[str] = []

    def counted(conn: Any, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        statements.append(sql)
        return search_index.fetch(conn, sql, params)

    monkeypatch.setattr(facets, "fetch", counted)
    for slack, how in ((4, "pa.call_id BETWEEN"), (0, "pa.call_id IN")):
        # slack 0: every batch reads its calls by list
        monkeypatch.setattr(facets, "_RANGE_SLACK", slack)
        monkeypatch.setattr(facets, "_RANGE_FLOOR", slack)
        statements.clear()
        with sample_case.session() as session:
            reindex(session)
        batches = -(-total // 25)
        assert len(statements) == 5 * batches < total  # parties, call and segment tables
        assert sum(how in s for s in statements) == batches
        with sample_case.session() as session:
            assert check_index(session) == []
            _agree(session, [*QUERIES, ("phone", "+79155553147")])


def test_a_case_without_tagging_tables(sample_case: Case) -> None:
    """Before the language layer ran (its tables missing): the index builds, and the
    tagging filters say what they need."""
    with sample_case.session() as session:
        for table in ("segment_slang", "segment_themes", "segment_entities", "call_themes"):
            session.execute(text(f"DROP TABLE {table}"))
        search_index._TABLES.pop(session.get_bind(), None)  # type: ignore[arg-type]
    with sample_case.session() as session:
        reindex(session)

    def check(query: str, needs: str) -> None:
        with sample_case.session() as session, pytest.raises(SearchError, match=needs):
            search(session, query)

    check("term:200", "needs slang tagging")
    check("theme:refusal", "needs theme tagging")
    check("place:Бахмут", "needs entity tagging")
    with sample_case.session() as session:
        assert check_index(session) == []
        assert _found(session, "phone:+79155553147") == _truth(session, "phone", "+79155553147")
        assert _found(session, "phone:+79155553147")
