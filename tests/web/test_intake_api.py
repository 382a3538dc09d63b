"""The intake API without a browser: files stream to disk under the size limit (413 with
the limit in words, announced or not), roles decide who may upload, and jobs go to the
server's worker process or, for teams, to an rq queue run by a real `rq worker`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from earshot.security.accounts import AccountStore
from earshot.security.roles import Role
from earshot.settings import Settings
from earshot.store.case import Case
from earshot.web.app import create_app

from ..jobs.conftest import sample_zip
from .conftest import FAST, PASSWORD

REDIS = "redis://127.0.0.1:6379/0"


def _login(client: TestClient, case: Case, user: str) -> str:
    form = client.get("/login")
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "login_token": token, "next": "/"},
        follow_redirects=False,
    )
    page = client.get(f"/cases/{case.case_id}")
    return page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def _served(tmp_path: Path, **settings: object) -> tuple[Case, AccountStore, TestClient]:
    Case.init(tmp_path / "case").close()
    case = Case.open(tmp_path / "case", settings=Settings().merged(settings, "test"))
    accounts = AccountStore(tmp_path / "accounts.db", policy=FAST)
    for role in ("editor", "viewer", "translator"):
        accounts.add_user(role, PASSWORD)
        accounts.grant(role, case.case_id, Role(role))
    return case, accounts, TestClient(create_app([case], accounts), base_url="http://testserver")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Case, TestClient]]:
    case, _accounts, client = _served(tmp_path, upload_max_bytes=4096, intake_stages="none")
    yield case, client
    case.close()


def test_upload_limit_is_enforced_while_streaming(served: tuple[Case, TestClient]) -> None:
    case, client = served
    csrf = _login(client, case, "editor")
    api = f"/api/cases/{case.case_id}"
    headers = {"X-CSRF-Token": csrf}
    upload = client.post(f"{api}/uploads", headers=headers).json()
    url = f"{api}/uploads/{upload['id']}/files"
    ok = client.put(url, params={"path": "calls/a.wav"}, content=b"x" * 4096, headers=headers)
    assert ok.status_code == 200 and ok.json()["size"] == 4096
    announced = client.put(url, params={"path": "b.wav"}, content=b"x" * 5000, headers=headers)
    assert announced.status_code == 413
    assert "upload limit of 4,096 bytes" in announced.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(10):
            yield b"y" * 1000

    streamed = client.put(url, params={"path": "c.wav"}, content=chunks(), headers=headers)
    assert streamed.status_code == 413, streamed.text
    files = client.get(f"{api}/uploads/{upload['id']}").json()["files"]
    assert files == [{"path": "calls/a.wav", "size": 4096}]  # nothing of the refused ones
    staged = case.path / "uploads" / upload["id"] / "files"
    assert sorted(p.name for p in staged.rglob("*")) == ["a.wav", "calls"]
    bad = client.put(url, params={"path": "../../x.wav"}, content=b"x", headers=headers)
    assert bad.status_code == 422 and "not allowed" in bad.json()["detail"]


def test_roles_without_ingest_are_refused(served: tuple[Case, TestClient]) -> None:
    case, client = served
    csrf = _login(client, case, "editor")
    api = f"/api/cases/{case.case_id}"
    upload = client.post(f"{api}/uploads", headers={"X-CSRF-Token": csrf}).json()
    for user in ("viewer", "translator"):
        other = TestClient(client.app, base_url="http://testserver")
        token = _login(other, case, user)
        headers = {"X-CSRF-Token": token}
        refused = other.post(f"{api}/uploads", headers=headers)
        assert refused.status_code == 403 and "may not ingest" in refused.json()["detail"]
        put = other.put(
            f"{api}/uploads/{upload['id']}/files",
            params={"path": "a.wav"},
            content=b"x",
            headers=headers,
        )
        assert put.status_code == 403
        page = other.get(f"/cases/{case.case_id}/intake")
        assert page.status_code == 200 and 'id="intake-refused"' in page.text
        assert "intake.js" not in page.text
        assert other.get(f"{api}/jobs").status_code == 200  # reading jobs is for every role
    assert not any((case.path / "uploads" / upload["id"] / "files").iterdir())


def _wait_done(client: TestClient, api: str, count: int, timeout: float = 120.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = client.get(f"{api}/jobs").json()
        if len(jobs) >= count and all(j["status"] in ("done", "failed") for j in jobs):
            return list(jobs)
        assert time.monotonic() < deadline, jobs
        time.sleep(0.3)


def test_jobs_run_on_an_rq_queue_by_a_real_rq_worker(tmp_path: Path) -> None:
    pytest.importorskip("rq")
    queue = f"earshot-test-{uuid.uuid4().hex[:8]}"
    case, _accounts, client = _served(
        tmp_path, jobs_queue=f"rq:{REDIS}#{queue}", intake_stages="decode"
    )
    try:
        csrf = _login(client, case, "editor")
        api = f"/api/cases/{case.case_id}"
        headers = {"X-CSRF-Token": csrf}
        archive, csv = sample_zip(tmp_path / "drop", ["call01", "call02"])
        upload = client.post(f"{api}/uploads", headers=headers).json()
        for path, records in ((archive, False), (csv, True)):
            client.put(
                f"{api}/uploads/{upload['id']}/files",
                params={"path": path.name, "records": records},
                content=path.read_bytes(),
                headers=headers,
            ).raise_for_status()
        job = client.post(f"{api}/uploads/{upload['id']}/start", headers=headers, json={})
        assert job.status_code == 200 and job.json()["queue"] == "rq", job.text
        assert client.app.state.web.jobs.local.pids() == {}  # no local worker for rq jobs
        # the rq worker's environment names the same queue, as a team's workers would have
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "EARSHOT_JOBS_QUEUE": f"rq:{REDIS}#{queue}",
            "EARSHOT_INTAKE_STAGES": "decode",
        }
        worker = subprocess.run(
            [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", REDIS, queue],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        # one burst: the ingest put the processing job on the queue, and the worker ran it
        assert worker.returncode == 0, worker.stderr[-2000:]
        jobs = _wait_done(client, api, 2, timeout=30)
        assert [j["status"] for j in jobs] == ["done", "done"], jobs
        ingest, process = sorted(jobs, key=lambda j: j["id"])
        assert ingest["progress"]["report"]["counts"]["new"] == 2
        assert all(c["stages"]["decode"] == "done" for c in process["progress"]["calls"].values())
    finally:
        case.close()
