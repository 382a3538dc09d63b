"""The case's queue of background jobs: submit, list, cancel, retry, claim, recover.

The queue is the ``jobs`` table of the case database and nothing else, so a job outlives
the process that ran it: a server restart, a killed worker or a reboot leaves the row,
and :func:`recover_jobs` (run when the server starts) puts a job whose worker is gone
back in the queue. Workers take jobs with :func:`claim_job`, a conditional update that
only one of several workers can win. Every change a person makes (submit, cancel, retry)
takes an :class:`~earshot.security.roles.Actor` and needs the ``ingest`` permission.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..errors import JobError, JobNotFoundError
from ..ingest.watch import JobSummary, job_summary
from ..security.roles import Actor, Permission
from ..store.audit import audit
from ..store.case import Case
from ..store.intake_models import Job
from ..store.models import utcnow
from ..vocab import JobKind, JobStatus

__all__ = [
    "BACKGROUND",
    "MAX_ATTEMPTS",
    "STALE_SECONDS",
    "cancel_job",
    "cancel_signal",
    "claim_job",
    "clear_cancel_signal",
    "get_job",
    "list_background_jobs",
    "recover_jobs",
    "retry_job",
    "submit_job",
]

BACKGROUND = (JobKind.INGEST.value, JobKind.PROCESS.value)
MAX_ATTEMPTS = 3  # runs of one job the recovery makes by itself; a person may retry more
STALE_SECONDS = 60.0  # a running job whose heartbeat is older than this has lost its worker
HOST = socket.gethostname()


def _audit(case: Case, actor: Actor, action: str, job_id: int, detail: dict[str, Any]) -> None:
    with case.session() as session:
        audit(
            session,
            user=actor.name,
            action=action,
            object_type="job",
            object_id=str(job_id),
            detail=detail,
        )


def submit_job(
    case: Case,
    actor: Actor,
    kind: JobKind,
    target: str,
    options: dict[str, Any],
    *,
    queue: str = "local",
    state: dict[str, Any] | None = None,
) -> JobSummary:
    """Queue a background job (ingest or process) for a worker; returns it as queued."""
    actor.require(Permission.INGEST, what=f"start a background {kind.value}")
    if kind.value not in BACKGROUND:
        raise JobError(f"{kind.value} is not a background job kind; use one of {BACKGROUND}")
    with case.session() as session:
        job = Job(
            kind=kind.value,
            target=target,
            status=JobStatus.QUEUED.value,
            operator=actor.name,
            options=options,
            state=dict(state or {}),
            queue=queue,
            attempts=0,
            cancel_requested=False,
        )
        session.add(job)
        session.flush()
        audit(
            session,
            user=actor.name,
            action="job-submit",
            object_type="job",
            object_id=str(job.id),
            detail={"kind": kind.value, "target": target, "queue": queue},
        )
        return job_summary(job)


def get_job(case: Case, job_id: int) -> JobSummary:
    with case.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise JobNotFoundError(f"no job {job_id} in this case; `earshot jobs` lists them")
        return job_summary(job)


def list_background_jobs(case: Case) -> list[JobSummary]:
    """The case's ingest and processing jobs, newest first."""
    with case.session() as session:
        rows = session.execute(
            select(Job).where(Job.kind.in_(BACKGROUND)).order_by(Job.id.desc())
        ).scalars()
        return [job_summary(job) for job in rows]


def _background_job(session: Session, job_id: int) -> Job:
    """Job `job_id`, which must be an ingest or processing job of this case."""
    job = session.get(Job, job_id)
    if job is None or job.kind not in BACKGROUND:
        raise JobNotFoundError(f"no background job {job_id} in this case")
    return job


def cancel_signal(case: Case, job_id: int) -> Path:
    """The file that tells a running job's worker to stop, beside the database flag.

    Why a file as well: on SQLite a worker that is taking in files commits one write
    transaction after another, and the cancel's own write waits for the lock between
    them (SQLite's busy handler sleeps and retries, and loses the race): a cancel
    clicked at file 2 of 12 was committed after file 12. The worker looks for this file
    at every step before it writes, so it stops at once; then the cancel's write gets
    the lock. The database flag (``cancel_requested``) stays the record."""
    return case.path / ".jobs" / f"cancel-{int(job_id)}"


def clear_cancel_signal(case: Case, job_id: int) -> None:
    cancel_signal(case, job_id).unlink(missing_ok=True)


def cancel_job(case: Case, actor: Actor, job_id: int) -> JobSummary:
    """Cancel a queued job at once, or ask the worker of a running one to stop at its next
    step (between two files or two stages, so nothing is left half-written)."""
    actor.require(Permission.INGEST, what="cancel a job")
    with case.session() as session:  # a read: it does not wait for a busy writer (WAL)
        running = _background_job(session, job_id).status == JobStatus.RUNNING
    if running:
        signal = cancel_signal(case, job_id)
        signal.parent.mkdir(mode=0o700, exist_ok=True)
        signal.touch(mode=0o600)
    with case.session() as session:
        job = _background_job(session, job_id)
        if job.status == JobStatus.QUEUED:
            job.status, job.finished_at = JobStatus.CANCELLED.value, utcnow()
            job.message = f"cancelled by {actor.name} before it started"
        elif job.status == JobStatus.RUNNING:
            job.cancel_requested = True
        else:  # it ended between the two looks: its worker will not clear the signal
            clear_cancel_signal(case, job_id)
            raise JobError(f"job {job_id} is {job.status}; only a queued or running job cancels")
        summary = job_summary(job)
    _audit(case, actor, "job-cancel", job_id, {"status": summary.status.value})
    return summary


def retry_job(case: Case, actor: Actor, job_id: int) -> JobSummary:
    """Queue a failed, cancelled or interrupted job again. Ingest and processing are safe
    to repeat: what the earlier run finished is found unchanged and kept."""
    actor.require(Permission.INGEST, what="retry a job")
    retryable = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.INTERRUPTED)
    with case.session() as session:
        job = _background_job(session, job_id)
        if job.status not in retryable:
            raise JobError(
                f"job {job_id} is {job.status}; only a failed, cancelled or interrupted job "
                "can be retried"
            )
        _requeue(job, f"retried by {actor.name}")
        summary = job_summary(job)
    clear_cancel_signal(case, job_id)
    _audit(case, actor, "job-retry", job_id, {"attempts": summary.attempts})
    return summary


def _requeue(job: Job, why: str) -> None:
    keep = {k: v for k, v in (job.state or {}).items() if k in ("upload", "history")}
    history = list(keep.get("history", []))
    history.append({"at": utcnow().isoformat(), "status": job.status, "why": why})
    keep["history"] = history[-20:]
    job.status, job.state, job.cancel_requested = JobStatus.QUEUED.value, keep, False
    job.pid, job.finished_at, job.message = None, None, why


def claim_job(case: Case, *, queue: str = "local", job_id: int | None = None) -> int | None:
    """Take the oldest queued job of `queue` (or job `job_id`) for this process, or None.

    A conditional update (status still queued), so of two workers only one wins a job.
    """
    with case.session() as session:
        query = select(Job.id).where(Job.status == JobStatus.QUEUED, Job.kind.in_(BACKGROUND))
        query = query.where(Job.id == job_id) if job_id is not None else query
        candidates = list(
            session.execute(query.where(Job.queue == queue).order_by(Job.id)).scalars()
        )
    for candidate in candidates:
        with case.session() as session:
            won = session.execute(  # type: ignore[attr-defined]
                update(Job)
                .where(Job.id == candidate, Job.status == JobStatus.QUEUED)
                .values(
                    status=JobStatus.RUNNING.value,
                    pid=os.getpid(),
                    heartbeat_at=utcnow(),
                    attempts=Job.attempts + 1,
                )
            ).rowcount
        if won:
            return candidate
    return None


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


def recover_jobs(case: Case, *, stale_after: float = STALE_SECONDS) -> list[int]:
    """Requeue the background jobs whose worker is gone; returns their ids.

    A running job is orphaned when its worker ran on this machine and that process is
    gone, or when its heartbeat is older than `stale_after` (a worker elsewhere); it is
    marked interrupted and, unless it already ran MAX_ATTEMPTS times, queued again.
    Interrupted jobs (a worker that was stopped) are queued again the same way. Run by
    the server when it starts and by `earshot jobs --work`.
    """
    requeued: list[int] = []
    cutoff = utcnow() - timedelta(seconds=stale_after)
    with case.session() as session:
        rows = session.execute(
            select(Job).where(
                Job.kind.in_(BACKGROUND),
                Job.status.in_([JobStatus.RUNNING, JobStatus.INTERRUPTED]),
            )
        ).scalars()
        for job in rows:
            if job.status == JobStatus.RUNNING:
                here = (job.state or {}).get("host") == HOST
                gone = (here and not _alive(job.pid)) or job.heartbeat_at < cutoff
                if not gone or (here and job.pid == os.getpid()):
                    continue
                job.status = JobStatus.INTERRUPTED.value
                job.message = f"its worker (process {job.pid}) stopped during run {job.attempts}"
            if (job.attempts or 0) >= MAX_ATTEMPTS:
                job.finished_at = utcnow()
                job.message = (
                    f"{job.message or 'interrupted'}; not requeued after {job.attempts} runs "
                    "— retry it once the cause is fixed"
                )
                continue
            _requeue(job, f"requeued after an interruption ({job.message or 'worker stopped'})")
            requeued.append(job.id)
    for job_id in requeued:
        clear_cancel_signal(case, job_id)
    return requeued
