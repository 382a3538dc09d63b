"""The Ray backend: the same stages as Ray tasks, one task per (call, stage batch).

The driver walks the stage graph level by level (stages of one level do not read each other's
output).  For every call it decides which stages of the level still need to run, sends those
as one task, and writes what comes back: workers compute, the driver writes, one transaction
per stage and call, so the case database may be SQLite (one writer) or PostgreSQL.  Workers
open the case by its path, so every node must see the case directory at the same path (a
shared file system) and reach its database.  A batch with a stage that wants a GPU asks Ray
for one when the cluster has GPUs.  Third-party stages that only implement ``run`` write for
themselves from the worker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..stages import Stage, StageOutcome
from ..store.case import Case
from .runner import (
    ProcessOptions,
    ProcessProgress,
    StagePlan,
    StageResult,
    describe_failure,
    needs_run,
    outcome_result,
    plan_stages,
    record_failed,
)
from .runs import start_run
from .split import Computed, SplitStage, write_computed

__all__ = ["compute_batch", "process_with_ray"]

_cache: dict[str, tuple[Case, StagePlan]] = {}

# One math thread per task, as in the local backend (the speech engines run single-threaded,
# see VoiceEncoder): the BLAS/OpenMP libraries read these when a worker starts, so a worker
# computes with the same kernels and thread counts as the driver would.
_WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}


def compute_batch(
    case_path: str, call_id: int, names: list[str], spec: dict[str, Any]
) -> dict[str, tuple[Any, ...]]:
    """Run in a Ray worker: compute the named stages of one call (models stay loaded between
    tasks of the same worker).  Returns per stage ("computed", Computed), ("ran",
    StageOutcome) or ("error", message, detail)."""
    key = json.dumps([case_path, spec], sort_keys=True, default=str)
    if key not in _cache:
        plan = plan_stages(spec["only"], spec["redo"], spec["options"])
        _cache[key] = (Case.open(Path(case_path)), plan)
    case, plan = _cache[key]
    stages = {s.name: s for s in plan.stages}
    out: dict[str, tuple[Any, ...]] = {}
    for name in names:
        stage = stages[name]
        try:
            if isinstance(stage, SplitStage):
                out[name] = ("computed", stage.compute(case, call_id))
            else:
                out[name] = ("ran", stage.run(case, call_id))
        except Exception as exc:
            out[name] = ("error", *describe_failure(exc))
    return out


def _write(
    case: Case,
    plan: StagePlan,
    stage: Stage,
    call_id: int,
    inputs_key: str,
    answer: tuple[Any, ...],
) -> StageResult:
    kind = answer[0]
    try:
        if kind == "computed" and isinstance(stage, SplitStage):
            computed: Computed = answer[1]
            return outcome_result(
                call_id, stage.name, write_computed(case, stage, call_id, inputs_key, computed)
            )
        if kind == "ran":
            outcome: StageOutcome = answer[1]
            with case.session() as session:
                start_run(session, call_id, plan.infos[stage.name], inputs_key, outcome)
            return outcome_result(call_id, stage.name, outcome)
    except Exception as exc:
        return record_failed(case, plan, stage.name, call_id, inputs_key, *describe_failure(exc))
    message, detail = (answer[1], answer[2]) if kind == "error" else (f"bad answer {kind!r}", {})
    return record_failed(case, plan, stage.name, call_id, inputs_key, message, detail)


def process_with_ray(
    case: Case,
    plan: StagePlan,
    options: ProcessOptions,
    calls: list[int],
    progress: ProcessProgress,
) -> list[StageResult]:
    import ray

    started = False
    if not ray.is_initialized():
        if options.address:
            ray.init(address=options.address, log_to_driver=False)
        else:
            workers = options.workers if options.workers > 1 else None
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        return _run_levels(case, plan, options, calls, progress, ray)
    finally:
        if started:
            ray.shutdown()


def _run_levels(
    case: Case,
    plan: StagePlan,
    options: ProcessOptions,
    calls: list[int],
    progress: ProcessProgress,
    ray: Any,
) -> list[StageResult]:
    gpus = float(ray.cluster_resources().get("GPU", 0)) > 0
    remote = ray.remote(compute_batch)
    spec = {
        "only": plan.names,
        "redo": sorted(plan.redo),
        "options": {k: dict(v) for k, v in options.stage_options.items()},
    }
    case_path = str(case.path.resolve())
    levels = plan.levels()
    progress.start(len(calls) * len(levels))
    results: list[StageResult] = []
    for level in levels:
        pending: dict[Any, tuple[int, list[tuple[Stage, str]]]] = {}
        for call_id in calls:
            todo: list[tuple[Stage, str]] = []
            for stage in level:
                blocked, inputs_key = needs_run(case, plan, stage, call_id)
                if blocked == "unchanged":
                    results.append(StageResult(call_id, stage.name, "unchanged"))
                elif blocked is not None:
                    results.append(StageResult(call_id, stage.name, "blocked", blocked))
                else:
                    todo.append((stage, inputs_key))
            if not todo:
                progress.advance(f"call {call_id}")
                continue
            gpu = 1 if gpus and any(s.wants_gpu for s, _ in todo) else 0
            ref = remote.options(
                num_cpus=1, num_gpus=gpu, runtime_env={"env_vars": _WORKER_ENV}
            ).remote(case_path, call_id, [s.name for s, _ in todo], spec)
            pending[ref] = (call_id, todo)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            call_id, todo = pending.pop(ready[0])
            try:
                answers = ray.get(ready[0])
            except Exception as exc:  # the task itself died (worker lost, out of memory)
                message = f"Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                answers = {s.name: ("error", message, {}) for s, _ in todo}
            for stage, inputs_key in todo:
                results.append(_write(case, plan, stage, call_id, inputs_key, answers[stage.name]))
            progress.advance(f"call {call_id}")
    return results
