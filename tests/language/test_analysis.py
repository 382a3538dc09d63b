"""The language stage on the fictional sample corpus, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from earshot.language.analysis import (
    AnalysisOptions,
    LanguageStage,
    analyze_case,
    current_transcript,
)
from earshot.phones import normalize_phone
from earshot.stages import Stage, get_stage
from earshot.store.case import Case
from earshot.store.language_models import CallTheme, SegmentEntity, SegmentSlang, SegmentTheme
from earshot.store.models import Person, Segment, Transcript

from .conftest import ANDREY, TRUTH, Analysed, ingest_sample


@pytest.fixture
def analysed(case: Case, tmp_path: Path) -> Analysed:
    """A fresh analysed case, analysed by worker processes, for tests that change it."""
    ids = ingest_sample(case, tmp_path)
    analyze_case(case, options=AnalysisOptions(workers=2, pool_min_segments=0))
    return case, ids


def _turn_segments(case: Case, call_id: int) -> list[Segment]:
    with case.session() as session:
        transcript = current_transcript(session, call_id)
        assert transcript is not None
        segments = list(transcript.segments)
        session.expunge_all()
        return segments


def test_entities_spans_phones_units_places_persons(analysed_sample: Analysed) -> None:
    case, ids = analysed_sample
    with case.session() as session:
        rows = list(session.execute(select(SegmentEntity)).scalars())
        texts = {i: t for i, t in session.execute(select(Segment.id, Segment.text))}
        andrey = session.execute(
            select(Person.id).where(Person.name == ANDREY["full_name"])
        ).scalar_one()
    assert rows
    for row in rows:  # every span points at its text
        assert texts[row.segment_id][row.start : row.end] == row.text
    by_call: dict[int, list[SegmentEntity]] = {}
    for row in rows:
        by_call.setdefault(row.call_id, []).append(row)
    names_planted, names_missed = 0, []
    for call in TRUTH["calls"]:
        if call["file"] not in ("call08.gsm", "call11.mp3"):  # these have no transcript
            found = by_call.get(ids[call["file"]], [])
            for planted in call["planted"]:
                if planted["kind"] == "phone":
                    expected = normalize_phone(planted["text"], "RU")
                    assert any(e.kind == "PHONE" and e.value == expected for e in found)
                elif planted["kind"] == "unit":
                    number = planted["text"].split()[-1]
                    assert any(e.kind == "UNIT" and e.value == number for e in found)
                elif planted["kind"] == "place":
                    assert any(e.kind == "LOC" and e.text == planted["text"] for e in found), (
                        planted
                    )
                elif planted["kind"] in ("diminutive", "name", "public_figure"):
                    names_planted += 1
                    if not any(e.kind == "PER" and planted["text"] in e.text for e in found):
                        names_missed.append(planted["text"])
    assert 1 - len(names_missed) / names_planted >= 0.9, names_missed
    bakhmut = next(e for e in rows if e.text == "Бахмутом")
    assert (bakhmut.place_country, bakhmut.in_war_zone) == ("UA", True)
    assert (
        bakhmut.places[0]["population"] >= bakhmut.places[-1]["population"]
        or len(bakhmut.places) == 1
    )
    # "Андрюша" (call01, his mother) is Андрей's diminutive; the Person exists in the case.
    andryusha = [e for e in by_call[ids["call01.wav"]] if e.text == "Андрюша"]
    assert andryusha and andryusha[0].person_id == andrey
    # Recorded initials confirm the surname: "Шапкин Денис Алексеевич" -> "Шапкин Д.А.".
    full = next(e for e in by_call[ids["call10.flac"]] if e.text.startswith("Шапкин"))
    with case.session() as session:
        person = session.get(Person, full.person_id)
        assert person is not None and person.name == "Шапкин Д.А."
    putin = next(e for e in rows if e.text == "Путин")
    assert putin.person_id is None and putin.value and "Путин" in putin.value


def test_slang_recall_and_themes(analysed_sample: Analysed) -> None:
    case, ids = analysed_sample
    with case.session() as session:
        hits = list(session.execute(select(SegmentSlang)).scalars())
        call_themes = set(session.execute(select(CallTheme.call_id, CallTheme.theme)).all())
        segment_themes = session.execute(select(func.count()).select_from(SegmentTheme)).scalar()
    planted = marked = 0
    for call in TRUTH["calls"]:
        if call["file"] in ("call08.gsm", "call11.mp3"):
            continue
        segments = _turn_segments(case, ids[call["file"]])
        for term in (p for p in call["planted"] if p["kind"] == "slang"):
            for turn in term["turns"]:
                text = call["turns"][turn]["text"]
                segment = next(s for s in segments if s.text == text)
                at = segment.text.find(term["text"])
                planted += 1
                marked += any(
                    h.segment_id == segment.id and h.start < at + len(term["text"]) and at < h.end
                    for h in hits
                )
    assert planted >= 30 and marked / planted >= 0.8, (marked, planted)
    assert segment_themes
    # Precision first: calls tagged "wants_out" are mostly ones where the soldier wants out.
    wants = {ids[c["file"]] for c in TRUTH["calls"] if c["wants_out"]}
    tagged = {call_id for call_id, theme in call_themes if theme == "wants_out"}
    assert tagged and len(tagged & wants) / len(tagged) >= 0.75, (tagged, wants)
    themed_calls = {call_id for call_id, _ in call_themes}
    assert len(themed_calls) >= 8


def _snapshot(case: Case) -> dict[str, list[tuple[Any, ...]]]:
    """Every analysis row without its id, sorted: what two runs must agree on."""
    columns = {
        SegmentEntity: ("segment_id", "kind", "start", "end", "normal", "value", "person_id",
                        "person_score", "places", "in_war_zone"),
        SegmentSlang: ("segment_id", "start", "end", "term", "gloss"),
        SegmentTheme: ("segment_id", "theme", "cues"),
        CallTheme: ("call_id", "theme"),
    }  # fmt: skip
    with case.session() as session:
        return {
            table.__tablename__: sorted(
                (json.dumps([getattr(row, c) for c in names], ensure_ascii=False),)
                for row in session.execute(select(table)).scalars()
            )
            for table, names in columns.items()
        }


def test_rerun_replaces_and_human_transcript_wins(analysed: Analysed) -> None:
    case, ids = analysed
    pooled = _snapshot(case)
    assert pooled["segment_entities"] and pooled["call_themes"]
    analyze_case(case, options=AnalysisOptions(workers=1))  # in-process: the same rows
    assert _snapshot(case) == pooled

    def counts() -> tuple[int, int, int]:
        with case.session() as session:
            return tuple(  # type: ignore[return-value]
                session.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (SegmentEntity, SegmentSlang, CallTheme)
            )

    before = counts()
    analyze_case(case, call_ids=[ids["call01.wav"], ids["call03.wav"]])
    assert counts() == before
    stage = get_stage("language")
    assert isinstance(stage, Stage) and isinstance(stage, LanguageStage)
    call = ids["call04.mp3"]
    with case.session() as session:
        old_inputs = stage.inputs(session, call)
        human = Transcript(call_id=call, source="human", kind="verbatim", language="ru")
        session.add(human)
        session.flush()
        session.add(
            Segment(
                transcript_id=human.id,
                call_id=call,
                idx=0,
                start=0.0,
                end=2.0,
                text="Позвони Шапкину по номеру 8 916 555-77-01, в/ч 40512.",
            )
        )
    with case.session() as session:
        assert current_transcript(session, call) is not None
        assert current_transcript(session, call).source == "human"  # type: ignore[union-attr]
        assert stage.inputs(session, call) != old_inputs
    outcome = stage.run(case, call)
    assert outcome.status == "done" and outcome.detail["segments"] == 1
    with case.session() as session:
        kinds = {
            (e.kind, e.value)
            for e in session.execute(
                select(SegmentEntity).where(SegmentEntity.call_id == call)
            ).scalars()
        }
    assert ("PHONE", "+79165557701") in kinds and ("UNIT", "40512") in kinds
    assert stage.info().key == stage.info().key and stage.wants_gpu is False


def test_analyze_cli_json(analysed_sample: Analysed, run_cli: Any) -> None:
    case, ids = analysed_sample  # re-analyses one call: the same rows again
    result = run_cli("analyze", case.path, "--calls", str(ids["call06.m4a"]), "--json")
    data = json.loads(result.stdout)
    assert data["calls"] == 1 and data["entities"]["PHONE"] == 1
    assert data["workers"] == 1  # a small run stays in-process
    bad = run_cli("analyze", case.path, "--calls", "999", "--json", code=2)
    assert "999" in bad.stderr
