"""Parity: every edit made through the HTTP API equals the same edit through the CLI or
the library: the same rows, the same custody entries, the same audit entries; and a
refusal in one is a refusal in the other, with the library's message.

Two copies of one small case are made for each edit; the API changes one (logged in as
the editor "editor"), the CLI (``--operator editor``) or the library (an editor actor
of that name) the other; then both are dumped and compared, leaving out only what a
clock decides (timestamps and the hashes chained over them).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text

from earshot import edits
from earshot.identity import EvidenceSubject, add_evidence
from earshot.identity.errors import IdentityNotFoundError
from earshot.security.accounts import AccountStore
from earshot.security.errors import PermissionDeniedError
from earshot.security.roles import Actor, Role
from earshot.store.case import Case
from earshot.store.language_models import SegmentEntity, Translation
from earshot.store.models import Party, Person
from earshot.store.speech_models import VoiceLink
from earshot.web.app import create_app

from ..conftest import Cli
from .conftest import FAST, PASSWORD

EDITOR = "editor"
# Derived data that either path rebuilds identically but is not the edit's own record.
SKIP_TABLES = {"alembic_version", "segment_search", "search_stats", "search_signatures"}
VOLATILE = {"at", "prev_hash", "hash", "entry_hash", "row_hash", "entry_mac"}  # mac: of entry_hash


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sample calls with their call records, analysis, reference drafts, one evidence
    item, and a proposed voice match between an attributed side and an unattributed one."""
    from earshot.ingest.runner import IngestOptions, ingest
    from earshot.language.analysis import analyze_case
    from earshot.language.translation.workflow import draft_from_reference

    root = tmp_path_factory.mktemp("parity")
    inbox = root / "inbox"
    inbox.mkdir()
    with as_file(files("earshot") / "data" / "sample") as sample:
        for name in ("call01.wav", "call01.vtt", "call03.wav", "call03.srt"):
            shutil.copy(sample / "calls" / name, inbox / name)
        for name in ("call01.en.vtt", "call03.en.vtt"):
            shutil.copy(sample / "translations" / name, inbox / name)
        rows = (sample / "calls.csv").read_text(encoding="utf-8").splitlines()
    metadata = root / "calls.csv"
    metadata.write_text(
        "\n".join(r for r in rows if r.startswith(("file,", "call01", "call03"))) + "\n",
        encoding="utf-8",
    )
    path = root / "case"
    with Case.init(path) as case:
        ingest(case, [inbox], IngestOptions(metadata=metadata, workers=1))
        analyze_case(case)
        with case.session() as session:
            draft_from_reference(session, actor="translator-t")
            person = session.execute(select(Person).order_by(Person.id)).scalars().first()
            assert person is not None
            add_evidence(
                session,
                Actor("researcher", Role.EDITOR),
                EvidenceSubject(person_id=person.id),
                kind="other",
                summary="the caller's mother confirmed his voice",
            )
            sides = session.execute(select(Party).order_by(Party.call_id, Party.label)).scalars()
            known = next(p for p in sides if p.person_id is not None)
            unknown = (
                session.execute(
                    select(Party).where(Party.call_id != known.call_id, Party.person_id.is_(None))
                )
                .scalars()
                .first()
            )
            assert unknown is not None, "call03's caller has no name in the call records"
            session.add(
                VoiceLink(
                    call_a=known.call_id,
                    party_a=known.label,
                    call_b=unknown.call_id,
                    party_b=unknown.label,
                    score=0.97,
                    status="proposed",
                )
            )
    return path


@dataclass
class Twins:
    api: Path
    cli: Path
    client: TestClient
    csrf: str
    case: Case

    def url(self, tail: str) -> str:
        return f"/api/cases/{self.case.case_id}/{tail}"

    def send(self, method: str, tail: str, body: dict[str, Any]) -> Any:
        return self.client.request(
            method, self.url(tail), json=body, headers={"X-CSRF-Token": self.csrf}
        )


@pytest.fixture
def twins(template: Path, tmp_path: Path) -> Iterator[Twins]:
    api, cli = tmp_path / "api", tmp_path / "cli"
    shutil.copytree(template, api)
    shutil.copytree(template, cli)
    accounts = AccountStore(tmp_path / "accounts.db", policy=FAST)
    case = Case.open(api)
    accounts.add_user(EDITOR, PASSWORD)
    accounts.grant(EDITOR, case.case_id, Role.EDITOR)
    accounts.add_user("viewer", PASSWORD)
    accounts.grant("viewer", case.case_id, Role.VIEWER)
    client = TestClient(create_app([case], accounts), base_url="http://testserver")
    form = client.get("/login")
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/login",
        data={"username": EDITOR, "password": PASSWORD, "login_token": token, "next": "/"},
    )
    page = client.get(f"/cases/{case.case_id}")
    csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    yield Twins(api, cli, client, csrf, case)
    case.close()


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in VOLATILE and k != "decided_at"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return "<time>"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return "<time>"
    return value


def snapshot(path: Path) -> dict[str, Any]:
    """Every table of the case (but the search index), custody and audit logs included,
    with timestamps and the hashes chained over them left out."""
    with Case.open(path) as case, case.session() as session:
        connection = session.connection()
        out: dict[str, Any] = {}
        for table in sorted(inspect(connection).get_table_names()):
            if table in SKIP_TABLES or table.startswith(("segment_fts", "fts")):
                continue
            result = connection.execute(text(f'SELECT * FROM "{table}" ORDER BY 1'))
            rows = []
            for row in result.mappings():
                data = {}
                for key, value in row.items():
                    if key in VOLATILE or key.endswith("_at") or key.endswith("hash"):
                        continue
                    if isinstance(value, str) and value[:1] in "{[":
                        with contextlib.suppress(ValueError):
                            value = json.loads(value)
                    data[key] = _clean(value)
                rows.append(data)
            out[table] = rows
        return out


def assert_same(api: Path, cli: Path) -> dict[str, Any]:
    left, right = snapshot(api), snapshot(cli)
    assert left.keys() == right.keys()
    for table in left:
        assert left[table] == right[table], table
    return left


def _actions(shot: dict[str, Any], table: str) -> list[str]:
    return [row["action"] for row in shot[table]]


def _library(path: Path, call: Callable[[Any, Actor], Any]) -> Any:
    with Case.open(path) as case, case.session() as session:
        return call(session, Actor(EDITOR, Role.EDITOR))


def _evidence_and_person(path: Path) -> tuple[int, int]:
    with Case.open(path) as case, case.session() as session:
        row = session.execute(text("SELECT id, person_id FROM evidence ORDER BY id")).first()
        assert row is not None
        return int(row[0]), int(row[1])


def test_verification_parity_and_refusal(twins: Twins, run_cli: Cli) -> None:
    evidence_id, person_id = _evidence_and_person(twins.cli)
    before = snapshot(twins.cli)
    # Without evidence: refused by both, with the library's message, nothing written.
    refused = twins.send(
        "POST",
        f"persons/{person_id}/verification",
        {"status": "verified", "reason": "his mother knows his voice"},
    )
    cli_refused = run_cli(
        "verify-identity", twins.cli, str(person_id), "--status", "verified",
        "--reason", "his mother knows his voice", "--operator", EDITOR, code=2,
    )  # fmt: skip
    assert refused.status_code == 422
    message = refused.json()["detail"]
    assert "must cite evidence" in message and message in " ".join(cli_refused.stderr.split())
    assert snapshot(twins.cli) == before
    assert snapshot(twins.api)["audit_log"] == before["audit_log"]
    # With evidence: the same rows, custody and audit.
    done = twins.send(
        "POST",
        f"persons/{person_id}/verification",
        {
            "status": "verified",
            "reason": "his mother knows his voice",
            "evidence_ids": [evidence_id],
        },
    )
    assert done.status_code == 200, done.text
    assert done.json()["evidence_ids"] == [evidence_id] and done.json()["status"] == "verified"
    run_cli(
        "verify-identity", twins.cli, str(person_id), "--status", "verified",
        "--reason", "his mother knows his voice", "--evidence", str(evidence_id),
        "--operator", EDITOR, "--json",
    )  # fmt: skip
    shot = assert_same(twins.api, twins.cli)
    assert "identity-verified" in _actions(shot, "custody_log")
    assert [(a["user"], a["action"], a["object_type"]) for a in shot["audit_log"]] == [
        (EDITOR, "verify", "person")
    ]


def test_voice_link_confirm_parity(twins: Twins, run_cli: Cli) -> None:
    with Case.open(twins.cli) as case, case.session() as session:
        link = session.execute(select(VoiceLink)).scalar_one()
        link_id, a, b = link.id, f"{link.call_a}:{link.party_a}", f"{link.call_b}:{link.party_b}"
        unknown = (link.call_b, link.party_b)
    done = twins.send("POST", f"voice-links/{link_id}", {"decision": "confirm", "note": ""})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "confirmed"
    run_cli("voices", twins.cli, "--confirm", a, b, "--operator", EDITOR, "--json")
    shot = assert_same(twins.api, twins.cli)
    assert {"voice-link-confirmed", "party-linked"} <= set(_actions(shot, "custody_log"))
    # The side that had no attribution is now the person's, on basis voice_match, and the
    # person report (the page and the API) says so.
    with Case.open(twins.api) as case, case.session() as session:
        party = session.execute(
            select(Party).where(Party.call_id == unknown[0], Party.label == unknown[1])
        ).scalar_one()
        assert party.person_basis == "voice_match" and party.person_id is not None
        person_id = party.person_id
    report = twins.client.get(twins.url(f"persons/{person_id}")).json()
    side = next(c for c in report["calls"] if (c["call_id"], c["party"]) == unknown)
    assert side["basis"] == "voice_match"
    assert side["attribution"]["basis"] == "voice_match"
    assert side["attribution"]["decided_by"] == EDITOR


def test_theme_and_entity_link_parity(twins: Twins) -> None:
    with Case.open(twins.cli) as case, case.session() as session:
        entity = (
            session.execute(
                select(SegmentEntity).where(SegmentEntity.kind == "PER").order_by(SegmentEntity.id)
            )
            .scalars()
            .first()
        )
        assert entity is not None
        person_id = session.execute(select(Person.id).order_by(Person.id)).scalars().first()
        call_id, entity_id = entity.call_id, entity.id
    assert twins.send(
        "POST", f"calls/{call_id}/themes", {"theme": "money", "present": True}
    ).is_success
    linked = twins.send(
        "PUT", f"calls/{call_id}/entities/{entity_id}/person", {"person_id": person_id}
    )
    assert linked.status_code == 200, linked.text
    _library(
        twins.cli,
        lambda s, a: edits.set_call_theme(s, a, call_id=call_id, theme="money", present=True),
    )
    _library(
        twins.cli,
        lambda s, a: edits.link_entity(
            s, a, call_id=call_id, entity_id=entity_id, person_id=person_id
        ),
    )
    shot = assert_same(twins.api, twins.cli)
    assert [a["action"] for a in shot["audit_log"]] == ["tag", "link"]
    # A refusal: a call that is not the entity's, in both.
    wrong = twins.send(
        "PUT", f"calls/{call_id + 99}/entities/{entity_id}/person", {"person_id": None}
    )
    with pytest.raises(IdentityNotFoundError) as exc:
        _library(
            twins.cli,
            lambda s, a: edits.link_entity(
                s, a, call_id=call_id + 99, entity_id=entity_id, person_id=None
            ),
        )
    assert wrong.status_code == 404 and wrong.json()["detail"] == str(exc.value)


def test_translation_parity_and_four_eyes_refusal(twins: Twins, run_cli: Cli) -> None:
    with Case.open(twins.cli) as case, case.session() as session:
        row = session.execute(select(Translation).order_by(Translation.id)).scalars().first()
        assert row is not None
        segment_id, call_id, version = row.segment_id, row.call_id, row.version
    new = "Mum, it's me. We are at the range, all fine."
    saved = twins.send(
        "PUT",
        f"calls/{call_id}/segments/{segment_id}/translation",
        {"text": new, "status": "edited", "version": version},
    )
    assert saved.status_code == 200, saved.text
    run_cli(
        "translation", "edit", twins.cli, str(segment_id), "--text", new,
        "--expected-version", str(version), "--operator", EDITOR,
    )  # fmt: skip
    shot = assert_same(twins.api, twins.cli)
    assert shot["audit_log"][-1]["action"] == "edit"
    # The editor translated it, so the editor may not review it (four eyes): both refuse.
    version = saved.json()["version"]
    refused = twins.send(
        "PUT",
        f"calls/{call_id}/segments/{segment_id}/translation",
        {"text": new, "status": "reviewed", "version": version},
    )
    cli_refused = run_cli(
        "translation", "review", twins.cli, str(segment_id),
        "--expected-version", str(version), "--operator", EDITOR, code=2,
    )  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["detail"] in " ".join(cli_refused.stderr.split())
    assert_same(twins.api, twins.cli)


def test_pseudonym_parity_and_permission_refusal(twins: Twins, run_cli: Cli) -> None:
    with Case.open(twins.cli) as case, case.session() as session:
        person_id = session.execute(select(Person.id).order_by(Person.id)).scalars().first()
    done = twins.send("PUT", f"persons/{person_id}/pseudonym", {"pseudonym": "Soldier K"})
    assert done.status_code == 200, done.text
    assert done.json()["pseudonym"] == "Soldier K"
    run_cli("pseudonym", "set", twins.cli, str(person_id), "Soldier K", "--operator", EDITOR)
    shot = assert_same(twins.api, twins.cli)
    assert [a["action"] for a in shot["audit_log"]] == ["pseudonym"]
    # A viewer is refused by the library itself, whichever front end asks.
    with (
        pytest.raises(PermissionDeniedError) as exc,
        Case.open(twins.cli) as case,
        case.session() as session,
    ):
        edits.set_pseudonym(
            session, Actor("viewer", Role.VIEWER), person_id=person_id, pseudonym="X"
        )
    assert "viewer may not publish redacted" in str(exc.value)


def test_quote_parity_and_refusal(twins: Twins, run_cli: Cli) -> None:
    """A quote of a translated span: the same quote row, custody and audit either way; a
    quote that adds words is refused by both, with the library's message."""
    with Case.open(twins.cli) as case, case.session() as session:
        row = session.execute(select(Translation).order_by(Translation.id)).scalars().first()
        assert row is not None
        call_id = row.call_id
    body = {"call_id": call_id, "first": 0, "last": 0, "allow_unapproved": True}
    preview = twins.send("POST", "quotes/check", body)
    assert preview.status_code == 200, preview.text
    verbatim = preview.json()["verbatim"]
    done = twins.send("POST", "quotes", {**body, "text": verbatim})
    assert done.status_code == 200, done.text
    run_cli(
        "quotes", "add", twins.cli, "--call", str(call_id), "--segments", "0", "--text", verbatim,
        "--allow-unapproved", "--operator", EDITOR,
    )  # fmt: skip
    shot = assert_same(twins.api, twins.cli)
    assert [a["action"] for a in shot["audit_log"]] == ["quote"]
    added = verbatim + " Glory to the heroes."
    refused = twins.send("POST", "quotes", {**body, "text": added})
    cli_refused = run_cli(
        "quotes", "add", twins.cli, "--call", str(call_id), "--segments", "0", "--text", added,
        "--allow-unapproved", "--operator", EDITOR, code=2,
    )  # fmt: skip
    assert refused.status_code == 422 and refused.json()["reason"] == "rewrite"
    assert refused.json()["detail"] in " ".join(cli_refused.stderr.split())
    assert_same(twins.api, twins.cli)
