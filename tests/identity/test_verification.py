"""Verification status history, evidence files in custody, and who may change what."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from earshot.identity import (
    Actor,
    EvidenceSubject,
    PersonDetails,
    add_evidence,
    add_person,
    decide_proposal,
    edit_person,
    link_party,
    merge_persons,
    set_verification,
)
from earshot.identity.persons import PersonEdit
from earshot.security.errors import PermissionDeniedError
from earshot.store.case import Case
from earshot.store.models import CustodyEntry, Original, Party

from ..conftest import Cli


def _person(run_cli: Cli, case: Path, name: str) -> int:
    data = json.loads(run_cli("person", "add", case, name, "--role", "soldier", "--json").stdout)
    return int(data["id"])


def test_status_history_cites_evidence(case_dir: Path, run_cli: Cli, tmp_path: Path) -> None:
    pid = _person(run_cli, case_dir, "Шапкин Денис Алексеевич")
    refused = run_cli(
        "verify-identity",
        case_dir,
        str(pid),
        "--status",
        "verified",
        "--reason",
        "sure",
        code=2,
    )
    assert "must cite evidence" in refused.stderr
    missing = run_cli(
        "verify-identity",
        case_dir,
        str(pid),
        "--status",
        "verified",
        "--reason",
        "x",
        "--evidence",
        "99",
        code=2,
    )
    assert "#99" in missing.stderr
    profile = json.loads(
        run_cli(
            "evidence",
            "add",
            case_dir,
            "--person",
            str(pid),
            "--kind",
            "osint_profile",
            "--summary",
            "VK profile shows him in uniform, unit patch",
            "--url",
            "https://vk.example/id000",
            "--collected-at",
            "2023-03-01",
            "--json",
        ).stdout
    )
    father = json.loads(
        run_cli(
            "evidence",
            "add",
            case_dir,
            "--person",
            str(pid),
            "--kind",
            "interview_relative",
            "--summary",
            "father confirms the voice is his son's",
            "--collected-by",
            "reporter-b",
            "--json",
        ).stdout
    )
    run_cli(
        "verify-identity",
        case_dir,
        str(pid),
        "--status",
        "partly verified",
        "--reason",
        "profile matches",
        "--evidence",
        str(profile["id"]),
        "--operator",
        "ed-1",
        "--json",
        code=2,
    )  # click's choice is strict: the CLI takes the token only
    for status, ids, who in (
        ("partly_verified", [profile["id"]], "ed-1"),
        ("verified", [profile["id"], father["id"]], "ed-2"),
        ("disputed", [father["id"]], "ed-1"),
    ):
        run_cli(
            "verify-identity",
            case_dir,
            str(pid),
            "--status",
            status,
            "--reason",
            f"{status} after review",
            *[a for i in ids for a in ("--evidence", str(i))],
            "--operator",
            who,
            "--json",
        )
    shown = json.loads(run_cli("person", "show", case_dir, str(pid), "--json").stdout)
    assert shown["status"] == "disputed"
    history = shown["status_history"]
    assert [e["status"] for e in history] == ["partly_verified", "verified", "disputed"]
    assert [e["actor"] for e in history] == ["ed-1", "ed-2", "ed-1"]
    assert history[1]["evidence_ids"] == sorted([profile["id"], father["id"]])
    assert {e["id"] for e in shown["evidence"]} == {profile["id"], father["id"]}
    listed = json.loads(
        run_cli("evidence", "list", case_dir, "--person", str(pid), "--json").stdout
    )
    assert [e["collected_by"] for e in listed] == ["tester", "reporter-b"]


def test_evidence_file_is_stored_and_verified(case_dir: Path, run_cli: Cli, tmp_path: Path) -> None:
    pid = _person(run_cli, case_dir, "Кравцов Роман Игоревич")
    scan = tmp_path / "military-id.jpg"
    scan.write_bytes(os.urandom(4096))
    item = json.loads(
        run_cli(
            "evidence",
            "add",
            case_dir,
            "--person",
            str(pid),
            "--kind",
            "document",
            "--summary",
            "scan of his military ID",
            "--file",
            scan,
            "--json",
        ).stdout
    )
    with Case.open(case_dir) as case, case.session() as session:
        original = session.get(Original, item["sha256"])
        assert original is not None and original.kind == "evidence"
        stored = case.media.original_path(item["sha256"])
        assert stored.read_bytes() == scan.read_bytes()
        entry = session.execute(
            select(CustodyEntry).where(CustodyEntry.action == "evidence-added")
        ).scalar_one()
        assert entry.sha256 == item["sha256"] and entry.detail["evidence_id"] == item["id"]
    report = json.loads(run_cli("verify", case_dir, "--json").stdout)
    assert report["ok"] and report["checked"] == 1
    stored.chmod(0o644)
    stored.write_bytes(b"altered")
    broken = json.loads(run_cli("verify", case_dir, "--json", code=1).stdout)
    assert [p["sha256"] for p in broken["problems"]] == [item["sha256"]]


def test_only_editors_decide(case: Case) -> None:
    reporter = Actor("rep", "translator")
    viewer = Actor("guest", "viewer")
    editor = Actor("ed", "editor")
    with case.session() as session:
        with pytest.raises(PermissionDeniedError, match="viewer"):
            add_person(session, viewer, PersonDetails("Иванов Иван"))
        one = add_person(session, reporter, PersonDetails("Иванов Иван"))
        two = add_person(session, reporter, PersonDetails("Иван Иванов"))
        edit_person(session, reporter, one, PersonEdit(add_aliases=("Ваня",)))
        item = add_evidence(
            session, reporter, EvidenceSubject(person_id=one.id), kind="other", summary="note"
        )
        with pytest.raises(PermissionDeniedError, match=r"rep \(role 'translator'\) may not set"):
            set_verification(
                session,
                reporter,
                person_id=one.id,
                status="verified",
                reason="x",
                evidence_ids=[item.id],
            )
        with pytest.raises(PermissionDeniedError):
            merge_persons(session, reporter, one, two)
        with pytest.raises(PermissionDeniedError):
            decide_proposal(session, reporter, 1, accept=True)
        event = set_verification(
            session,
            editor,
            person_id=one.id,
            status="verified",
            reason="x",
            evidence_ids=[item.id],
        )
        assert event.actor_role == "editor"
        assert session.execute(select(Party)).first() is None
        with pytest.raises(PermissionDeniedError):
            link_party(session, reporter, Party(call_id=0, label="A", role="caller"), one)
