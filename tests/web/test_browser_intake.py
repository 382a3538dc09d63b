"""Intake in Debian's Chromium against `earshot serve` run as a subprocess: drop a zip of
the fictional sample calls and their call-record CSV, read the mapping preview, take it
in, watch the jobs page; kill the server mid-job, start it again and see the job finish;
a role without the ingest permission is refused."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from earshot.jobs import get_job, list_background_jobs
from earshot.security.accounts import AccountStore
from earshot.security.roles import Role
from earshot.store.case import Case
from earshot.store.models import Call
from earshot.vocab import JobStatus

from ..jobs.conftest import sample_zip
from .conftest import FAST, PASSWORD
from .test_browser import ARGS, CHROMIUM, Browser, shoot, wait_js
from .test_browser_workbench import _axe

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    case_path: Path
    case_id: str
    accounts: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "EARSHOT_INTAKE_STAGES": "decode",  # processing without model weights
            "EARSHOT_UPLOAD_MAX_BYTES": str(64 * 1024 * 1024),
        }
        command = [sys.executable, "-m", "earshot", "serve", str(self.case_path)]
        command += ["--accounts", str(self.accounts), "--port", str(self.port)]
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.base + "/login", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, "earshot serve exited"
            assert time.monotonic() < deadline, "earshot serve did not start"
            time.sleep(0.2)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    case = Case.init(tmp_path / "case")
    case_id = case.case_id
    case.close()
    accounts = AccountStore(tmp_path / "accounts.db", policy=FAST)
    for user in ("editor", "viewer"):
        accounts.add_user(user, PASSWORD)
        accounts.grant(user, case_id, Role(user))
    server = Served(tmp_path / "case", case_id, tmp_path / "accounts.db", _free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def browser(served: Served) -> Iterator[Browser]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield Browser(launched, served.base)
        launched.close()


def _drop_csv(page: object, csv: Path) -> None:
    """Drop the call-record CSV on the drop zone, as a file dragged from the desktop."""
    encoded = base64.b64encode(csv.read_bytes()).decode()
    transfer = page.evaluate_handle(  # type: ignore[attr-defined]
        """([name, data]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "text/csv" }));
            return dt;
        }""",
        [csv.name, encoded],
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})  # type: ignore[attr-defined]


def test_drop_preview_take_in_and_survive_a_server_restart(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    archive, csv = sample_zip(tmp_path / "drop")
    page = browser.page()
    browser.login(page, "editor")
    page.goto(f"{served.base}/cases/{served.case_id}/intake")  # type: ignore[attr-defined]
    page.set_input_files("#pick-files", str(archive))  # type: ignore[attr-defined]
    _drop_csv(page, csv)
    wait_js(page, "document.getElementById('chosen-summary').textContent.includes('calls.csv')")
    assert "1 file(s)" in page.inner_text("#chosen-summary")  # type: ignore[attr-defined]
    page.click("#send")  # type: ignore[attr-defined]
    page.wait_for_selector("#preview:not([hidden])", timeout=60_000)  # type: ignore[attr-defined]
    columns = page.inner_text("#columns")  # type: ignore[attr-defined]
    for field in ("caller", "callee", "started_at", "file"):
        assert field in columns, columns
    row = page.inner_text("#rows tbody tr:has-text('call01.wav')")  # type: ignore[attr-defined]
    assert "file name" in row, row
    assert "12 row(s)" in page.inner_text("#match-counts")  # type: ignore[attr-defined]
    shoot(page, "intake-preview-1280")
    assert not _axe(page, browser), "intake page"
    with Case.open(served.case_path) as case, case.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 0  # nothing written
    page.click("#start")  # type: ignore[attr-defined]
    page.wait_for_selector("#started:not([hidden])")  # type: ignore[attr-defined]
    page.click("#started-link")  # type: ignore[attr-defined]
    page.wait_for_url("**/jobs**")  # type: ignore[attr-defined]
    page.wait_for_selector("#job-1")  # type: ignore[attr-defined]

    # Kill the server while the ingest runs; its worker stops at its next step.
    with Case.open(served.case_path) as case:
        deadline = time.monotonic() + 60
        while get_job(case, 1).status == JobStatus.QUEUED or not get_job(case, 1).progress.get(
            "done"
        ):
            assert time.monotonic() < deadline, get_job(case, 1)
            time.sleep(0.05)
        served.kill()
        first = get_job(case, 1)
    assert first.status == JobStatus.RUNNING, first  # killed mid-job
    before = first.progress["done"]
    assert before < first.progress["total"], first.progress
    served.start()  # the same port; sessions lived in the old server's memory: log in again
    browser.login(page, "editor")
    page.goto(f"{served.base}/cases/{served.case_id}/jobs")  # type: ignore[attr-defined]
    try:
        wait_js(
            page,
            "[...document.querySelectorAll('.job')].length === 2 && "
            "[...document.querySelectorAll('.job')].every((j) => j.dataset.status === 'done')",
            timeout=180,
        )
    except AssertionError:
        with Case.open(served.case_path) as case:
            raise AssertionError([j.as_dict() for j in list_background_jobs(case)]) from None
    ingest_card = page.inner_text("#job-1")  # type: ignore[attr-defined]
    assert "run 2" in ingest_card, ingest_card
    with Case.open(served.case_path) as case:
        jobs = {j.id: j for j in list_background_jobs(case)}
    ingest, process = jobs[1], jobs[2]
    assert ingest.attempts == 2 and ingest.status == JobStatus.DONE, ingest
    counts = ingest.progress["report"]["counts"]
    assert counts["failed"] == 0 and counts["unchanged"] >= 1, counts
    assert process.status == JobStatus.DONE and process.failures == []
    assert len(process.progress["calls"]) == 12  # the calls of both runs are processed
    page.click("#job-2 details summary")  # type: ignore[attr-defined]
    shoot(page, "jobs-after-restart-1280")
    assert not _axe(page, browser), "jobs page"
    table = page.inner_text("#job-2 table.stages").lower()  # type: ignore[attr-defined]
    assert "decode" in table and table.count("done") == 12, table
    # what the restart logged in the page: the polls that found no server, nothing else
    errors = [
        e for e in browser.errors if "ERR_CONNECTION_REFUSED" not in e and "status of 401" not in e
    ]
    assert not errors, errors
    assert not browser.foreign
    page.context.close()  # type: ignore[attr-defined]


def test_a_viewer_may_not_upload(served: Served, browser: Browser) -> None:
    page = browser.page()
    browser.login(page, "viewer")
    page.goto(f"{served.base}/cases/{served.case_id}/intake")  # type: ignore[attr-defined]
    assert page.is_visible("#intake-refused")  # type: ignore[attr-defined]
    assert not page.query_selector("#drop")  # type: ignore[attr-defined]
    status = page.evaluate(  # type: ignore[attr-defined]
        """async (api) => (await fetch(api + "/uploads", {method: "POST", headers: {
            "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}})).status""",
        f"/api/cases/{served.case_id}",
    )
    assert status == 403
    page.goto(f"{served.base}/cases/{served.case_id}/jobs")  # type: ignore[attr-defined]
    page.wait_for_selector("#jobs-empty:not([hidden])")  # type: ignore[attr-defined]
    errors = [e for e in browser.errors if "status of 403" not in e]
    assert not errors, errors
    page.context.close()  # type: ignore[attr-defined]


def _upload_in_browser(page: object, served: Served, archive: Path, csv: Path) -> None:
    page.goto(f"{served.base}/cases/{served.case_id}/intake")  # type: ignore[attr-defined]
    page.set_input_files("#pick-files", str(archive))  # type: ignore[attr-defined]
    page.set_input_files("#pick-records", str(csv))  # type: ignore[attr-defined]
    page.click("#send")  # type: ignore[attr-defined]
    page.wait_for_selector("#preview:not([hidden])", timeout=60_000)  # type: ignore[attr-defined]


def test_cancel_a_running_job_and_retry_it(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    archive, csv = sample_zip(tmp_path / "drop")
    page = browser.page()
    browser.login(page, "editor")
    _upload_in_browser(page, served, archive, csv)
    page.uncheck("#then-process")  # type: ignore[attr-defined]
    page.click("#start")  # type: ignore[attr-defined]
    page.wait_for_selector("#started:not([hidden])")  # type: ignore[attr-defined]
    page.goto(f"{served.base}/cases/{served.case_id}/jobs")  # type: ignore[attr-defined]
    with Case.open(served.case_path) as case:
        deadline = time.monotonic() + 60
        while not get_job(case, 1).progress.get("done"):
            assert time.monotonic() < deadline, get_job(case, 1)
            time.sleep(0.05)
    page.click("#job-1 button.cancel")  # type: ignore[attr-defined]
    wait_js(page, "document.querySelector('#job-1')?.dataset.status === 'cancelled'", timeout=60)
    with Case.open(served.case_path) as case:
        cancelled = get_job(case, 1)
    assert cancelled.progress["done"] < cancelled.progress["total"], cancelled.progress
    assert "cancelled" in (cancelled.message or "")
    page.click("#job-1 button.retry")  # type: ignore[attr-defined]
    wait_js(page, "document.querySelector('#job-1')?.dataset.status === 'done'", timeout=120)
    assert "run 2" in page.inner_text("#job-1")  # type: ignore[attr-defined]
    with Case.open(served.case_path) as case:
        done = get_job(case, 1)
        assert len(list_background_jobs(case)) == 1  # "process" was unticked
    counts = done.progress["report"]["counts"]
    assert counts["new"] + counts["unchanged"] == 12 and counts["unchanged"] >= 1, counts
    assert not browser.errors, browser.errors
    page.context.close()  # type: ignore[attr-defined]


def test_a_folder_keeps_its_paths(served: Served, browser: Browser, tmp_path: Path) -> None:
    """A folder chosen with the folder picker (webkitdirectory) arrives with its paths."""
    import shutil
    from importlib.resources import as_file, files

    folder = tmp_path / "intercepts"
    (folder / "october").mkdir(parents=True)
    with as_file(files("earshot") / "data" / "sample") as sample:
        for name in ("call01.wav", "call01.vtt", "call02.flac"):
            shutil.copy(sample / "calls" / name, folder / "october" / name)
        csv = tmp_path / "calls.csv"
        csv.write_bytes((sample / "calls.csv").read_bytes())
    page = browser.page()
    browser.login(page, "editor")
    page.goto(f"{served.base}/cases/{served.case_id}/intake")  # type: ignore[attr-defined]
    page.set_input_files("#pick-folder", str(folder))  # type: ignore[attr-defined]
    page.set_input_files("#pick-records", str(csv))  # type: ignore[attr-defined]
    chosen = page.inner_text("#chosen")  # type: ignore[attr-defined]
    assert "intercepts/october/call01.wav" in chosen, chosen
    page.click("#send")  # type: ignore[attr-defined]
    page.wait_for_selector("#preview:not([hidden])", timeout=60_000)  # type: ignore[attr-defined]
    row = page.inner_text("#rows tbody tr:has-text('call02.flac')")  # type: ignore[attr-defined]
    assert "file name" in row
    assert "10 become calls without audio" in page.inner_text("#match-counts")  # type: ignore[attr-defined]
    page.uncheck("#then-process")  # type: ignore[attr-defined]
    page.click("#start")  # type: ignore[attr-defined]
    page.wait_for_selector("#started:not([hidden])")  # type: ignore[attr-defined]
    page.goto(f"{served.base}/cases/{served.case_id}/jobs")  # type: ignore[attr-defined]
    wait_js(page, "document.querySelector('#job-1')?.dataset.status === 'done'", timeout=120)
    page.click("#job-1 details summary")  # type: ignore[attr-defined]
    table = page.inner_text("#job-1 table.stages")  # type: ignore[attr-defined]
    assert "call01.wav" in table and "call02.flac" in table and str(tmp_path) not in table
    assert not browser.errors, browser.errors
    page.context.close()  # type: ignore[attr-defined]
