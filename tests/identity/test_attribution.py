"""The acceptance check: one person on two numbers, two persons on one number.

Call records name only some sides; confirmed voice links carry each attribution to
the person's other calls. `person show --json` must then attribute every side of
every call as the ground truth says, with the basis of each attribution.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from earshot.identity import apply_voice_matches, bring_up_to_date
from earshot.phones import normalize_phone
from earshot.store.case import Case
from earshot.store.models import Call, Party

from ..conftest import Cli
from .conftest import call_ids, truth_voice_matches


def _anchor_ids(case: Case, truth: dict[str, Any]) -> dict[str, int]:
    """truth person id -> case person id, from the sides the call records name."""
    ids = call_ids(case)
    found: dict[str, int] = {}
    with case.session() as session:
        for call in truth["calls"]:
            for label, side in call["parties"].items():
                party = session.execute(
                    select(Party).where(Party.call_id == ids[call["file"]], Party.label == label)
                ).scalar_one()
                if party.person_basis == "call_record":
                    assert party.person_id is not None
                    assert found.setdefault(side["person_id"], party.person_id) == party.person_id
    return found


def _show(run_cli: Cli, case: Case, person_id: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        run_cli("person", "show", case.path, str(person_id), "--json").stdout
    )
    return data


def test_every_call_side_attributed_with_its_basis(
    sample_case: Case, truth: dict[str, Any], run_cli: Cli
) -> None:
    ids = call_ids(sample_case)
    persons = _anchor_ids(sample_case, truth)
    assert set(persons) == {c["person_id"] for c in truth["cast"]}
    with sample_case.session() as session:
        outcome = apply_voice_matches(session, truth_voice_matches(truth, ids))
        assert not outcome.conflicts and outcome.applied > 0
        bring_up_to_date(session)
    by_file = {c["file"]: c for c in truth["calls"]}
    seen: set[tuple[str, str]] = set()
    for truth_id, person_id in persons.items():
        shown = _show(run_cli, sample_case, person_id)
        for side in shown["calls"]:
            call = by_file[side["file"]]
            assert call["parties"][side["party"]]["person_id"] == truth_id, side
            record_named = side["attribution"]["note"] == "from the call records"
            assert side["basis"] == ("call_record" if record_named else "voice_match")
            assert side["attribution"]["basis"] == side["basis"]
            other = "B" if side["party"] == "A" else "A"
            assert side["other"]["party"] == other
            assert side["other"]["person_id"] == persons[call["parties"][other]["person_id"]]
            assert side["phone"] == call["caller" if side["party"] == "A" else "callee"]
            assert side["started_at"][:10] == call["started_at"][:10]
            seen.add((side["file"], side["party"]))
        truth_phones = {
            call["caller" if label == "A" else "callee"]
            for call in truth["calls"]
            for label, p in call["parties"].items()
            if p["person_id"] == truth_id
        }
        assert {p["e164"] for p in shown["phones"]} == truth_phones
    assert seen == {(c["file"], label) for c in truth["calls"] for label in ("A", "B")}

    # One person, two numbers: Андрей on +79155553147 until December, then +79775554082.
    andrey = _show(run_cli, sample_case, persons["andrey_seleznev"])
    periods = {p["e164"]: (p["from"][:10], p["to"][:10]) for p in andrey["phones"]}
    assert periods["+79155553147"] == ("2022-10-08", "2022-11-05")
    assert periods["+79775554082"][0] == "2022-12-17"
    # Two persons, one number: the Kostroma landline is answered by mother and wife.
    landline = normalize_phone("8 (4942) 55-51-23")
    shown = json.loads(run_cli("phone", "show", sample_case.path, landline, "--json").stdout)
    assert {u["person_id"] for u in shown["persons"]} == {
        persons["galina_selezneva"],
        persons["olga_selezneva"],
    }
    assert shown["type"] == "fixed_line"


def test_voice_conflict_left_for_an_editor(sample_case: Case, truth: dict[str, Any]) -> None:
    ids = call_ids(sample_case)
    from earshot.identity import VoiceMatch

    # call01 A (Андрей, by record) "matches" call02 B (Марина, by record): a conflict.
    wrong = [VoiceMatch(ids["call01.wav"], "A", ids["call02.flac"], "B", 0.6, "confirmed")]
    with sample_case.session() as session:
        before = {
            (p.call_id, p.label): p.person_id for p in session.execute(select(Party)).scalars()
        }
        outcome = apply_voice_matches(session, wrong)
        after = {
            (p.call_id, p.label): p.person_id for p in session.execute(select(Party)).scalars()
        }
    assert len(outcome.conflicts) == 1 and "editor must decide" in outcome.conflicts[0]
    assert before == after


def test_proposed_voice_match_is_only_a_proposal(
    sample_case: Case, truth: dict[str, Any], run_cli: Cli
) -> None:
    ids = call_ids(sample_case)
    from earshot.identity import VoiceMatch

    match = VoiceMatch(ids["call06.m4a"], "B", ids["call01.wav"], "B", 0.81, "proposed")
    with sample_case.session() as session:
        first = apply_voice_matches(session, [match])
        again = apply_voice_matches(session, [match])
        party = session.execute(
            select(Party).where(Party.call_id == ids["call01.wav"], Party.label == "B")
        ).scalar_one()
        assert party.person_id is None
    assert first.proposed == 1 and again.proposed == 0
    listed = json.loads(run_cli("person", "proposals", sample_case.path, "--json").stdout)
    (proposal,) = [p for p in listed["open"] if p["basis"] == "voice_match"]
    assert proposal["call_id"] == ids["call01.wav"] and proposal["score"] == 0.81
    decided = json.loads(
        run_cli(
            "person", "proposals", sample_case.path, "--accept", str(proposal["id"]), "--json"
        ).stdout
    )
    assert decided["decided"][0]["status"] == "accepted"
    with sample_case.session() as session:
        party = session.execute(
            select(Party).where(Party.call_id == ids["call01.wav"], Party.label == "B")
        ).scalar_one()
        assert party.person_id == proposal["person_id"] and party.person_basis == "voice_match"
        call = session.get(Call, ids["call01.wav"])
        assert call is not None


def test_editor_link_through_the_cli(sample_case: Case, run_cli: Cli, tmp_path: Path) -> None:
    added = json.loads(
        run_cli(
            "person",
            "add",
            sample_case.path,
            "Селезнёва Ольга Сергеевна",
            "--role",
            "relative",
            "--alias",
            "Оля",
            "--json",
        ).stdout
    )
    linked = json.loads(
        run_cli(
            "person",
            "link",
            sample_case.path,
            "call08.gsm:B",
            str(added["id"]),
            "--note",
            "wife answers at her mother-in-law's",
            "--json",
        ).stdout
    )
    assert linked["basis"] == "editor"
    shown = _show(run_cli, sample_case, added["id"])
    (side,) = shown["calls"]
    assert side["file"] == "call08.gsm" and side["basis"] == "editor"
    assert side["attribution"]["note"] == "wife answers at her mother-in-law's"
    assert side["other"]["phone"] == "+79775554082"
