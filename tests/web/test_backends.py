"""The API on both backends (SQLite and PostgreSQL): pages, audio, a stale edit refused."""

from __future__ import annotations

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
