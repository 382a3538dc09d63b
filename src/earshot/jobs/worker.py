"""The worker process that runs a case's background jobs, and the way a server starts it.

By default the web server starts one worker process per case when a job is queued
(:class:`LocalWorkers`): ``python -m earshot.jobs CASE``, which takes queued jobs
one after another and exits when the queue stays empty. A separate process, not a
thread, so a decoder or a model that crashes or hogs the interpreter cannot take the
server with it, and a worker can be killed without losing the server. The worker stops
between two steps when it receives SIGTERM or its server goes away, marking its job
interrupted; the next server requeues it (:func:`~earshot.jobs.queue.recover_jobs`).

For teams, jobs can go on an rq queue on the Redis already used for login sessions
instead (:mod:`earshot.jobs.rq_queue`); an ``rq worker`` then runs :func:`run_queued_job`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..security.crypto import MediaCipher
from ..security.errors import KeyRequiredError
from ..settings import Settings
from ..store.case import Case
from ..vocab import JobStatus
from .queue import claim_job, recover_jobs
from .run import run_job

__all__ = ["LocalWorkers", "main", "run_queued_job", "work"]


def work(
    case: Case,
    *,
    idle_seconds: float = 2.0,
    stop: threading.Event | None = None,
    parent: int | None = None,
) -> list[tuple[int, JobStatus]]:
    """Run queued local jobs until none has come for `idle_seconds` or `stop` is set.

    `parent`: the server's process id; when it is gone, the job in hand stops at its next
    step as interrupted (the next server requeues it) and the worker exits.
    """
    stop = stop or threading.Event()

    def stopping() -> bool:
        if parent is not None and os.getppid() != parent:
            stop.set()
        return stop.is_set()

    ran: list[tuple[int, JobStatus]] = []
    idle_since = time.monotonic()
    while not stopping():
        job_id = claim_job(case)
        if job_id is None:
            if time.monotonic() - idle_since > idle_seconds:
                break
            stop.wait(0.2)
            continue
        ran.append((job_id, run_job(case, job_id, stopping)))
        idle_since = time.monotonic()
    return ran


def run_queued_job(case_path: str, job_id: int) -> str:
    """The function an rq worker runs for one job: open the case, claim the job, run it."""
    settings = Settings().with_environment()
    with Case.open(Path(case_path), settings=settings) as case:
        if claim_job(case, queue="rq", job_id=job_id) is None:
            return "not queued (cancelled, or taken by another worker)"
        return run_job(case, job_id).value


class LocalWorkers:
    """Starts and stops the worker processes of the cases a server holds (one per case)."""

    def __init__(self) -> None:
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def ensure(self, case: Case) -> int:
        """A worker for `case` is running (started now if needed); returns its pid."""
        with self._lock:
            proc = self._procs.get(case.case_id)
            if proc is not None and proc.poll() is None:
                return proc.pid
            key = _media_key(case)
            command = [sys.executable, "-m", "earshot.jobs", str(case.path)]
            command += ["--parent", str(os.getpid()), "--key-stdin"]
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, close_fds=True)
            assert proc.stdin is not None
            proc.stdin.write((key.hex() if key else "").encode() + b"\n")  # the pipe only
            proc.stdin.close()
            self._procs[case.case_id] = proc
            return proc.pid

    def pids(self) -> dict[str, int]:
        return {k: p.pid for k, p in self._procs.items() if p.poll() is None}

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every worker (each stops its job at the next step) and wait for them."""
        with self._lock:
            procs = [p for p in self._procs.values() if p.poll() is None]
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for proc in procs:
                try:
                    proc.wait(max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self._procs.clear()


def _media_key(case: Case) -> bytes | None:
    try:
        return case.media.data_key()
    except KeyRequiredError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m earshot.jobs")
    parser.add_argument("case", type=Path)
    parser.add_argument("--idle", type=float, default=3.0, help="exit after this long idle")
    parser.add_argument("--parent", type=int, default=None, help="stop when it is gone")
    parser.add_argument("--key-stdin", action="store_true", help="read the media key (hex)")
    args = parser.parse_args(argv)
    unlocked: Any = None
    if args.key_stdin:
        line = sys.stdin.readline().strip()
        unlocked = MediaCipher(bytes.fromhex(line)) if line else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = Settings().with_environment()
    with Case.open(args.case, settings=settings, unlocked=unlocked) as case:
        recover_jobs(case)
        work(case, idle_seconds=args.idle, stop=stop, parent=args.parent)
    return 0
