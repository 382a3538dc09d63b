"""Editors' theme tags and entity links survive a machine re-analysis."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.language.analysis import analyze_case
from earshot.language.overrides import set_entity_person, set_theme
from earshot.store.case import Case
from earshot.store.language_models import CallTheme, SegmentEntity
from earshot.store.models import Call, Person

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "earshot" / "data" / "sample"


def test_editor_decisions_survive_reanalysis(case: Case) -> None:
    ingest(
        case,
        [SAMPLE / "calls" / "call12.wav", SAMPLE / "calls" / "call12.vtt"],
        IngestOptions(workers=1),
    )
    analyze_case(case)
    with case.session() as session:
        call_id = session.execute(select(Call.id)).scalar_one()
        machine = set(
            session.execute(select(CallTheme.theme).where(CallTheme.call_id == call_id)).scalars()
        )
        assert machine, "the sample call should carry machine themes"
        removed = sorted(machine)[0]
        set_theme(session, call_id=call_id, theme=removed, present=False, actor="ed")
        set_theme(session, call_id=call_id, theme="family", present=True, actor="ed")
        person = Person(name="Тестовый Человек", name_key="тестовый человек")
        session.add(person)
        session.flush()
        entity = session.execute(select(SegmentEntity).limit(1)).scalar_one()
        span = (entity.segment_id, entity.start, entity.end)
        set_entity_person(session, entity, person_id=person.id, actor="ed")
        person_id = person.id

    # A re-analysis replaces every machine row; the decisions must be laid back over it.
    analyze_case(case, call_ids=[call_id])
    with case.session() as session:
        themes = set(
            session.execute(select(CallTheme.theme).where(CallTheme.call_id == call_id)).scalars()
        )
        linked = session.execute(
            select(SegmentEntity.person_id).where(
                SegmentEntity.segment_id == span[0],
                SegmentEntity.start == span[1],
                SegmentEntity.end == span[2],
            )
        ).scalar_one()
    assert removed not in themes
    assert "family" in themes
    assert linked == person_id
