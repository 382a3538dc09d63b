"""Identity by hand, through the API and through the CLI: linking and unlinking call
sides, merging and splitting persons, adding evidence (a streamed file or a web address).
Each edit leaves the same rows, custody and audit either way (two copies of one case,
compared table by table); a refusal is the library's, in both, with browser words in the
API's ``message``; a role without the permission gets 403 from the browser's API too.
"""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from earshot import workbench
from earshot.security.roles import Actor, Role
from earshot.store.case import Case
from earshot.store.models import Party, Person

from ..conftest import Cli
from .test_parity import EDITOR, Twins, _actions, assert_same, snapshot, template, twins

__all__ = ["template", "twins"]  # the fixtures, shared with test_parity


def _sides(path: Path) -> tuple[Party, Party, int]:
    """An attributed call side, an unattributed one of another call, and the first
    side's person."""
    with Case.open(path) as case, case.session() as session:
        parties = list(session.scalars(select(Party).order_by(Party.call_id, Party.label)))
        named = next(p for p in parties if p.person_id is not None)
        free = next(p for p in parties if p.person_id is None and p.call_id != named.call_id)
        session.expunge_all()
        return named, free, int(named.person_id or 0)


def _audit(shot: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(a["user"], a["action"], a["object_type"]) for a in shot["audit_log"]]


def test_link_and_unlink_side_parity(twins: Twins, run_cli: Cli) -> None:
    _named, free, person = _sides(twins.cli)
    side = f"{free.call_id}:{free.label}"
    done = twins.send(
        "POST", f"calls/{free.call_id}/sides/{free.label}/person", {"person_id": person}
    )
    assert done.status_code == 200, done.text
    assert done.json()["person_id"] == person and done.json()["basis"] == "editor"
    run_cli("person", "link", twins.cli, side, str(person), "--operator", EDITOR, "--json")
    shot = assert_same(twins.api, twins.cli)
    assert "party-linked" in _actions(shot, "custody_log")
    assert _audit(shot) == [(EDITOR, "link", "party")]
    # A stale page (it showed someone else) cannot unlink: refused, nothing written.
    before = snapshot(twins.api)
    stale = twins.send(
        "POST", f"calls/{free.call_id}/sides/{free.label}/unlink", {"person_id": person + 1000}
    )
    assert stale.status_code == 422 and "reload and decide again" in stale.json()["detail"]
    assert snapshot(twins.api) == before
    gone = twins.send(
        "POST", f"calls/{free.call_id}/sides/{free.label}/unlink", {"person_id": person}
    )
    assert gone.status_code == 200, gone.text
    assert gone.json()["person_id"] is None and gone.json()["previous_person_id"] == person
    run_cli("person", "unlink", twins.cli, side, "--operator", EDITOR, "--json")
    shot = assert_same(twins.api, twins.cli)
    assert "party-unlinked" in _actions(shot, "custody_log")
    assert _audit(shot)[-1] == (EDITOR, "unlink", "party")
    # The side's history keeps the withdrawn link: who, basis, and who withdrew it.
    history = twins.client.get(twins.url(f"calls/{free.call_id}/sides/{free.label}/history")).json()
    mine = [h for h in history if h["kind"] == "attribution" and h["person_id"] == person]
    assert mine and mine[-1]["superseded_at"] and f"unlinked by {EDITOR}" in mine[-1]["note"]


def test_link_side_to_a_new_person(twins: Twins) -> None:
    _named, free, _person = _sides(twins.api)
    done = twins.send(
        "POST",
        f"calls/{free.call_id}/sides/{free.label}/person",
        {"new_name": "Дядя Витя", "new_role": "relative", "note": "named in call 1"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["new_person"] is True
    with Case.open(twins.api) as case, case.session() as session:
        made = session.get(Person, done.json()["person_id"])
        assert made is not None and made.name == "Дядя Витя" and made.role == "relative"
    both = twins.send(
        "POST", f"calls/{free.call_id}/sides/{free.label}/person", {"person_id": 1, "new_name": "X"}
    )
    assert both.status_code == 422 and "one of them" in both.json()["message"]


def test_merge_split_and_undo_parity(twins: Twins, run_cli: Cli) -> None:
    named, free, person = _sides(twins.cli)
    # A second person, on the free side, made the same way in both copies.
    for path in (twins.api, twins.cli):
        with Case.open(path) as case, case.session() as session:
            workbench.link_side(
                session, Actor(EDITOR, Role.EDITOR), call_id=free.call_id, party=free.label,
                new_name="Серый", new_role="soldier",
            )  # fmt: skip
    with Case.open(twins.cli) as case, case.session() as session:
        other = session.scalars(select(Person.id).where(Person.name == "Серый")).one()
    merged = twins.send(
        "POST", f"persons/{person}/merge", {"other_id": other, "reason": "one voice"}
    )
    assert merged.status_code == 200, merged.text
    run_cli(
        "person", "merge", twins.cli, str(person), str(other), "--reason", "one voice",
        "--operator", EDITOR,
    )  # fmt: skip
    shot = assert_same(twins.api, twins.cli)
    assert "persons-merged" in _actions(shot, "custody_log")
    assert _audit(shot)[-1] == (EDITOR, "merge", "person")
    # Split the formerly free side off again, to a new person.
    side = f"{free.call_id}:{free.label}"
    split = twins.send(
        "POST",
        f"persons/{person}/split",
        {"sides": [{"call_id": free.call_id, "party": free.label}], "name": "Серый 2"},
    )
    assert split.status_code == 200, split.text
    assert split.json()["sides"] == [[free.call_id, free.label]]
    run_cli(
        "person", "split", twins.cli, str(person), "--calls", side, "--name", "Серый 2",
        "--operator", EDITOR,
    )  # fmt: skip
    shot = assert_same(twins.api, twins.cli)
    assert "person-split" in _actions(shot, "custody_log")
    assert _audit(shot)[-1] == (EDITOR, "split", "person")
    # Splitting nothing: refused in browser words (no command-line flags).
    empty = twins.send("POST", f"persons/{person}/split", {"sides": [], "name": "Nobody"})
    assert empty.status_code == 422
    assert "--" not in empty.json()["message"] and "`" not in empty.json()["message"]
    # The merge cannot be undone exactly now (a moved side changed): the refusal says what
    # to do in the browser's words.
    undo = twins.send("POST", f"persons/{person}/unmerge", {})
    assert undo.status_code == 422, undo.text
    assert "changed since" in undo.json()["detail"]
    assert "--calls" in undo.json()["detail"] and "--" not in undo.json()["message"]
    assert named.person_id == person


def test_undo_merge_parity(twins: Twins, run_cli: Cli) -> None:
    _named, free, person = _sides(twins.cli)
    for path in (twins.api, twins.cli):
        with Case.open(path) as case, case.session() as session:
            actor = Actor(EDITOR, Role.EDITOR)
            workbench.link_side(
                session, actor, call_id=free.call_id, party=free.label, new_name="Лёха"
            )
            other = session.scalars(select(Person.id).where(Person.name == "Лёха")).one()
            workbench.merge(session, actor, keep_id=person, other_id=other)
    undo = twins.send("POST", f"persons/{person}/unmerge", {})
    assert undo.status_code == 200 and undo.json()["undone"] is True, undo.text
    run_cli("person", "split", twins.cli, str(person), "--operator", EDITOR)
    shot = assert_same(twins.api, twins.cli)
    assert "person-unmerged" in _actions(shot, "custody_log")
    assert _audit(shot)[-1] == (EDITOR, "unmerge", "person")


def _upload(twins: Twins, person: int, body: bytes, **query: str) -> Any:
    return twins.client.post(
        twins.url(f"persons/{person}/evidence"),
        params=query,
        content=body,
        headers={"X-CSRF-Token": twins.csrf, "Content-Type": "application/octet-stream"},
    )


def test_evidence_upload_parity_and_limit(twins: Twins, run_cli: Cli, tmp_path: Path) -> None:
    _named, _free, person = _sides(twins.cli)
    scan = tmp_path / "letter-scan.png"
    scan.write_bytes(b"\x89PNG fictional scan of a letter " * 2000)
    done = _upload(
        twins, person, scan.read_bytes(), kind="document", summary="a letter home, signed",
        name="letter-scan.png",
    )  # fmt: skip
    assert done.status_code == 200, done.text
    item = done.json()
    assert item["file_name"] == "letter-scan.png" and len(item["sha256"]) == 64
    run_cli(
        "evidence", "add", twins.cli, "--person", str(person), "--kind", "document",
        "--summary", "a letter home, signed", "--file", scan, "--operator", EDITOR,
    )  # fmt: skip
    shot = assert_same(twins.api, twins.cli)
    assert "evidence-added" in _actions(shot, "custody_log")
    assert _audit(shot)[-1] == (EDITOR, "evidence", "evidence")
    stored = Case.open(twins.api)
    try:
        path = stored.media.original_path(item["sha256"])
        assert path.read_bytes() == scan.read_bytes()  # unencrypted sample case
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0  # the owner's only
        assert not list(stored.media.tmp.glob("upload-*"))  # the staging copy is gone
    finally:
        stored.close()
    # A web address is stored, never fetched (the test server has no network anyway).
    url = _upload(
        twins, person, b"", kind="osint_profile", summary="profile in uniform",
        url="https://social.example/id000",
    )  # fmt: skip
    assert url.status_code == 200 and url.json()["url"] == "https://social.example/id000"
    bad = _upload(twins, person, b"", kind="osint_profile", summary="x", url="javascript:1")
    assert bad.status_code == 422
    # Over the case's limit: 413 before anything is written, and no staging file left.
    before = snapshot(twins.api)
    twins.case.settings = dataclasses.replace(twins.case.settings, max_file_bytes=1000)
    big = _upload(twins, person, b"x" * 5000, kind="document", summary="too big", name="b.bin")
    assert big.status_code == 413, big.text
    assert snapshot(twins.api) == before
    assert not list(twins.case.media.tmp.glob("upload-*"))


def test_roles_without_permission_are_refused(twins: Twins) -> None:
    twins.client.post("/logout", headers={"X-CSRF-Token": twins.csrf})
    from .conftest import PASSWORD

    form = twins.client.get("/login")
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    twins.client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "login_token": token, "next": "/"},
    )
    page = twins.client.get(f"/cases/{twins.case.case_id}")
    twins.csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    _named, free, person = _sides(twins.api)
    before = snapshot(twins.api)
    for tail, body in (
        (f"calls/{free.call_id}/sides/{free.label}/person", {"person_id": person}),
        (f"calls/{free.call_id}/sides/{free.label}/unlink", {}),
        (f"persons/{person}/merge", {"other_id": person}),
        (f"persons/{person}/split", {"sides": [], "name": "x"}),
        (f"persons/{person}/unmerge", {}),
    ):
        refused = twins.send("POST", tail, body)
        assert refused.status_code == 403, (tail, refused.text)
    upload = _upload(twins, person, b"data", kind="other", summary="viewer upload")
    assert upload.status_code == 403 and "add evidence" in upload.json()["detail"]
    assert snapshot(twins.api) == before
    with Case.open(twins.api) as case, case.session() as session:
        assert session.execute(text("SELECT count(*) FROM evidence")).scalar() == 1


def test_side_verification_parity_and_refusal(twins: Twins, run_cli: Cli) -> None:
    """One call side verified citing evidence about the call: the same event, custody and
    audit as `earshot verify-identity CALL:PARTY`; without evidence, refused in browser
    words by the API and with the library's words by the CLI."""
    named, _free, _person = _sides(twins.cli)
    for path in (twins.api, twins.cli):
        with Case.open(path) as case, case.session() as session:
            workbench.add_evidence(
                session, Actor(EDITOR, Role.EDITOR), kind="other_call", call_id=named.call_id,
                summary="the same number calls his mother in another recording",
            )  # fmt: skip
    with Case.open(twins.api) as case, case.session() as session:
        listed = workbench.side_evidence(session, Actor(EDITOR, Role.EDITOR), call_id=named.call_id)
        evidence_id = max(e.id for e in listed if e.call_id == named.call_id)
    tail = f"calls/{named.call_id}/sides/{named.label}/verification"
    refused = twins.send("POST", tail, {"status": "verified", "reason": "same number"})
    cli_refused = run_cli(
        "verify-identity", twins.cli, f"{named.call_id}:{named.label}", "--status", "verified",
        "--reason", "same number", "--operator", EDITOR, code=2,
    )  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["detail"] in " ".join(cli_refused.stderr.split())
    assert (
        "--evidence" not in refused.json()["message"]
        and "Add evidence" in refused.json()["message"]
    )
    done = twins.send(
        "POST", tail, {"status": "verified", "reason": "same number", "evidence_ids": [evidence_id]}
    )
    assert done.status_code == 200, done.text
    run_cli(
        "verify-identity", twins.cli, f"{named.call_id}:{named.label}", "--status", "verified",
        "--reason", "same number", "--evidence", str(evidence_id), "--operator", EDITOR,
    )  # fmt: skip
    shot = assert_same(twins.api, twins.cli)
    assert _audit(shot)[-1] == (EDITOR, "verify", "party")
    history = twins.client.get(
        twins.url(f"calls/{named.call_id}/sides/{named.label}/history")
    ).json()
    verified = [h for h in history if h["kind"] == "verification"]
    assert verified and verified[-1]["evidence_ids"] == [evidence_id]


def test_every_api_refusal_naming_a_command_also_speaks_browser(twins: Twins) -> None:
    """A refusal from any route (here: deciding a proposal that does not exist) keeps the
    library's message in `detail` and gives the pages `message` without the command."""
    answer = twins.send("POST", "proposals/999999", {"accept": True})
    assert answer.status_code == 404
    body = answer.json()
    assert "`earshot person proposals" in body["detail"]
    assert body["message"].startswith("no open proposal #999999") and "`" not in body["message"]


def test_call_evidence_parity(twins: Twins, run_cli: Cli) -> None:
    """A web address about a call, from the call page's form: as `evidence add --call`."""
    named, _free, _person = _sides(twins.cli)
    done = twins.client.post(
        twins.url(f"calls/{named.call_id}/evidence"),
        params={
            "kind": "osint_profile",
            "summary": "the number in a public ad",
            "url": "https://ads.example/0001",
        },
        headers={"X-CSRF-Token": twins.csrf},
    )
    assert done.status_code == 200, done.text
    assert done.json()["call_id"] == named.call_id and done.json()["sha256"] is None
    run_cli(
        "evidence", "add", twins.cli, "--call", str(named.call_id), "--kind", "osint_profile",
        "--summary", "the number in a public ad", "--url", "https://ads.example/0001",
        "--operator", EDITOR,
    )  # fmt: skip
    shot = assert_same(twins.api, twins.cli)
    assert _audit(shot)[-1] == (EDITOR, "evidence", "evidence")
