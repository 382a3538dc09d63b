"""The chain of custody: an append-only, hash-chained log in the case database."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import CustodyEntry, utcnow

__all__ = ["GENESIS", "ChainProblem", "append_custody", "entry_digest", "verify_chain"]

GENESIS = "0" * 64


def entry_digest(
    *,
    prev_hash: str,
    at: datetime,
    operator: str,
    action: str,
    sha256: str | None,
    path: str | None,
    detail: dict[str, Any],
) -> str:
    """The hash of one entry: canonical JSON of its content plus the previous hash."""
    body = json.dumps(
        {
            "prev": prev_hash,
            "at": at.isoformat(timespec="microseconds"),
            "operator": operator,
            "action": action,
            "sha256": sha256,
            "path": path,
            "detail": detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append_custody(
    session: Session,
    *,
    operator: str,
    action: str,
    sha256: str | None = None,
    path: str | None = None,
    detail: dict[str, Any] | None = None,
) -> CustodyEntry:
    """Append an entry in the caller's transaction (so it commits with the change it records)."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialize writers so two team members never chain onto the same predecessor.
        session.execute(text("LOCK TABLE custody_log IN SHARE ROW EXCLUSIVE MODE"))
    last = session.execute(
        select(CustodyEntry.entry_hash).order_by(CustodyEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    prev = last or GENESIS
    at = utcnow()
    detail = dict(detail or {})
    entry = CustodyEntry(
        at=at,
        operator=operator,
        action=action,
        sha256=sha256,
        path=path,
        detail=detail,
        prev_hash=prev,
        entry_hash=entry_digest(
            prev_hash=prev,
            at=at,
            operator=operator,
            action=action,
            sha256=sha256,
            path=path,
            detail=detail,
        ),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    message: str


def verify_chain(session: Session) -> tuple[int, list[ChainProblem]]:
    """Re-compute every entry's hash; returns (entries checked, problems)."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    count = 0
    for entry in session.execute(select(CustodyEntry).order_by(CustodyEntry.id)).scalars():
        count += 1
        if entry.prev_hash != prev:
            problems.append(
                ChainProblem(entry.id, "does not follow the entry before it (removed or reordered)")
            )
        expected = entry_digest(
            prev_hash=entry.prev_hash,
            at=entry.at,
            operator=entry.operator,
            action=entry.action,
            sha256=entry.sha256,
            path=entry.path,
            detail=entry.detail,
        )
        if expected != entry.entry_hash:
            problems.append(ChainProblem(entry.id, "content was altered after it was written"))
        prev = entry.entry_hash
    return count, problems
