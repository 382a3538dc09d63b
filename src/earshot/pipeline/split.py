"""Stages that compute without touching the database and write in one short transaction.

Why the split: on a Ray cluster the heavy part (models on audio) runs on any node, while
writes go through the driver, one transaction per stage and call, so SQLite cases work too and
a stage's outputs always land together with its ``stage_runs`` row.  Third-party stages that
only implement :meth:`Stage.run` still work; they write for themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..stages import Stage, StageOutcome
from .runs import start_run

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ..store.case import Case
    from ..store.speech_models import StageRun

__all__ = ["Computed", "SplitStage", "compute_and_write", "write_computed"]


@dataclass(frozen=True)
class Computed:
    """What a stage computed for one call: its outcome and a picklable payload to write."""

    outcome: StageOutcome
    payload: Any = None


@runtime_checkable
class SplitStage(Stage, Protocol):
    def compute(self, case: Case, call_id: int) -> Computed:
        """Do the work from the case's audio and earlier outputs; write nothing."""
        ...

    def write(self, session: Session, call_id: int, payload: Any, run: StageRun) -> None:
        """Add the outputs of `payload`, tagged with `run`, in the caller's transaction."""
        ...


def write_computed(
    case: Case, stage: SplitStage, call_id: int, inputs_key: str, computed: Computed
) -> StageOutcome:
    """Replace the stage's earlier output of the same engine version with `computed`."""
    with case.session() as session:
        run = start_run(session, call_id, stage.info(), inputs_key, computed.outcome)
        if computed.outcome.status == "done":
            stage.write(session, call_id, computed.payload, run)
    return computed.outcome


def compute_and_write(case: Case, stage: SplitStage, call_id: int) -> StageOutcome:
    """`Stage.run` for split stages: compute, then write outputs and the run row together."""
    with case.session() as session:
        inputs_key = stage.inputs(session, call_id)
    return write_computed(case, stage, call_id, inputs_key, stage.compute(case, call_id))
