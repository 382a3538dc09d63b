"""Tamper-evident audit log: who viewed, played, searched, edited, verified, exported.

Entries live in the case database (table ``audit_log``), sealed exactly like the
custody log (:mod:`earshot.store.hashchain`): hash-chained in RFC 8785 canonical form,
an HMAC per entry under the case's chain key (kept outside the database), triggers that
refuse UPDATE, DELETE and an INSERT without a MAC, and ``audit.anchor`` in the case
directory holding the chain's length and head hash, rewritten after every commit.
:func:`verify_audit` detects an altered, removed, reordered or forged entry and a
removed tail.

What the anchor does not protect against: someone who can write the database, the
case directory *and* read the chain key can rewrite the whole chain consistently. Keep
the head printed by ``earshot audit anchor`` somewhere they cannot reach to catch that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .hashchain import append_link, verify_links
from .models import utcnow
from .security_models import AuditEntry

__all__ = [
    "ACTIONS",
    "ANCHOR_NAME",
    "AuditReport",
    "audit",
    "audit_content",
    "audit_entries",
    "entry_as_dict",
    "verify_audit",
]

ANCHOR_NAME = "audit.anchor"
# The actions Earshot itself records; other values are accepted (a plugin may add its own).
ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "view_call",
    "play",
    "search",
    "edit",
    "verify",
    "export",
    "publish",
    "grant",
    "revoke",
)


def audit_content(entry: AuditEntry) -> dict[str, Any]:
    """The fields an entry's hash covers (with ``prev``), as JSON values."""
    return {
        "at": entry.at.isoformat(timespec="microseconds"),
        "user": entry.user,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "detail": entry.detail,
    }


def audit(
    session: Session,
    *,
    user: str,
    action: str,
    object_type: str,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction; the anchor follows on commit.

    `detail` must be JSON-serializable and must never hold secrets (passwords, keys,
    session tokens): the log is shown to every case admin.
    """
    at = utcnow()
    append_link(
        session,
        AuditEntry,
        lambda prev: AuditEntry(
            at=at,
            user=user,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=dict(detail or {}),
            prev_hash=prev,
        ),
        audit_content,
    )


@dataclass
class AuditReport:
    """Outcome of :func:`verify_audit`."""

    entries: int = 0
    problems: list[str] = field(default_factory=list)
    head_hash: str | None = None
    anchor_checked: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "problems": self.problems,
            "head_hash": self.head_hash,
            "anchor_checked": self.anchor_checked,
        }


def verify_audit(session: Session) -> AuditReport:
    """Detect altered, removed, reordered or forged entries and a removed tail."""
    chain = verify_links(session, AuditEntry, audit_content)
    return AuditReport(
        entries=chain.count,
        problems=[
            f"audit entry {p.entry_id}: {p.message}" if p.entry_id is not None else p.message
            for p in chain.problems
        ],
        head_hash=chain.last_hash if chain.count else None,
        anchor_checked=chain.anchor_checked,
    )


def audit_entries(
    session: Session,
    *,
    limit: int | None = None,
    user: str | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    """Entries oldest first; `limit` keeps the newest N (after the filters)."""
    query = select(AuditEntry)
    if user is not None:
        query = query.where(AuditEntry.user == user)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if limit is not None:
        newest = list(session.execute(query.order_by(AuditEntry.id.desc()).limit(limit)).scalars())
        return newest[::-1]
    return list(session.execute(query.order_by(AuditEntry.id)).scalars())


def entry_as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "user": entry.user,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "detail": entry.detail,
        "hash": entry.entry_hash,
    }
