"""`earshot process`: run every registered stage each call still needs, and survive anything.

For each call and stage (in dependency order) the runner compares the stage's provenance key
(`info().key`) and inputs key with the recorded runs: an identical finished run means there is
nothing to do, so a re-run after a crash or with nothing new is cheap, and a new engine
version or changed input runs the stage again.  A stage that raises is recorded as failed
(``failures`` plus a failed ``stage_runs`` row) and the batch goes on; later stages of that
call wait for it.  Backends: in-process (optionally a pool of worker processes, each loading
its models once) or Ray (:mod:`.ray_backend`).
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select

from ..errors import ConfigError, EarshotError
from ..security.crypto import MediaCipher
from ..security.errors import KeyRequiredError
from ..stages import Stage, StageInfo, StageOutcome, available_stages, get_stage
from ..store.case import Case
from ..store.models import Call
from ..vocab import StageStatus
from .runs import FINISHED, find_run, latest_run, record_failed_run, start_run
from .split import SplitStage, write_computed

__all__ = [
    "ProcessOptions",
    "ProcessProgress",
    "ProcessReport",
    "StagePlan",
    "StageResult",
    "plan_stages",
    "process",
]

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class ProcessOptions:
    """``only``: stage names to run (default: every registered stage); ``redo``: stages to
    run again even where an identical run exists; ``stage_options``: keyword arguments per
    stage name (e.g. ``{"transcript": {"asr": "faster-whisper:/models/small"}}``)."""

    only: tuple[str, ...] | None = None
    redo: tuple[str, ...] = ()
    workers: int = 1
    backend: str = "local"
    address: str | None = None
    stage_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    call_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class StageResult:
    """What happened to one stage of one call: done, skipped, failed, unchanged or blocked."""

    call_id: int
    stage: str
    status: str
    message: str | None = None


@dataclass
class ProcessReport:
    stages: list[str]
    calls: int
    results: list[StageResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.results))

    @property
    def failed(self) -> list[StageResult]:
        return [r for r in self.results if r.status == StageStatus.FAILED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "stages": self.stages,
            "calls": self.calls,
            "counts": self.counts(),
            "results": [
                {"call_id": r.call_id, "stage": r.stage, "status": r.status, "message": r.message}
                for r in self.results
            ],
        }


class ProcessProgress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, label: str) -> None: ...


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, label: str) -> None:
        pass


@dataclass(frozen=True)
class StagePlan:
    """The stages of one run, built and in dependency order, with their provenance."""

    stages: tuple[Stage, ...]
    infos: Mapping[str, StageInfo]
    redo: frozenset[str]
    registered: frozenset[str]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def levels(self) -> list[list[Stage]]:
        """Stages grouped so that each group depends only on earlier groups."""
        depth: dict[str, int] = {}
        for stage in self.stages:
            depth[stage.name] = 1 + max((depth.get(d, -1) for d in stage.after), default=-1)
        groups: dict[int, list[Stage]] = {}
        for stage in self.stages:
            groups.setdefault(depth[stage.name], []).append(stage)
        return [groups[k] for k in sorted(groups)]


def plan_stages(
    only: Sequence[str] | None = None,
    redo: Sequence[str] = (),
    stage_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> StagePlan:
    """Build the selected stages (default: all registered) in dependency order."""
    registered = available_stages()
    names = list(dict.fromkeys(only)) if only else list(registered)
    for name in [*names, *redo]:
        if name not in registered:
            raise ConfigError(f"unknown stage {name!r}; available: {', '.join(registered)}")
    for name in redo:
        if name not in names:
            raise ConfigError(f"--redo {name} names a stage that --only leaves out; add it")
    options = stage_options or {}
    built = {name: get_stage(name, **dict(options.get(name, {}))) for name in names}
    ordered: list[Stage] = []
    pending = dict(built)
    while pending:
        ready = [n for n, s in pending.items() if all(d not in pending or d == n for d in s.after)]
        if not ready:
            raise ConfigError(
                f"stages {', '.join(sorted(pending))} depend on each other in a cycle"
            )
        for name in sorted(ready, key=names.index):
            ordered.append(pending.pop(name))
    return StagePlan(
        tuple(ordered),
        {s.name: s.info() for s in ordered},
        frozenset(redo),
        frozenset(registered),
    )


def _call_ids(case: Case, wanted: tuple[int, ...] | None) -> list[int]:
    with case.session() as session:
        # Calls known only from their call record have no audio to process (yet).
        ids = list(
            session.execute(
                select(Call.id).where(Call.status != "no-audio").order_by(Call.id)
            ).scalars()
        )
    if wanted is None:
        return ids
    missing = sorted(set(wanted) - set(ids))
    if missing:
        raise ConfigError(f"no call with id {', '.join(map(str, missing))} in this case")
    return [i for i in ids if i in set(wanted)]


def needs_run(case: Case, plan: StagePlan, stage: Stage, call_id: int) -> tuple[str | None, str]:
    """(why it cannot run yet or None, current inputs key); "unchanged" if nothing to do."""
    with case.session() as session:
        for dependency in stage.after:
            if dependency in plan.registered and latest_run(session, call_id, dependency) is None:
                return f"waiting for {dependency}", ""
        inputs_key = stage.inputs(session, call_id)
        existing = find_run(session, call_id, stage.name, plan.infos[stage.name].key, inputs_key)
    if existing is not None and existing.status in FINISHED and stage.name not in plan.redo:
        return "unchanged", inputs_key
    return None, inputs_key


def describe_failure(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """A one-line message (ours as is, others with their type) and a traceback for bugs."""
    if isinstance(exc, EarshotError):
        return str(exc), {}
    tb = "".join(traceback.format_exception(exc))[-4000:]
    return f"{type(exc).__name__}: {exc}", {"traceback": tb}


def record_failed(
    case: Case,
    plan: StagePlan,
    stage: str,
    call_id: int,
    inputs_key: str,
    message: str,
    detail: dict[str, Any],
) -> StageResult:
    with case.session() as session:
        record_failed_run(session, call_id, plan.infos[stage], inputs_key, message, detail)
    return StageResult(call_id, stage, "failed", message)


def outcome_result(call_id: int, stage: str, outcome: StageOutcome) -> StageResult:
    reason = outcome.detail.get("reason")
    return StageResult(call_id, stage, outcome.status, str(reason) if reason else None)


def run_stage(case: Case, plan: StagePlan, stage: Stage, call_id: int) -> StageResult:
    """Run one stage on one call if it needs it; never raises for a stage's own failure."""
    blocked, inputs_key = needs_run(case, plan, stage, call_id)
    if blocked == "unchanged":
        return StageResult(call_id, stage.name, "unchanged")
    if blocked is not None:
        return StageResult(call_id, stage.name, "blocked", blocked)
    info = plan.infos[stage.name]
    try:
        if isinstance(stage, SplitStage):
            outcome = write_computed(case, stage, call_id, inputs_key, stage.compute(case, call_id))
        else:
            outcome = stage.run(case, call_id)
            with case.session() as session:
                start_run(session, call_id, info, inputs_key, outcome)
    except Exception as exc:
        return record_failed(case, plan, stage.name, call_id, inputs_key, *describe_failure(exc))
    return outcome_result(call_id, stage.name, outcome)


def process_call(case: Case, plan: StagePlan, call_id: int) -> list[StageResult]:
    return [run_stage(case, plan, stage, call_id) for stage in plan.stages]


# -- worker processes (local backend, --workers N) -----------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(
    case_path: str,
    only: list[str],
    redo: list[str],
    options: dict[str, Any],
    media_key: bytes | None,
) -> None:
    unlocked = MediaCipher(media_key) if media_key is not None else None
    _worker["case"] = Case.open(Path(case_path), unlocked=unlocked)
    _worker["plan"] = plan_stages(only, redo, options)


def _work(call_id: int) -> list[StageResult]:
    return process_call(_worker["case"], _worker["plan"], call_id)


def _media_key(case: Case) -> bytes | None:
    """An encrypted case's data key, for the workers (through the process pipe only).

    None for a plain case, and for a media-only encrypted case opened without its key
    (stages that need no audio still run; those that do fail per call, as before).
    """
    try:
        return case.media.data_key()
    except KeyRequiredError:
        return None


def _process_pool(
    case: Case,
    plan: StagePlan,
    options: ProcessOptions,
    calls: list[int],
    tick: Callable[[str], None],
) -> list[StageResult]:
    results: list[StageResult] = []
    init = (
        str(case.path.resolve()),
        plan.names,
        sorted(plan.redo),
        {k: dict(v) for k, v in options.stage_options.items()},
        _media_key(case),
    )
    with ProcessPoolExecutor(
        max_workers=options.workers,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=init,
    ) as pool:
        futures = {pool.submit(_work, call_id): call_id for call_id in calls}
        for future in as_completed(futures):
            results.extend(future.result())
            tick(f"call {futures[future]}")
    return results


def process(
    case: Case, options: ProcessOptions | None = None, progress: ProcessProgress | None = None
) -> ProcessReport:
    """Run the selected stages on the case's calls; a failing call never stops the others."""
    options = options or ProcessOptions()
    progress = progress or _NoProgress()
    if options.backend not in BACKENDS:
        raise ConfigError(f"unknown backend {options.backend!r}; use one of {', '.join(BACKENDS)}")
    if options.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {options.workers}")
    plan = plan_stages(options.only, options.redo, options.stage_options)
    with case.exclusive("process"):
        calls = _call_ids(case, options.call_ids)
        report = ProcessReport(plan.names, len(calls))
        if options.backend == "ray":
            from .ray_backend import process_with_ray

            report.results = process_with_ray(case, plan, options, calls, progress)
        elif options.workers > 1 and len(calls) > 1:
            progress.start(len(calls))
            report.results = _process_pool(case, plan, options, calls, progress.advance)
        else:
            progress.start(len(calls))
            for call_id in calls:
                report.results.extend(process_call(case, plan, call_id))
                progress.advance(f"call {call_id}")
    report.results.sort(key=lambda r: (r.call_id, plan.names.index(r.stage)))
    return report
