"""The chain of custody: an append-only, hash-chained log in the case database.

Sealed like the audit log (:mod:`earshot.store.hashchain`): RFC 8785 hashes, an HMAC
per entry under the chain key kept outside the database, and ``custody.anchor`` in the
case directory holding the chain's length and head hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .hashchain import (
    GENESIS,
    ChainProblem,
    ChainResult,
    append_link,
    chain_digest,
    verify_links,
)
from .models import CustodyEntry, utcnow

__all__ = [
    "GENESIS",
    "ChainProblem",
    "append_custody",
    "custody_content",
    "entry_digest",
    "verify_chain",
    "verify_custody",
]


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
    return chain_digest(
        prev_hash,
        {
            "at": at.isoformat(timespec="microseconds"),
            "operator": operator,
            "action": action,
            "sha256": sha256,
            "path": path,
            "detail": detail,
        },
    )


def custody_content(entry: CustodyEntry) -> dict[str, Any]:
    """The fields an entry's hash covers (with ``prev``), as JSON values."""
    return {
        "at": entry.at.isoformat(timespec="microseconds"),
        "operator": entry.operator,
        "action": entry.action,
        "sha256": entry.sha256,
        "path": entry.path,
        "detail": entry.detail,
    }


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
    at = utcnow()
    return append_link(
        session,
        CustodyEntry,
        lambda prev: CustodyEntry(
            at=at,
            operator=operator,
            action=action,
            sha256=sha256,
            path=path,
            detail=dict(detail or {}),
            prev_hash=prev,
        ),
        custody_content,
    )


def verify_custody(session: Session) -> ChainResult:
    """Re-compute every entry's hash and MAC and check the log against its anchor."""
    return verify_links(session, CustodyEntry, custody_content)


def verify_chain(session: Session) -> tuple[int, list[ChainProblem]]:
    """:func:`verify_custody` as (entries checked, problems)."""
    result = verify_custody(session)
    return result.count, result.problems
