"""A drop folder: `earshot ingest CASE DIR --watch` takes files in as they arrive.

A file is taken once its size and modification time have stood still for `settle` seconds
(a copy or an upload in progress is left alone), in a batch of its own through the ordinary
:func:`~earshot.ingest.runner.ingest`, so reports, failures and custody are the same as for
a one-off ingest. The watch is a row in the ``jobs`` table — status, process, heartbeat,
which files were taken — so the browser's jobs page can show it, a second watcher on the
same folder is refused, and a watch stopped (Ctrl-C, SIGTERM) or killed resumes where it
left off when started again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..errors import ConfigError
from ..store.case import Case
from ..store.intake_models import Job
from ..store.models import utcnow
from ..vocab import JobStatus
from .runner import IngestOptions, IngestReport, ingest

__all__ = ["JobSummary", "WatchSummary", "job_summary", "list_jobs", "watch_folder"]

_STALE_SECONDS = 60.0  # a "running" job whose heartbeat is older than this is taken over


@dataclass
class WatchSummary:
    job_id: int
    resumed: bool
    batches: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class JobSummary:
    """A job as the jobs page and `earshot jobs` show it."""

    id: int
    kind: str
    target: str
    status: JobStatus
    operator: str
    pid: int | None
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    files_taken: int
    batches: int
    counts: dict[str, int]
    message: str | None
    # Background jobs (earshot.jobs): runs so far, a cancel on its way, which queue, and
    # the progress the worker writes (phase, done/total, per-call stages, failures, ETA).
    attempts: int = 0
    cancel_requested: bool = False
    queue: str = "local"
    progress: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    eta_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["progress"] = dict(self.progress)
        out["failures"] = list(self.failures)
        for key in ("started_at", "heartbeat_at", "finished_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def list_jobs(case: Case) -> list[JobSummary]:
    with case.session() as session:
        jobs = list(session.execute(select(Job).order_by(Job.id)).scalars())
        return [job_summary(job) for job in jobs]


def _eta(job: Job, state: dict[str, Any]) -> float | None:
    """Seconds left at the pace so far of the job's current phase (None: not yet known)."""
    done, total, since = state.get("done", 0), state.get("total", 0), state.get("phase_started")
    if job.status != JobStatus.RUNNING or not since or not done or total <= done:
        return None
    elapsed = (utcnow() - datetime.fromisoformat(since)).total_seconds()
    return round(max(elapsed, 0.0) / float(done) * float(total - done), 1)


def job_summary(job: Job) -> JobSummary:
    """A jobs-table row as the jobs page, `earshot jobs` and the API show it."""
    state = dict(job.state or {})
    progress: dict[str, Any] = {
        key: state[key]
        for key in ("phase", "done", "total", "current", "calls", "report", "next_job", "upload")
        if key in state
    }
    return JobSummary(
        job.id,
        job.kind,
        job.target,
        JobStatus(job.status),
        job.operator,
        job.pid,
        job.started_at,
        job.heartbeat_at,
        job.finished_at,
        len(state.get("taken", {})),
        len(state.get("batches", [])),
        dict(state.get("counts", {})),
        job.message,
        attempts=job.attempts or 0,
        cancel_requested=bool(job.cancel_requested),
        queue=job.queue or "local",
        progress=progress,
        failures=list(state.get("failures", [])),
        eta_seconds=_eta(job, state),
    )


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(case: Case, folder: Path, options: dict[str, Any]) -> tuple[int, bool, dict[str, Any]]:
    """The watch's job row (resumed if this folder was watched before) and its state."""
    target = str(folder)
    with case.session() as session:
        job = (
            session.execute(
                select(Job).where(Job.kind == "watch", Job.target == target).order_by(Job.id.desc())
            )
            .scalars()
            .first()
        )
        resumed = job is not None
        if job is not None and job.status == JobStatus.RUNNING:
            age = (utcnow() - job.heartbeat_at).total_seconds()
            if job.pid != os.getpid() and _alive(job.pid) and age < _STALE_SECONDS:
                raise ConfigError(
                    f"{target} is already being watched for this case by process {job.pid} "
                    f"(job {job.id}); stop it first, or watch another folder"
                )
        if job is None:
            job = Job(kind="watch", target=target, operator=case.settings.operator, state={})
            session.add(job)
        job.status, job.pid, job.options = JobStatus.RUNNING, os.getpid(), options
        job.heartbeat_at, job.finished_at, job.message = utcnow(), None, None
        session.flush()
        return job.id, resumed, dict(job.state or {})


def _save(case: Case, job_id: int, state: dict[str, Any], **changes: Any) -> None:
    with case.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.state = dict(state)
        job.heartbeat_at = utcnow()
        for key, value in changes.items():
            setattr(job, key, value)


def _scan(folder: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[int, int]]:
    """Every visible regular file under `folder`: path → (size, mtime_ns); links skipped,
    and nothing under `skip` (the case itself, if it lies in the drop folder)."""
    found: dict[str, tuple[int, int]] = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = Path(root)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (here / d).resolve() not in skip
        )
        for name in sorted(files):
            if name.startswith(".") or name.endswith((".part", ".crdownload", ".tmp")):
                continue  # hidden, or still being written by a browser or copier
            path = Path(root) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            if path.is_symlink() or not path.is_file():
                continue
            found[str(path)] = (info.st_size, info.st_mtime_ns)
    return found


def watch_folder(
    case: Case,
    folder: Path,
    options: IngestOptions,
    *,
    settle: float = 5.0,
    poll: float = 1.0,
    stop: threading.Event | None = None,
    on_batch: Callable[[IngestReport], None] | None = None,
) -> WatchSummary:
    """Watch `folder` until `stop` is set; each settled group of new files is one batch."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder; --watch takes the drop folder to watch")
    stop = stop or threading.Event()
    job_id, resumed, state = _claim(
        case, folder, {"settle": settle, "source": options.source, "workers": options.workers}
    )
    taken: dict[str, list[int]] = dict(state.get("taken", {}))
    state.setdefault("batches", [])
    state.setdefault("counts", {})
    summary = WatchSummary(job_id, resumed, counts=state["counts"])
    seen: dict[str, tuple[tuple[int, int], float]] = {}
    skip = (Path(case.path).resolve(),)
    clock = 0.0
    try:
        while not stop.is_set():
            now = datetime.now(UTC).timestamp()
            ready = []
            for path, signature in _scan(folder, skip).items():
                if taken.get(path) == list(signature):
                    continue
                previous = seen.get(path)
                if previous is None or previous[0] != signature:
                    seen[path] = (signature, now)
                elif now - previous[1] >= settle:
                    ready.append((path, signature))
            if ready:
                report = ingest(case, [Path(p) for p, _ in ready], options)
                for path, signature in ready:
                    taken[path] = list(signature)
                    seen.pop(path, None)
                state["taken"] = taken
                state["batches"].append(report.batch_id)
                for name, count in report.as_dict()["counts"].items():
                    state["counts"][name] = state["counts"].get(name, 0) + count
                summary.batches.append(report.batch_id)
                summary.errors += report.errors
                _save(case, job_id, state)
                if on_batch is not None:
                    on_batch(report)
            elif now - clock >= 5.0:
                _save(case, job_id, state)  # heartbeat for the jobs page
                clock = now
            stop.wait(poll)
    except BaseException as exc:
        _save(
            case,
            job_id,
            state,
            status=JobStatus.INTERRUPTED
            if isinstance(exc, KeyboardInterrupt)
            else JobStatus.FAILED,
            finished_at=utcnow(),
            message=str(exc) or type(exc).__name__,
        )
        raise
    _save(case, job_id, state, status=JobStatus.STOPPED, finished_at=utcnow(), pid=None)
    return summary
