"""Recorded failures: what could not be taken in, kept until it succeeds.

A failure is keyed by what failed (a file path, a CSV row) so that re-running the
same ingest updates it instead of piling up copies, and a later success resolves it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Failure, utcnow

__all__ = ["list_failures", "record_failure", "resolve_failure"]


def record_failure(
    session: Session,
    *,
    key: str,
    stage: str,
    message: str,
    path: str | None = None,
    row: int | None = None,
    sha256: str | None = None,
    batch_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> tuple[Failure, bool]:
    """Insert or refresh a failure; returns (failure, whether it is new or changed)."""
    failure = session.execute(select(Failure).where(Failure.key == key)).scalar_one_or_none()
    now = utcnow()
    if failure is None:
        failure = Failure(
            key=key,
            stage=stage,
            message=message,
            path=path,
            row=row,
            sha256=sha256,
            batch_id=batch_id,
            detail=detail or {},
            first_seen=now,
            last_seen=now,
            count=1,
        )
        session.add(failure)
        session.flush()
        return failure, True
    changed = failure.message != message or failure.resolved_at is not None
    if changed:
        failure.message = message
        failure.sha256 = sha256
        failure.resolved_at = None
        failure.count += 1
        failure.detail = detail or {}
    failure.last_seen = now
    failure.batch_id = batch_id
    return failure, changed


def resolve_failure(session: Session, key: str) -> bool:
    """Mark the failure under `key` resolved; True if there was an open one."""
    failure = session.execute(
        select(Failure).where(Failure.key == key, Failure.resolved_at.is_(None))
    ).scalar_one_or_none()
    if failure is None:
        return False
    failure.resolved_at = utcnow()
    return True


def list_failures(session: Session, *, include_resolved: bool = False) -> list[Failure]:
    query = select(Failure).order_by(Failure.id)
    if not include_resolved:
        query = query.where(Failure.resolved_at.is_(None))
    return list(session.execute(query).scalars())
