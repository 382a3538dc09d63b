"""Bookkeeping of stage runs: has a stage already run on a call, and replacing its outputs.

A stage's outputs and its ``stage_runs`` row are written in one transaction.  Writing a new
run first removes the earlier machine output of the *same* stage and engine version (same
``info_key``) for the call, so a re-run never duplicates; outputs of other engine versions
stay.  Human edits live in their own rows (``Transcript.source == "human"``) and are never
touched here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..stages import StageInfo, StageOutcome
from ..store.failures import record_failure, resolve_failure
from ..store.models import Call, utcnow
from ..store.speech_models import SpeakerTurnRow, SpeechRegionRow, StageRun, VoiceprintRow
from ..vocab import StageStatus

__all__ = [
    "FINISHED",
    "digest",
    "failure_key",
    "find_run",
    "latest_run",
    "record_failed_run",
    "start_run",
]

FINISHED = (StageStatus.DONE, StageStatus.SKIPPED)
"""Statuses that mean "nothing left to do for these inputs"."""

# Output tables whose rows carry the run that produced them.
_OUTPUT_TABLES = (SpeechRegionRow, SpeakerTurnRow, VoiceprintRow)


def digest(value: Any) -> str:
    """A stable short digest of JSON-able data (inputs keys)."""
    body = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def failure_key(stage: str, call_id: int) -> str:
    """The key of a stage's failure record for a call (one open failure per stage and call)."""
    return f"stage:{stage}:call:{call_id}"


def find_run(
    session: Session, call_id: int, stage: str, info_key: str, inputs_key: str
) -> StageRun | None:
    return session.execute(
        select(StageRun).where(
            StageRun.call_id == call_id,
            StageRun.stage == stage,
            StageRun.info_key == info_key,
            StageRun.inputs_key == inputs_key,
        )
    ).scalar_one_or_none()


def latest_run(
    session: Session, call_id: int, stage: str, statuses: tuple[str, ...] = FINISHED
) -> StageRun | None:
    """The most recent finished run of `stage` on the call (any engine version)."""
    return session.execute(
        select(StageRun)
        .where(StageRun.call_id == call_id, StageRun.stage == stage, StageRun.status.in_(statuses))
        .order_by(StageRun.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def start_run(
    session: Session, call_id: int, info: StageInfo, inputs_key: str, outcome: StageOutcome
) -> StageRun:
    """Replace the earlier runs (and their outputs) of this stage and engine version on the
    call with a new finished run; the caller adds the outputs in the same transaction."""
    old = list(
        session.execute(
            select(StageRun.id).where(
                StageRun.call_id == call_id,
                StageRun.stage == info.stage,
                StageRun.info_key == info.key,
            )
        ).scalars()
    )
    if old:
        for table in _OUTPUT_TABLES:
            session.execute(delete(table).where(table.run_id.in_(old)))
        session.execute(delete(StageRun).where(StageRun.id.in_(old)))
        session.flush()
    run = StageRun(
        call_id=call_id,
        stage=info.stage,
        info_key=info.key,
        info=info.as_dict(),
        inputs_key=inputs_key,
        status=outcome.status,
        error=str(outcome.detail.get("reason")) if outcome.status == StageStatus.SKIPPED else None,
        detail=dict(outcome.detail),
        finished_at=utcnow(),
    )
    session.add(run)
    session.flush()
    resolve_failure(session, failure_key(info.stage, call_id))
    return run


def record_failed_run(
    session: Session,
    call_id: int,
    info: StageInfo,
    inputs_key: str,
    message: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a failure (in ``failures`` and as a failed run); earlier outputs stay."""
    run = find_run(session, call_id, info.stage, info.key, inputs_key)
    if run is not None and run.status in FINISHED:
        return  # another writer finished it meanwhile
    if run is None:
        run = StageRun(
            call_id=call_id,
            stage=info.stage,
            info_key=info.key,
            info=info.as_dict(),
            inputs_key=inputs_key,
            status=StageStatus.FAILED,
        )
        session.add(run)
    run.error = message
    run.detail = dict(detail or {})
    run.finished_at = utcnow()
    call = session.get(Call, call_id)
    record_failure(
        session,
        key=failure_key(info.stage, call_id),
        stage=info.stage[:20],
        message=message,
        path=call.source_path if call else None,
        sha256=call.sha256 if call else None,
        detail={"call_id": call_id, "engine": info.as_dict(), **(detail or {})},
    )
