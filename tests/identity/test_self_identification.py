"""Self-identification proposals, the "identity" pipeline stage, and protected terms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from earshot.identity import (
    SelfIdentificationStage,
    identity_terms,
    propose_self_identifications,
)
from earshot.ingest.runner import IngestOptions, ingest
from earshot.stages import Stage
from earshot.store.case import Case
from earshot.store.identity_models import PartyPersonLink
from earshot.store.models import Segment

from ..conftest import Cli, write_audio
from .conftest import call_ids

VTT_FIRST = """WEBVTT

00:00:00.000 --> 00:00:01.000
<v A>Алло, мам, это я.

00:00:01.000 --> 00:00:02.000
<v B>Андрюша! Где ты?
"""
VTT_SECOND = """WEBVTT

00:00:00.000 --> 00:00:01.000
<v A>Мам, это Андрей. Я с другого номера.

00:00:01.000 --> 00:00:02.000
<v B>Это я, короче, слушай.
"""
RECORDS = (
    "file,started_at,caller,callee,caller_name,callee_name\n"
    "first.wav,2022-10-08T19:42:10+03:00,8 915 555-31-47,8 4942 55-51-23,"
    "Селезнёв Андрей Викторович,\n"
    "second.wav,2022-12-17T18:02:55+03:00,8 977 555-40-82,8 4942 55-51-23,,\n"
)


def _synthetic(case: Case, tmp_path: Path) -> dict[str, int]:
    inbox = tmp_path / "in"
    write_audio(inbox / "first.wav", seed=1)
    write_audio(inbox / "second.wav", seed=2)
    (inbox / "first.vtt").write_text(VTT_FIRST, encoding="utf-8")
    (inbox / "second.vtt").write_text(VTT_SECOND, encoding="utf-8")
    records = tmp_path / "calls.csv"
    records.write_text(RECORDS, encoding="utf-8")
    report = ingest(case, [inbox], IngestOptions(metadata=records, workers=1))
    assert report.records.failed == 0
    return call_ids(case)


def test_speaker_naming_himself_proposes_the_right_person(
    case: Case, tmp_path: Path, run_cli: Cli
) -> None:
    ids = _synthetic(case, tmp_path)
    run_cli("person", "add", case.path, "Петров Андрей", "--json")  # another Андрей
    run_cli(
        "person",
        "edit",
        case.path,
        "Селезнёв Андрей Викторович",
        "--phone",
        "+79775554082",
        "--phone-note",
        "his mother gave the new number",
        "--json",
    )
    stage = SelfIdentificationStage()
    assert isinstance(stage, Stage) and stage.name == "identity"
    assert stage.after == ("transcript",)
    outcome = stage.run(case, ids["second.wav"])
    assert outcome.detail["proposed"] == 1
    assert stage.run(case, ids["second.wav"]).detail["proposed"] == 0  # idempotent
    listed = json.loads(run_cli("person", "proposals", case.path, "--json").stdout)
    (proposal,) = listed["open"]
    assert proposal["call_id"] == ids["second.wav"] and proposal["party"] == "A"
    assert proposal["person"] == "Селезнёв Андрей Викторович"
    assert proposal["basis"] == "self_identification"
    with case.session() as session:
        segment = session.get(Segment, proposal["segment_id"])
        assert segment is not None and "это Андрей" in segment.text
    # The first call's "это я" names nobody; its caller is attributed by the records.
    with case.session() as session:
        assert propose_self_identifications(session, [ids["first.wav"]]) == []
    run_cli("person", "proposals", case.path, "--accept", str(proposal["id"]), "--json")
    shown = json.loads(
        run_cli("person", "show", case.path, str(proposal["person_id"]), "--json").stdout
    )
    side = next(c for c in shown["calls"] if c["call_id"] == ids["second.wav"])
    assert side["basis"] == "self_identification"
    assert "это Андрей" in side["attribution"]["segment"]["text"]


def test_stage_inputs_change_with_the_persons(case: Case, tmp_path: Path, run_cli: Cli) -> None:
    ids = _synthetic(case, tmp_path)
    stage = SelfIdentificationStage()
    with case.session() as session:
        before = stage.inputs(session, ids["second.wav"])
        assert stage.inputs(session, ids["second.wav"]) == before
    run_cli("person", "edit", case.path, "Селезнёв Андрей Викторович", "--alias", "Селезень")
    with case.session() as session:
        assert stage.inputs(session, ids["second.wav"]) != before
    assert stage.info().key == SelfIdentificationStage().info().key


def test_sample_corpus_self_identifications(sample_case: Case, run_cli: Cli) -> None:
    ids = call_ids(sample_case)
    with sample_case.session() as session:
        first = propose_self_identifications(session)
        again = propose_self_identifications(session)
        rows = list(session.execute(select(PartyPersonLink)).scalars())
    assert all(p.created for p in first) and not any(p.created for p in again)
    sides = {(p.call_id, p.party) for p in first}
    # call02: "Маринка, привет! Это Рома." — the caller is unnamed in the records and
    # "Кравцов Р." (named in call09's record) fits by initial.
    assert (ids["call02.flac"], "A") in sides
    roman = next(p for p in first if p.call_id == ids["call02.flac"])
    shown = json.loads(
        run_cli("person", "show", sample_case.path, str(roman.person_id), "--json").stdout
    )
    assert shown["name"] == "Кравцов Р."
    # call09's "Маринка, это Рома" is already Кравцов Р. by the records: nothing to decide.
    assert (ids["call09.wav"], "A") not in sides
    assert len([r for r in rows if r.basis == "self_identification"]) == len(first)


def test_identity_terms_cover_every_alias_and_phone(
    case: Case, tmp_path: Path, run_cli: Cli
) -> None:
    _synthetic(case, tmp_path)
    run_cli(
        "person",
        "edit",
        case.path,
        "Селезнёв Андрей Викторович",
        "--alias",
        "Селезень",
        "--alias",
        "Crazy Professor",
        "--phone",
        "+7 977 555-40-82",
    )
    run_cli("person", "add", case.path, "Шойгу Сергей", "--public", "--json")
    with case.session() as session:
        terms = identity_terms(session)
    by_name: dict[str, Any] = {t.names[0]: t for t in terms}
    assert "Шойгу Сергей" not in by_name
    andrey = by_name["Селезнёв Андрей Викторович"]
    assert set(andrey.aliases) == {"Селезень", "Crazy Professor"}
    assert set(andrey.phones) == {"79155553147", "79775554082"}
