"""The case lexicon and jargon candidates, on real SQLite and PostgreSQL cases."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import select

from earshot.language.analysis import analyze_case
from earshot.language.candidates import find_candidates
from earshot.language.case_lexicon import (
    CASE_INFO_KEY,
    CaseLexiconError,
    add_case_entry,
    list_case_entries,
    remove_case_entry,
)
from earshot.publish.export_json import build_export
from earshot.store.case import Case
from earshot.store.language_models import SegmentSlang
from earshot.store.models import Call, Original, Segment, Transcript

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "export.schema.json"

CALLS = [
    [
        "Мам, у нас опять крокожабры летали над посадкой всю ночь.",
        "Крокожабру сбили утром, а вторая ушла.",
        "ТЕРОшники стоят напротив, злые.",
    ],
    [
        "Вчера крокожабра прилетала дважды, сидели в блиндаже.",
        "С ТЕРОшниками опять перестрелка была.",
        "Серая коробка стоит у моста, серая коробка никуда не едет.",
    ],
    [
        "Серая коробка опять приехала, тишина потом.",
        "У нас двое двухсотых, мам.",
        "Все живы, кроме Вити, не переживай.",
    ],
]


def add_calls(case: Case, calls: Sequence[Sequence[str]]) -> list[int]:
    ids: list[int] = []
    with case.session() as session:
        for number, texts in enumerate(calls):
            sha = hashlib.sha256(f"case-lexicon/{number}".encode()).hexdigest()
            session.add(Original(sha256=sha, kind="audio", size=0, stored_path=sha))
            session.flush()
            call = Call(
                sha256=sha,
                source_file=f"call{number}.wav",
                source_path=f"call{number}.wav",
                duration=30.0,
                channels=1,
                sample_rate=8000,
                codec="pcm",
            )
            session.add(call)
            session.flush()
            transcript = Transcript(call_id=call.id, source="sidecar", language="ru")
            session.add(transcript)
            session.flush()
            for idx, text in enumerate(texts):
                session.add(
                    Segment(transcript_id=transcript.id, call_id=call.id, idx=idx, text=text)
                )
            ids.append(call.id)
    return ids


def case_hits(case: Case) -> list[tuple[str, str]]:
    with case.session() as session:
        rows = session.execute(
            select(SegmentSlang.text, SegmentSlang.term)
            .where(SegmentSlang.info_key == CASE_INFO_KEY)
            .order_by(SegmentSlang.id)
        )
        return [(text, term) for text, term in rows]


def test_candidates_surface_unknown_words_abbreviations_and_phrases(case: Case) -> None:
    add_calls(case, CALLS)
    with case.session() as session:
        found = {(c.kind, c.text): c for c in find_candidates(session, min_count=2)}
    word = found[("unknown_word", "крокожабра")]
    assert word.count == 3 and word.segments == 3
    assert {e.text for e in word.examples} <= {t for call in CALLS for t in call}
    assert "крокожабры" in word.as_dict()["spellings"] or "крокожабру" in word.spellings
    abbreviation = found[("abbreviation", "ТЕРО")]
    assert abbreviation.count == 2 and set(abbreviation.spellings) == {"ТЕРОшники", "ТЕРОшниками"}
    assert ("phrase", "серый коробка") in found
    # known jargon and ordinary words are not candidates
    texts = {c.text for c in found.values()}
    assert not texts & {"двухсотый", "блиндаж", "посадка", "ВСУ", "мама"}


def test_case_entry_applies_to_the_whole_case_and_survives_reanalysis(case: Case) -> None:
    add_calls(case, CALLS)
    entry = add_case_entry(
        case,
        term="krokozhabra",
        forms=["крокожабра"],
        gloss="heavy bomber drone (this unit's word)",
        category="drones_ew",
        notes="Heard in calls of one unit only.",
        actor="editor-anna",
    )
    assert entry.hits == 3 and entry.actor == "editor-anna"
    assert [t for t, _ in case_hits(case)] == ["крокожабры", "Крокожабру", "крокожабра"]
    analyze_case(case)  # replaces every call's analysis, case-lexicon hits come back
    assert len(case_hits(case)) == 3
    with case.session() as session:
        listed = list_case_entries(session)
        assert [(e.term, e.actor, e.hits) for e in listed] == [("krokozhabra", "editor-anna", 3)]
        built_in = session.execute(
            select(SegmentSlang.term).where(SegmentSlang.info_key != CASE_INFO_KEY)
        ).scalars()
        assert "200" in set(built_in)
        export = build_export(session)
    assert export["case_lexicon"][0]["term"] == "krokozhabra"
    assert export["case_lexicon"][0]["actor"] == "editor-anna"
    schema = json.loads(SCHEMA.read_text("utf-8"))
    jsonschema.validate(json.loads(json.dumps(export, default=str)), schema)
    with case.session() as session:
        found = {(c.kind, c.text) for c in find_candidates(session, min_count=2)}
    assert ("unknown_word", "крокожабра") not in found  # known to the case lexicon now
    remove_case_entry(case, "krokozhabra")
    assert case_hits(case) == []
    with pytest.raises(CaseLexiconError, match="no case-lexicon entry"):
        remove_case_entry(case, "krokozhabra")


@pytest.mark.parametrize(
    ("term", "category", "needle"),
    [
        ("200", "casualties", "built-in"),
        ("fine_id", "food", "category"),
        ("Bad Id", "casualties", "'id'"),
    ],
)
def test_bad_case_entries_are_refused(case: Case, term: str, category: str, needle: str) -> None:
    with pytest.raises(CaseLexiconError, match=needle):
        add_case_entry(case, term=term, forms=["слово"], gloss="g", category=category, actor="x")


def test_cli_candidates_add_list(case_dir: Path, run_cli: object) -> None:
    with Case.open(case_dir) as opened:
        add_calls(opened, CALLS)
    cli = run_cli
    result = cli("slang", "candidates", case_dir, "--json")  # type: ignore[operator]
    kinds = {(c["kind"], c["text"]) for c in json.loads(result.output)["candidates"]}
    assert ("abbreviation", "ТЕРО") in kinds
    result = cli(  # type: ignore[operator]
        "slang", "add", case_dir, "tero", "--form", "ТЕРО", "--gloss",
        "territorial defence (Ukrainian)", "--category", "units", "--operator", "ed", "--json",
    )  # fmt: skip
    assert json.loads(result.output)["hits"] == 2
    listed = json.loads(cli("slang", "list", case_dir, "--json").output)  # type: ignore[operator]
    assert listed["entries"][0]["actor"] == "ed"
    result = cli("slang", "add", case_dir, "x", "--form", "слово", "--gloss", "g",  # type: ignore[operator]
                 "--category", "casualties", "--notes", "", code=None)  # fmt: skip
    assert result.exit_code == 0
    cli("slang", "remove", case_dir, "x")  # type: ignore[operator]
