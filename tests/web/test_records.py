"""Typed result records shared by `--json` and the JSON API: the call detail and the
job come from one library function each, so the CLI and the API answer the same keys
(and the same values) for the same object, and OpenAPI documents each answer."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from earshot.analysis.call_detail import CallDetail, call_detail
from earshot.ingest.runner import IngestOptions
from earshot.ingest.watch import list_jobs, watch_folder
from earshot.security.accounts import AccountStore
from earshot.security.roles import Role
from earshot.store.case import Case
from earshot.web.app import create_app

from ..conftest import Cli
from .conftest import FAST, PASSWORD, World


def _keys(value: Any, path: str = "$") -> set[str]:
    """Every key path in `value` (lists by their items), to compare shapes."""
    if isinstance(value, dict):
        out = {f"{path}.{k}" for k in value}
        for k, v in value.items():
            out |= _keys(v, f"{path}.{k}")
        return out
    if isinstance(value, list):
        return set().union(*(_keys(v, f"{path}[]") for v in value)) if value else set()
    return set()


def _login(client: TestClient, user: str) -> None:
    form = client.get("/login")
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"username": user, "password": PASSWORD, "login_token": token})


def test_call_detail_is_one_record_for_cli_and_api(
    world: World, app_client: TestClient, run_cli: Cli
) -> None:
    client = TestClient(app_client.app, base_url="http://testserver")
    world.login(client, "viewer")
    with world.own.session() as session:
        details = [d for d in (call_detail(session, i) for i in range(1, 40)) if d is not None]
    detail = next(d for d in details if d.segments and any(s.translation for s in d.segments))
    assert isinstance(detail, CallDetail)
    call_id = detail.call_id
    cli = json.loads(run_cli("call", world.own.path, str(call_id), "--json").stdout)
    api = client.get(f"/api/cases/{world.own.case_id}/calls/{call_id}")
    assert api.status_code == 200
    assert _keys(cli) == _keys(api.json()) and "$.segments[].translation.status" in _keys(cli)
    assert cli == api.json() == json.loads(json.dumps(detail.as_dict()))
    shown = run_cli("call", world.own.path, str(call_id)).stdout
    assert f"call #{call_id}" in shown and detail.segments[0].text.split()[0] in shown
    missing = run_cli("call", world.own.path, "99999", "--json", code=2)
    assert "no call #99999" in missing.stderr
    assert client.get(f"/api/cases/{world.own.case_id}/calls/99999").status_code == 404
    schema = client.get("/openapi.json").json()
    answer = schema["paths"]["/api/cases/{case_id}/calls/{call_id}"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/CallDetail")


def test_jobs_are_one_record_for_cli_and_api(tmp_path: Path, run_cli: Cli) -> None:
    case = Case.init(tmp_path / "case")
    drop = tmp_path / "drop"
    drop.mkdir()
    stop = threading.Event()
    stop.set()  # one pass over the empty folder, then the watch ends as "stopped"
    watch_folder(case, drop, IngestOptions(workers=1), settle=0.0, poll=0.01, stop=stop)
    jobs = list_jobs(case)
    assert [(j.kind, j.status) for j in jobs] == [(jobs[0].kind, "stopped")]
    accounts = AccountStore(tmp_path / "accounts.db", policy=FAST)
    accounts.add_user("vera", PASSWORD)
    accounts.grant("vera", case.case_id, Role.VIEWER)
    client = TestClient(create_app([case], accounts), base_url="http://testserver")
    assert client.get(f"/api/cases/{case.case_id}/jobs").status_code == 401
    _login(client, "vera")
    api = client.get(f"/api/cases/{case.case_id}/jobs").json()
    cli = json.loads(run_cli("jobs", case.path, "--json").stdout)
    assert _keys(cli) == _keys(api) and "$[].heartbeat_at" in _keys(cli)
    assert cli == api == [job.as_dict() for job in jobs]
    assert api[0]["target"] == str(drop.resolve()) and api[0]["finished_at"]
    schema = client.get("/openapi.json").json()
    items = schema["paths"]["/api/cases/{case_id}/jobs"]["get"]["responses"]["200"]["content"]
    assert items["application/json"]["schema"]["items"]["$ref"].endswith("/JobRecord")
    case.close()
