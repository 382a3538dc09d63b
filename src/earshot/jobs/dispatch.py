"""Where a case's background jobs run: a worker process of the server, or an rq queue.

The ``jobs_queue`` setting decides: ``local`` (default) starts a worker process of the
server (:class:`~earshot.jobs.worker.LocalWorkers`); ``rq`` puts each job on the rq
queue ``earshot`` of the Redis named by ``session_store``, and ``rq:URL[#QUEUE]`` on
another Redis or queue, where ``rq worker`` processes of the team run them. Either way
the job's state lives in the case database, and the queue only says "run job N".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..errors import ConfigError
from ..settings import resolve_secret
from ..store.case import Case
from ..store.intake_models import Job
from ..vocab import JobStatus
from .queue import BACKGROUND, recover_jobs
from .worker import LocalWorkers

__all__ = ["JobDispatcher", "RqTarget", "enqueue", "rq_target"]

RQ_QUEUE = "earshot"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RqTarget:
    url: str
    queue: str


def rq_target(setting: str, session_store: str) -> RqTarget | None:
    """The rq queue a ``jobs_queue`` setting names, or None for ``local``."""
    value = setting.strip()
    if value in ("", "local"):
        return None
    if value == "rq":
        url = resolve_secret(session_store)
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                "jobs_queue 'rq' uses the session_store's Redis, but session_store is "
                f"{session_store!r}; set jobs_queue to rq:redis://HOST:PORT/DB"
            )
        return RqTarget(url, RQ_QUEUE)
    if value.startswith("rq:"):
        url, _, queue = resolve_secret(value[3:]).partition("#")
        return RqTarget(url, queue or RQ_QUEUE)
    raise ConfigError(f"jobs_queue must be 'local', 'rq' or 'rq:redis://...', got {setting!r}")


def enqueue(target: RqTarget, case: Case, job_ids: list[int]) -> None:
    from redis import Redis
    from rq import Queue

    queue = Queue(target.queue, connection=Redis.from_url(target.url))
    for job_id in job_ids:
        queue.enqueue(
            "earshot.jobs.worker.run_queued_job",
            str(case.path.resolve()),
            job_id,
            job_timeout=-1,
            description=f"earshot job {job_id}",
        )


class JobDispatcher:
    """The server's link to the workers: queue name for new jobs, start and wake-up."""

    def __init__(self) -> None:
        self.local = LocalWorkers()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # rq jobs this server has put on Redis, by (case, job, runs so far): a retried or
        # requeued job has run once more, so it is put on the queue again
        self._enqueued: set[tuple[str, int, int]] = set()

    def queue_of(self, case: Case) -> str:
        settings = case.settings
        return "rq" if rq_target(settings.jobs_queue, settings.session_store) else "local"

    def start(self, case: Case) -> list[int]:
        """At server start: requeue the jobs whose worker is gone, then wake the workers."""
        requeued = recover_jobs(case)
        self.kick(case)
        return requeued

    def kick(self, case: Case) -> Any:
        """Make sure the case's queued jobs will be run."""
        with case.session() as session:
            queued = list(
                session.execute(
                    select(Job.id, Job.queue, Job.attempts).where(
                        Job.status == JobStatus.QUEUED, Job.kind.in_(BACKGROUND)
                    )
                ).all()
            )
        if any(q == "local" for _, q, _ in queued):
            self.local.ensure(case)
        fresh = [
            (case.case_id, job_id, runs)
            for job_id, q, runs in queued
            if q == "rq" and (case.case_id, job_id, runs) not in self._enqueued
        ]
        on_rq = [job_id for _, job_id, _ in fresh]
        if on_rq:
            target = rq_target(case.settings.jobs_queue, case.settings.session_store)
            if target is None:
                raise ConfigError(
                    f"jobs {on_rq} wait on an rq queue but jobs_queue is 'local'; set it back "
                    "to the rq queue, or retry them from a server that has it"
                )
            enqueue(target, case, on_rq)
            self._enqueued |= set(fresh)

    def supervise(self, cases: Sequence[Case], interval: float = 2.0) -> None:
        """Every `interval` seconds, requeue what lost its worker and wake the workers: a
        job whose worker stopped after this server started (the worker of a killed server
        finishing its step, a worker killed on its own) goes on without a restart."""

        def loop() -> None:
            while not self._stop.wait(interval):
                for case in cases:
                    try:
                        self.start(case)
                    except Exception as exc:  # a busy database or Redis: next round
                        log.warning("background jobs of %s: %s", case.path, exc)

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="earshot-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.local.stop()
