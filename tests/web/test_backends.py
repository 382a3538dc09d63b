"""The API on both backends (SQLite and PostgreSQL): pages, audio, a stale edit refused."""

from __future__ import annotations

import json
from importlib.resources import as_file, files
from pathlib import Path

from fastapi.testclient import TestClient

from earshot.ingest.runner import IngestOptions, ingest
from earshot.security.accounts import AccountStore
from earshot.security.roles import Role
from earshot.store.case import Case
from earshot.web.app import create_app

from .conftest import FAST, PASSWORD, World


def test_api_and_stale_edit_on_each_backend(case: Case, tmp_path: Path) -> None:
    with as_file(files("earshot") / "data" / "sample") as sample:
        ingest(
            case,
            [sample / "calls" / "call01.wav", sample / "calls" / "call01.vtt"],
            IngestOptions(workers=1),
        )
    accounts = AccountStore(tmp_path / "accounts.db", policy=FAST)
    for name in ("anna", "boris"):
        accounts.add_user(name, PASSWORD)
        accounts.grant(name, case.case_id, Role.TRANSLATOR)
    app = create_app([case], accounts)
    world = World(case, case, accounts, tmp_path)
    anna, boris = TestClient(app), TestClient(app)
    a_csrf, b_csrf = world.login(anna, "anna"), world.login(boris, "boris")
    api = f"/api/cases/{case.case_id}"
    detail = anna.get(f"{api}/calls/1").json()
    assert detail["segments"], "the sidecar transcript is shown"
    seg = detail["segments"][0]["id"]
    url = f"{api}/calls/1/segments/{seg}/translation"
    first = anna.put(
        url,
        json={"text": "Hello", "status": "edited", "version": 0},
        headers={"X-CSRF-Token": a_csrf},
    )
    assert first.status_code == 200, first.text
    clash = boris.put(
        url, json={"text": "Hi", "status": "edited", "version": 0}, headers={"X-CSRF-Token": b_csrf}
    )
    assert clash.status_code == 409 and "anna" in clash.json()["detail"]
    assert anna.get(f"{api}/calls/1").json()["segments"][0]["translation"]["text"] == "Hello"
    audio = boris.get(f"{api}/calls/1/audio", headers={"Range": "bytes=0-43"})
    assert audio.status_code == 206 and audio.content.startswith(b"RIFF")
    assert anna.get(f"/cases/{case.case_id}/calls/1").status_code == 200
    assert anna.get(f"{api}/search", params={"q": 'мама "OR'}).status_code == 200


def test_quote_export_and_pseudonym_on_each_backend(case: Case, tmp_path: Path) -> None:
    """A quote saved with its provenance, a redacted export and a pseudonym, per backend."""
    with as_file(files("earshot") / "data" / "sample") as sample:
        ingest(
            case,
            [sample / "calls" / "call04.mp3", sample / "calls" / "call04.srt"],
            IngestOptions(metadata=sample / "calls.csv", workers=1),
        )
    accounts = AccountStore(tmp_path / "accounts.db", policy=FAST)
    team = {"tina": Role.TRANSLATOR, "ed": Role.EDITOR, "ada": Role.ADMIN}
    for user, role in team.items():
        accounts.add_user(user, PASSWORD)
        accounts.grant(user, case.case_id, role)
    world = World(case, case, accounts, tmp_path)
    app = create_app([case], accounts)
    clients = {user: TestClient(app) for user in team}
    csrf = {user: world.login(clients[user], user) for user in team}
    client, headers = clients["ed"], {"X-CSRF-Token": csrf["ed"]}
    api = f"/api/cases/{case.case_id}"
    detail = client.get(f"{api}/calls/1").json()
    english = ["Dad, hi. It's Denis.", "Deniska! So how are you there, son?"]
    for seg, text in zip(detail["segments"][:2], english, strict=True):
        version = 0
        for user, status in (("tina", "edited"), ("ed", "reviewed"), ("ada", "approved")):
            saved = clients[user].put(
                f"{api}/calls/1/segments/{seg['id']}/translation",
                json={"text": text, "status": status, "version": version},
                headers={"X-CSRF-Token": csrf[user]},
            )
            assert saved.status_code == 200, saved.text
            version = saved.json()["version"]
    quote = client.post(
        f"{api}/quotes",
        json={"call_id": 1, "first": 0, "last": 1, "text": "Dad, hi … So how are you there, son?"},
        headers=headers,
    )
    assert quote.status_code == 200, quote.text
    assert quote.json()["approver"] == "ada" and not quote.json()["unapproved"]
    assert [q["id"] for q in client.get(f"{api}/quotes").json()] == [quote.json()["id"]]
    sheet = client.get(f"{api}/quotes/sheet", params={"format": "md"})
    assert sheet.status_code == 200 and "So how are you there, son?" in sheet.text
    exported = client.get(f"{api}/export", params={"calls": 1, "format": "md"})
    assert exported.status_code == 200 and "Dad, hi" in exported.text
    assert "Denis" not in exported.text and "Денис" not in exported.text
    people = client.get(f"{api}/pseudonyms").json()
    assert people, "the call record names the caller"
    # The call records name people of other calls too: rename the one on call 1.
    before = client.get(f"{api}/export", params={"calls": 1, "format": "json"}).json()
    named = next(p["pseudonym"] for p in before["calls"][0]["parties"] if p["pseudonym"])
    caller = next(p for p in people if p["pseudonym"] == named)
    done = client.put(
        f"{api}/persons/{caller['person_id']}/pseudonym",
        json={"pseudonym": "THE SIGNALLER"},
        headers=headers,
    )
    assert done.status_code == 200
    again = client.get(f"{api}/export", params={"calls": 1, "format": "json"}).json()
    assert again["redacted"] is True
    assert "THE SIGNALLER" in json.dumps(again["calls"][0]["parties"], ensure_ascii=False)
