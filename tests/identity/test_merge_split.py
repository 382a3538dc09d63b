"""Merging two persons then splitting them restores every original link; nothing is deleted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from earshot.identity import (
    Actor,
    IdentityError,
    apply_voice_matches,
    bring_up_to_date,
    find_party,
    find_person,
    link_party,
    merge_persons,
    propose_self_identifications,
    unmerge,
)
from earshot.store.case import Case
from earshot.store.identity_models import (
    Evidence,
    PartyPersonLink,
    PersonMerge,
    VerificationEvent,
)
from earshot.store.models import CustodyEntry, Party, Person, PersonPhone

from ..conftest import Cli
from .conftest import call_ids, truth_voice_matches

EDITOR = Actor("editor-ann", "editor")


def _state(case: Case) -> dict[str, Any]:
    """Every link a merge may touch, as comparable sets (ids of history rows left out)."""
    with case.session() as session:
        return {
            "parties": {
                (p.id, p.person_id, p.person_basis)
                for p in session.execute(select(Party)).scalars()
            },
            "links": {
                (k.party_id, k.person_id, k.basis, k.segment_id, k.status, k.score)
                for k in session.execute(
                    select(PartyPersonLink).where(PartyPersonLink.superseded_at.is_(None))
                ).scalars()
            },
            "phones": {
                (k.id, k.person_id, k.phone_id, k.source, k.period_from, k.period_to)
                for k in session.execute(select(PersonPhone)).scalars()
            },
            "evidence": {(e.id, e.person_id) for e in session.execute(select(Evidence)).scalars()},
            "verification": {
                (v.id, v.person_id, v.party_id, v.status)
                for v in session.execute(select(VerificationEvent)).scalars()
            },
            "persons": {
                (p.id, p.name, tuple(p.aliases), p.merged_into)
                for p in session.execute(select(Person)).scalars()
            },
        }


def _count(case: Case, model: type[Any]) -> int:
    with case.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture
def attributed(sample_case: Case, truth: dict[str, Any], run_cli: Cli) -> Case:
    """The sample case with proposals, voice attributions, a duplicate person, evidence
    and verification on both persons."""
    with sample_case.session() as session:
        propose_self_identifications(session)
        apply_voice_matches(session, truth_voice_matches(truth, call_ids(sample_case)))
        bring_up_to_date(session)
    path = sample_case.path
    run_cli(
        "person",
        "add",
        path,
        "Селезнёв Андрей Викторович",
        "--alias",
        "Селезень",
        "--role",
        "soldier",
        "--phone",
        "8 977 555-40-82",
        "--json",
    )
    run_cli("person", "link", path, "call06.m4a:A", "Селезнёв Андрей Викторович", "--json")
    for who in ("Селезнёв Андрей Викторович", "Селезнёв А."):
        item = json.loads(
            run_cli(
                "evidence",
                "add",
                path,
                "--person",
                who,
                "--kind",
                "interview_relative",
                "--summary",
                f"mother confirms {who}",
                "--json",
            ).stdout
        )
        run_cli(
            "verify-identity",
            path,
            who,
            "--status",
            "partly_verified",
            "--reason",
            "mother confirms",
            "--evidence",
            str(item["id"]),
            "--json",
        )
    return sample_case


def test_merge_then_split_restores_every_link(attributed: Case, run_cli: Cli) -> None:
    path = attributed.path
    before = _state(attributed)
    history_before = _count(attributed, PartyPersonLink)
    custody_before = _count(attributed, CustodyEntry)
    merged = json.loads(
        run_cli(
            "person",
            "merge",
            path,
            "Селезнёв А.",
            "Селезнёв Андрей Викторович",
            "--reason",
            "same soldier, confirmed by his mother",
            "--json",
        ).stdout
    )
    moved = merged["moved"]
    assert len(moved["party_links"]) == 1  # call06 A, linked by the editor
    assert moved["person_phones_left"]  # both had +79775554082
    assert len(moved["evidence"]) == 1 and len(moved["verification"]) == 1
    assert moved["aliases_added"] == ["Селезнёв Андрей Викторович", "Селезень"]

    shown = json.loads(run_cli("person", "show", path, str(merged["kept_id"]), "--json").stdout)
    sides = {(c["file"], c["party"]): c["basis"] for c in shown["calls"]}
    assert sides[("call06.m4a", "A")] == "editor"
    assert len(shown["evidence"]) == 2 and len(shown["status_history"]) == 2
    assert "Селезень" in shown["aliases"]
    gone = json.loads(run_cli("person", "show", path, str(merged["merged_id"]), "--json").stdout)
    assert gone["merged_into"] == merged["kept_id"] and gone["calls"] == []
    listed = json.loads(run_cli("person", "list", path, "--json").stdout)
    assert merged["merged_id"] not in {p["id"] for p in listed}

    run_cli("person", "split", path, str(merged["kept_id"]), "--json")
    assert _state(attributed) == before
    # Nothing deleted: the history holds the merge's links and the split's restorations.
    assert _count(attributed, PartyPersonLink) == history_before + 2
    assert _count(attributed, CustodyEntry) > custody_before
    with attributed.session() as session:
        record = session.get(PersonMerge, merged["merge_id"])
        assert record is not None and record.reversed_by is not None


def test_split_refused_when_a_moved_link_changed(attributed: Case) -> None:
    with attributed.session() as session:
        keep = find_person(session, "Селезнёв А.")
        other = find_person(session, "Селезнёв Андрей Викторович")
        merge_persons(session, EDITOR, keep, other)
    with attributed.session() as session:
        keep = find_person(session, "Селезнёв А.")
        galina = find_person(session, "Селезнёва Г.П.")
        link_party(session, EDITOR, find_party(session, "call06.m4a:A"), galina)
    with attributed.session() as session, pytest.raises(IdentityError, match="changed since"):
        unmerge(session, EDITOR, find_person(session, "Селезнёв А."))


def test_split_calls_moves_sides_to_a_new_person(attributed: Case, run_cli: Cli) -> None:
    path = attributed.path
    split = json.loads(
        run_cli(
            "person",
            "split",
            path,
            "Селезнёва Г.П.",
            "--calls",
            "call01.wav:B",
            "--name",
            "Соседка Нина",
            "--reason",
            "a neighbour answered",
            "--json",
        ).stdout
    )
    new = json.loads(run_cli("person", "show", path, str(split["new_id"]), "--json").stdout)
    assert [(c["file"], c["party"], c["basis"]) for c in new["calls"]] == [
        ("call01.wav", "B", "editor")
    ]
    old = json.loads(run_cli("person", "show", path, str(split["from_id"]), "--json").stdout)
    assert ("call01.wav", "B") not in {(c["file"], c["party"]) for c in old["calls"]}
    assert old["splits"][0]["new_id"] == split["new_id"]
    # The voice match no longer decides: the split side is an editor's anchor now.
    with attributed.session() as session:
        bring_up_to_date(session)
        party = find_party(session, "call01.wav:B")
        assert party.person_id == split["new_id"]
