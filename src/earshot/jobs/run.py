"""Running one claimed background job: an ingest of an upload, or processing some calls.

Both are the ordinary library runs (:func:`earshot.ingest.runner.ingest`, the stages of
:mod:`earshot.pipeline.runner`), with a progress writer that records in the job's row
what each file and each stage of each call came to, the failures with their one-line
reasons, and a heartbeat; between two steps it checks whether someone cancelled the job
or the worker is stopping, and stops there. Both runs are safe to repeat, which is what
makes retry and recovery safe: a stored file is found unchanged, a finished stage is not
run again.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import EarshotError, JobCancelledError
from ..ingest.recorder import FileResult
from ..ingest.runner import IngestOptions, ingest
from ..pipeline.runner import ProcessOptions, StageResult, plan_stages, process, run_stage
from ..security.roles import Actor, Role
from ..store.case import Case
from ..store.intake_models import Job
from ..store.models import utcnow
from ..vocab import JobKind, JobStatus
from .queue import HOST, cancel_signal, clear_cancel_signal

__all__ = ["JobProgress", "run_job"]

log = logging.getLogger(__name__)
_MAX_FAILURES = 200  # failures kept in a job's row (the failures table keeps them all)


class JobProgress:
    """Writes a running job's progress to its row, and raises JobCancelledError at the
    next step once the job is cancelled or `stopping()` says the worker must stop."""

    def __init__(self, case: Case, job_id: int, stopping: Callable[[], bool]) -> None:
        self.case, self.job_id, self.stopping = case, job_id, stopping
        self._signal = cancel_signal(case, job_id)
        self.state: dict[str, Any] = {}
        self._lock = threading.Lock()
        with case.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            keep = {k: v for k, v in (job.state or {}).items() if k in ("upload", "history")}
        self.state = {**keep, "host": HOST, "calls": {}, "failures": []}

    def phase(self, name: str, total: int) -> None:
        self.state.update(phase=name, total=total, done=0, phase_started=utcnow().isoformat())
        self.save()

    def step(self, key: str, entry: dict[str, Any], *, failure: str | None = None) -> None:
        """One file or one stage of a call is done: record it, then check for a cancel."""
        calls = self.state["calls"]
        calls.setdefault(key, {}).update(entry)
        if "stages" in entry:
            calls[key]["stages"] = {**calls[key].get("stages", {}), **entry["stages"]}
        if failure and len(self.state["failures"]) < _MAX_FAILURES:
            self.state["failures"].append(failure)
        self.state["done"] = self.state.get("done", 0) + (0 if entry.get("partial") else 1)
        self.save()

    def current(self, text: str) -> None:
        self.state["current"] = text
        self.save(check=True)

    def save(self, *, check: bool = True, **changes: Any) -> None:
        if check and self._signal.exists():  # before writing: see queue.cancel_signal
            raise JobCancelledError(f"job {self.job_id} was cancelled")
        with self._lock, self.case.session() as session:
            job = session.get(Job, self.job_id)
            assert job is not None
            job.state = dict(self.state)
            job.heartbeat_at = utcnow()
            for key, value in changes.items():
                setattr(job, key, value)
            cancelled = bool(job.cancel_requested)
        if check and cancelled:
            raise JobCancelledError(f"job {self.job_id} was cancelled")
        if check and self.stopping():
            raise JobCancelledError(f"the worker running job {self.job_id} is stopping")

    def heartbeat(self) -> None:
        self.save(check=False)


class _IngestTicks:
    """`IngestProgress` for the ingest runner: one step per file."""

    def __init__(self, progress: JobProgress, roots: list[str]) -> None:
        self.progress = progress
        # keys shown without the server's folders: "calls.zip!calls/call01.wav"
        self.roots = [r.rstrip("/") + "/" for r in roots]

    def start(self, total: int) -> None:
        self.progress.phase("ingest", total)

    def advance(self, result: FileResult) -> None:
        name = Path(result.path.split("!")[-1]).name
        failure = None
        if result.status == "failed":  # the library's one line, which names the file
            failure = self.shown(result.message)
            if name not in failure:
                failure = f"{name}: {failure}"
        entry = {"file": name, "call_id": result.call_id, "stages": {"ingest": result.status}}
        if result.message:
            entry["message"] = self.shown(result.message)
        self.progress.step(self.shown(result.path), entry, failure=failure)

    def shown(self, text: str | None) -> str:
        """`text` without the upload's folder on the server."""
        out = text or ""
        for root in self.roots:
            out = out.replace(root, "")
        return out


def _actor(job: Job | dict[str, Any]) -> Actor:
    operator = job["operator"] if isinstance(job, dict) else job.operator
    return Actor(operator, Role.EDITOR)


def _run_ingest(case: Case, job: dict[str, Any], progress: JobProgress) -> str:
    options = job["options"]
    metadata = Path(options["metadata"]) if options.get("metadata") else None
    ticks = _IngestTicks(progress, list(options["paths"]))
    report = ingest(
        case,
        [Path(p) for p in options["paths"]],
        IngestOptions(source=options.get("source"), metadata=metadata, workers=1),
        ticks,
    )
    counts = report.as_dict()["counts"]
    progress.state["report"] = {"batch": report.batch_id, "counts": counts}
    progress.state["report"]["records"] = report.as_dict()["records"]
    for error in map(ticks.shown, report.errors):
        if error not in progress.state["failures"] and len(progress.state["failures"]) < 200:
            progress.state["failures"].append(error)
    # Every call of the upload, not only the new ones: after an interrupted run, the calls
    # the first run stored come back "unchanged" and still need processing (a stage that
    # already ran is found unchanged and skipped).
    new_calls = sorted({f.call_id for f in report.files if f.call_id and f.status != "failed"})
    follow = options.get("then_process")
    if follow is not None and new_calls:
        from .queue import submit_job

        process_options = {**follow, "call_ids": new_calls}
        queued = submit_job(
            case,
            _actor(job),
            JobKind.PROCESS,
            f"{len(new_calls)} call(s) of job {job['id']}",
            process_options,
            queue=job["queue"],
        )
        progress.state["next_job"] = queued.id
        if job["queue"] == "rq":  # on the team's queue at once, not at a server's next round
            _enqueue_rq(case, queued.id)
    upload = options.get("staging")
    if upload and report.count("failed") == 0:
        shutil.rmtree(upload, ignore_errors=True)  # the originals are in the media store now
    total = sum(counts.values())
    return f"{counts.get('new', 0)} new of {total} file(s); {counts.get('failed', 0)} failed"


def _enqueue_rq(case: Case, job_id: int) -> None:
    from .dispatch import enqueue, rq_target

    target = rq_target(case.settings.jobs_queue, case.settings.session_store)
    if target is not None:
        enqueue(target, case, [job_id])


def _run_process(case: Case, job: dict[str, Any], progress: JobProgress) -> str:
    options = job["options"]
    calls = [int(c) for c in options.get("call_ids") or []]
    only = tuple(options["only"]) if options.get("only") else None
    stage_options = options.get("stage_options") or {}
    if options.get("backend", "local") == "ray":
        return _run_ray(case, options, calls, only, progress)
    plan = plan_stages(only, (), stage_options)
    progress.phase("process", len(calls) * len(plan.stages))
    results: list[StageResult] = []
    with case.exclusive("process"):
        for call_id in calls:
            for stage in plan.stages:
                progress.current(f"call {call_id} · {stage.name}")
                result = run_stage(case, plan, stage, call_id)
                results.append(result)
                failure = (
                    f"call {call_id} {stage.name}: {result.message}"
                    if result.status == "failed"
                    else None
                )
                entry = {"call_id": call_id, "stages": {stage.name: result.status}}
                progress.step(f"call {call_id}", entry, failure=failure)
    failed = sum(r.status == "failed" for r in results)
    return f"{len(calls)} call(s), {len(plan.stages)} stage(s) each; {failed} stage run(s) failed"


def _run_ray(
    case: Case,
    options: dict[str, Any],
    calls: list[int],
    only: tuple[str, ...] | None,
    progress: JobProgress,
) -> str:
    """On the Ray backend the runner reports per call; the job records each call's stages
    from the report at the end."""

    class Ticks:
        def start(self, total: int) -> None:
            progress.phase("process", total)

        def advance(self, label: str) -> None:
            progress.step(label, {"stages": {}})

    report = process(
        case,
        ProcessOptions(
            only=only,
            backend="ray",
            address=options.get("address"),
            call_ids=tuple(calls),
            stage_options=options.get("stage_options") or {},
        ),
        Ticks(),
    )
    for r in report.results:
        entry = {"call_id": r.call_id, "stages": {r.stage: r.status}, "partial": True}
        failure = f"call {r.call_id} {r.stage}: {r.message}" if r.status == "failed" else None
        progress.step(f"call {r.call_id}", entry, failure=failure)
    return f"{len(calls)} call(s) on Ray; {len(report.failed)} stage run(s) failed"


def run_job(case: Case, job_id: int, stopping: Callable[[], bool] = lambda: False) -> JobStatus:
    """Run job `job_id`, which this process has claimed; returns how it ended.

    A failing file or stage is a failure listed in the job, not the job's end; the job
    fails only when the run itself cannot go on (an unreadable records file, a locked
    case), with that one-line reason as its message.
    """
    with case.session() as session:
        row = session.get(Job, job_id)
        assert row is not None
        job = {
            "id": row.id,
            "kind": row.kind,
            "options": dict(row.options or {}),
            "operator": row.operator,
            "queue": row.queue,
        }
    progress = JobProgress(case, job_id, stopping)
    beat = threading.Event()

    def heartbeat() -> None:
        while not beat.wait(5.0):
            try:
                progress.heartbeat()
            except Exception as exc:  # a busy database: the next beat tries again
                log.warning("job %s: heartbeat not written (%s)", job_id, exc)

    threading.Thread(target=heartbeat, daemon=True).start()
    status, message = JobStatus.DONE, ""
    try:
        progress.save()
        if job["kind"] == JobKind.INGEST:
            message = _run_ingest(case, job, progress)
        else:
            message = _run_process(case, job, progress)
    except JobCancelledError as exc:
        status, message = (
            (JobStatus.INTERRUPTED, str(exc)) if stopping() else (JobStatus.CANCELLED, str(exc))
        )
    except EarshotError as exc:
        status, message = JobStatus.FAILED, str(exc)
    except Exception as exc:  # a bug: the job says so in one line, the worker goes on
        status, message = JobStatus.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        beat.set()
    progress.state.pop("current", None)
    progress.save(check=False, status=status.value, message=message, finished_at=utcnow(), pid=None)
    clear_cancel_signal(case, job_id)
    return status
