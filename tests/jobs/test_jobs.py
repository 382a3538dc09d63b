"""Background jobs in the library: an upload staged, previewed and taken in by a worker;
cancel and retry; a worker killed with SIGKILL mid-job, recovered with nothing lost."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from earshot import jobs
from earshot.errors import JobCancelledError, JobError, UploadError, UploadTooLargeError
from earshot.jobs.queue import cancel_signal
from earshot.jobs.run import JobProgress
from earshot.security.errors import PermissionDeniedError
from earshot.security.roles import Actor, Role
from earshot.store.case import Case
from earshot.store.models import Batch, Call, Original
from earshot.store.verify import verify_case
from earshot.vocab import JobStatus

from ..conftest import Cli
from .conftest import sample_zip

EDITOR = Actor("ed", Role.EDITOR)


def _stage(case: Case, tmp_path: Path, names: list[str] | None = None) -> str:
    archive, csv = sample_zip(tmp_path / "drop", names)
    upload = jobs.new_upload(case, EDITOR)
    for path, rel, records in ((archive, "calls.zip", False), (csv, "calls.csv", True)):
        writer = jobs.upload_file(case, EDITOR, upload.id, rel, records=records, limit=10**9)
        with path.open("rb") as fh:
            while chunk := fh.read(64 * 1024):
                writer.write(chunk)
        writer.close()
    return upload.id


def test_upload_is_private_previewed_and_taken_in_by_a_worker(case: Case, tmp_path: Path) -> None:
    upload_id = _stage(case, tmp_path, ["call01", "call02", "call03"])
    root = case.path / "uploads" / upload_id
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "files" / "calls.zip").stat().st_mode) == 0o600
    preview = jobs.preview_upload(case, EDITOR, upload_id).as_dict()
    fields = {c["field"] for c in preview["columns"]}
    assert {"file", "started_at", "caller", "callee"} <= fields, preview["columns"]
    landed = {r["file"] for r in preview["rows"] if r["file"]}
    assert landed == {"call01.wav", "call02.flac", "call03.wav"}
    assert str(case.path) not in str(preview["files"])  # paths inside the upload only
    with case.session() as session:  # the preview wrote nothing
        assert session.scalar(select(func.count()).select_from(Call)) == 0
    job = jobs.start_upload(case, EDITOR, upload_id, only=["decode"])
    assert job.status == JobStatus.QUEUED
    with pytest.raises(UploadError, match="already taken in"):
        jobs.start_upload(case, EDITOR, upload_id)
    ran = jobs.work(case, idle_seconds=0.5)
    assert [status for _, status in ran] == [JobStatus.DONE, JobStatus.DONE], ran
    ingest_job = jobs.get_job(case, job.id)
    assert ingest_job.progress["report"]["counts"]["new"] == 3
    process_job = jobs.get_job(case, ingest_job.progress["next_job"])
    calls = process_job.progress["calls"]
    assert len(calls) == 3 and all(c["stages"]["decode"] == "done" for c in calls.values())
    assert process_job.progress["done"] == process_job.progress["total"] == 3
    assert not root.exists()  # staging removed once the originals are in the media store
    with case.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) >= 3


def test_limits_paths_and_roles(case: Case, tmp_path: Path) -> None:
    upload = jobs.new_upload(case, EDITOR)
    writer = jobs.upload_file(case, EDITOR, upload.id, "a/b.wav", records=False, limit=10)
    writer.write(b"12345")
    with pytest.raises(UploadTooLargeError, match="upload limit of 10 bytes"):
        writer.write(b"123456")
    assert not list((case.path / "uploads" / upload.id / "files" / "a").iterdir())
    for bad in ("../x.wav", "/etc/passwd", "a/../../x", "a\x00b"):
        with pytest.raises(UploadError):
            jobs.upload_file(case, EDITOR, upload.id, bad, records=False, limit=10)
    with pytest.raises(UploadError, match="CSV"):
        jobs.upload_file(case, EDITOR, upload.id, "x.wav", records=True, limit=10)
    for role in (Role.VIEWER, Role.TRANSLATOR):
        with pytest.raises(PermissionDeniedError, match="may not ingest"):
            jobs.new_upload(case, Actor("someone", role))
        with pytest.raises(PermissionDeniedError):
            jobs.upload_file(case, Actor("ed", role), upload.id, "x.wav", records=False, limit=9)


def test_cancel_and_retry(case: Case, tmp_path: Path) -> None:
    job = jobs.start_upload(case, EDITOR, _stage(case, tmp_path, ["call01"]), process=False)
    cancelled = jobs.cancel_job(case, EDITOR, job.id)
    assert cancelled.status == JobStatus.CANCELLED
    assert jobs.work(case, idle_seconds=0.2) == []
    with pytest.raises(JobError, match="only a queued or running job"):
        jobs.cancel_job(case, EDITOR, job.id)
    with pytest.raises(PermissionDeniedError):
        jobs.retry_job(case, Actor("t", Role.TRANSLATOR), job.id)
    again = jobs.retry_job(case, EDITOR, job.id)
    assert again.status == JobStatus.QUEUED
    assert jobs.work(case, idle_seconds=0.2) == [(job.id, JobStatus.DONE)]
    with pytest.raises(JobError, match="only a failed, cancelled or interrupted"):
        jobs.retry_job(case, EDITOR, job.id)


def _wait(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_worker_killed_mid_job_is_recovered_with_nothing_lost(case: Case, tmp_path: Path) -> None:
    job = jobs.start_upload(case, EDITOR, _stage(case, tmp_path), only=["decode"])
    worker = subprocess.Popen(
        [sys.executable, "-m", "earshot.jobs", str(case.path), "--idle", "0.5"]
    )

    def some_done() -> bool:
        now = jobs.get_job(case, job.id)
        return now.status == JobStatus.RUNNING and now.progress.get("done", 0) >= 2

    try:
        _wait(some_done)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    killed = jobs.get_job(case, job.id)
    assert killed.status == JobStatus.RUNNING  # what a SIGKILL leaves: a row nobody runs
    total = killed.progress["total"]
    assert 2 <= killed.progress["done"] < total, killed.progress
    assert killed.eta_seconds is not None and killed.eta_seconds > 0  # the pace so far
    assert jobs.recover_jobs(case) == [job.id]
    assert jobs.get_job(case, job.id).status == JobStatus.QUEUED
    ran = jobs.work(case, idle_seconds=0.5)
    assert ran[0] == (job.id, JobStatus.DONE)
    done = jobs.get_job(case, job.id)
    assert done.attempts == 2 and done.failures == []
    counts = done.progress["report"]["counts"]
    audio = [
        n
        for n in _zip_names(tmp_path / "drop" / "calls.zip")
        if not n.endswith((".vtt", ".srt", ".txt"))
    ]
    # the second run found what the first had stored and took in the rest: every file
    # exactly once (the files the first run stored come back "unchanged")
    assert counts["failed"] == 0 and counts["new"] + counts["unchanged"] == len(audio), counts
    assert counts["unchanged"] >= 1, counts
    with case.session() as session:
        originals = list(session.execute(select(Original)).scalars())
        calls = session.scalar(
            select(func.count()).select_from(Call).where(Call.status != "no-audio")
        )
        batches = list(session.execute(select(Batch).order_by(Batch.id)).scalars())
    members = len(_zip_names(tmp_path / "drop" / "calls.zip")) + 1  # + the call records
    assert len(originals) == members and calls == len(audio)
    report = verify_case(case)
    assert report.ok and report.checked == members, report  # whole, hashes match
    assert [b.status for b in batches] == ["interrupted", "done"]
    # processing went on after the ingest, on the calls of both runs
    follow = jobs.get_job(case, done.progress["next_job"])
    assert follow.status == JobStatus.DONE and len(follow.progress["calls"]) == len(audio)


def _zip_names(path: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def test_cli_lists_cancels_retries_and_works(case: Case, tmp_path: Path, run_cli: Cli) -> None:
    job = jobs.start_upload(case, EDITOR, _stage(case, tmp_path, ["call01"]), process=False)
    path = str(case.path)
    rows = json.loads(run_cli("jobs", path, "--json").stdout)
    assert rows[0]["id"] == job.id and rows[0]["status"] == "queued"
    cancelled = json.loads(run_cli("jobs", path, "--cancel", str(job.id), "--json").stdout)
    assert cancelled["status"] == "cancelled"
    refused = run_cli("jobs", path, "--cancel", str(job.id), code=None)
    assert refused.exit_code != 0 and "only a queued or running job" in refused.output
    run_cli("jobs", path, "--retry", str(job.id))
    worked = json.loads(run_cli("jobs", path, "--work", "--json").stdout)
    assert worked["ran"] == [{"id": job.id, "status": "done"}]
    text = run_cli("jobs", path).stdout
    assert "ingest" in text and "done" in text and "1 new of" in text


def test_a_processing_job_on_the_ray_backend(case_dir: Path, db_url: str, tmp_path: Path) -> None:
    """process_backend = ray: the job's stages run as Ray tasks, per call and stage
    recorded in the job as on the local backend."""
    ray = pytest.importorskip("ray")
    if db_url:
        pytest.skip("Ray's driver writes through the same library on both databases")
    with Case.open(case_dir) as case:
        upload = _stage(case, tmp_path, ["call01", "call02"])
        job = jobs.start_upload(case, EDITOR, upload, only=["decode"], backend="ray")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            ran = jobs.work(case, idle_seconds=0.5)
        finally:
            ray.shutdown()
        assert [status for _, status in ran] == [JobStatus.DONE, JobStatus.DONE], ran
        follow = jobs.get_job(case, jobs.get_job(case, job.id).progress["next_job"])
        calls = follow.progress["calls"]
        assert len(calls) == 2 and all(c["stages"]["decode"] == "done" for c in calls.values())
        assert "on Ray" in (follow.message or "")


def test_failures_are_listed_one_line_each_without_server_paths(case: Case, tmp_path: Path) -> None:
    upload = jobs.new_upload(case, EDITOR)
    for rel, data in (("in/broken.wav", b"RIFF\x00\x00not audio at all"), ("in/empty.mp3", b"")):
        writer = jobs.upload_file(case, EDITOR, upload.id, rel, records=False, limit=1000)
        writer.write(data)
        writer.close()
    job = jobs.start_upload(case, EDITOR, upload.id, process=False)
    assert jobs.work(case, idle_seconds=0.2) == [(job.id, JobStatus.DONE)]
    done = jobs.get_job(case, job.id)
    assert len(done.failures) == 2, done.failures
    assert {f.split(":")[0] for f in done.failures} == {"in/broken.wav", "in/empty.mp3"}
    assert all("\n" not in f for f in done.failures)
    assert str(case.path) not in json.dumps(done.as_dict())  # the staging folder stays private
    assert (case.path / "uploads" / upload.id).is_dir()  # kept for a retry after a failure


def test_a_stopped_worker_marks_its_job_interrupted_and_it_is_requeued(
    case: Case, tmp_path: Path
) -> None:
    job = jobs.start_upload(case, EDITOR, _stage(case, tmp_path), process=False)
    worker = subprocess.Popen([sys.executable, "-m", "earshot.jobs", str(case.path)])
    _wait(lambda: jobs.get_job(case, job.id).progress.get("done", 0) >= 1)
    worker.send_signal(signal.SIGTERM)  # a server stopping stops its workers so
    assert worker.wait(60) == 0
    stopped = jobs.get_job(case, job.id)
    assert stopped.status == JobStatus.INTERRUPTED and "stopping" in (stopped.message or "")
    assert stopped.finished_at is not None and stopped.pid is None
    assert jobs.recover_jobs(case) == [job.id]
    assert jobs.work(case, idle_seconds=0.2) == [(job.id, JobStatus.DONE)]


def test_a_cancel_stops_a_worker_that_holds_the_write_lock(case: Case, tmp_path: Path) -> None:
    """A worker taking in files commits one write after another, and the cancel's own
    write waits for the lock (SQLite's busy handler lost the race until the last file).
    The cancel's signal file reaches the worker at its next step all the same; the
    database flag lands once the lock is free; a retry clears the signal."""
    queued = jobs.start_upload(case, EDITOR, _stage(case, tmp_path, ["call01"]), process=False)
    job_id = jobs.claim_job(case, job_id=queued.id)
    assert job_id == queued.id
    progress = JobProgress(case, job_id, lambda: False)
    holder = case.engine.connect()
    transaction = holder.begin()
    if case.engine.dialect.name == "sqlite":
        holder.exec_driver_sql("UPDATE jobs SET heartbeat_at = heartbeat_at WHERE id = 0")
    else:
        holder.execute(text("SELECT id FROM jobs WHERE id = :i FOR UPDATE"), {"i": job_id})
    answers: list[object] = []
    canceller = threading.Thread(
        target=lambda: answers.append(jobs.cancel_job(case, EDITOR, job_id)), daemon=True
    )
    canceller.start()
    try:
        signal_file = case.path / ".jobs" / f"cancel-{job_id}"
        assert cancel_signal(case, job_id) == signal_file
        _wait(signal_file.exists, timeout=10)
        assert stat.S_IMODE(signal_file.stat().st_mode) & 0o077 == 0
        assert not answers  # the cancel's write is still waiting for the lock
        started = time.monotonic()
        with pytest.raises(JobCancelledError, match=f"job {job_id} was cancelled"):
            progress.step("calls.zip!calls/call01.wav", {"file": "call01.wav"})
        assert time.monotonic() - started < 1.0  # at once, not after the lock
    finally:
        transaction.rollback()
        holder.close()
    canceller.join(timeout=30)
    assert answers and jobs.get_job(case, job_id).cancel_requested
    progress.save(check=False, status=JobStatus.CANCELLED.value, finished_at=None, pid=None)
    assert jobs.retry_job(case, EDITOR, job_id).status == JobStatus.QUEUED
    assert not signal_file.exists()
    assert jobs.work(case, idle_seconds=0.2) == [(job_id, JobStatus.DONE)]
