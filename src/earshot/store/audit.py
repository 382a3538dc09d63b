"""Tamper-evident audit log: who viewed, played, searched, edited, verified, exported.

Entries live in the case database (table ``audit_log``), hash-chained with the same
helper as the custody log (:mod:`earshot.store.hashchain`) and protected by triggers
that refuse UPDATE and DELETE. A chain alone cannot reveal that its *last* entries
were removed (what is left is still a valid chain), so every committed append also
records the newest entry's id and hash in ``audit.anchor`` in the case directory;
:func:`verify_audit` checks that this entry is still there, unchanged.

What the anchor does not protect against: someone who can write both the database
and the case directory can rewrite the whole chain and the anchor consistently. Copy
the head hash (``earshot audit verify CASE --json``) somewhere they cannot reach to
catch that too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .hashchain import append_link, verify_links
from .models import utcnow
from .security_models import AuditEntry

__all__ = [
    "ACTIONS",
    "ANCHOR_NAME",
    "AuditReport",
    "audit",
    "audit_entries",
    "entry_as_dict",
    "verify_audit",
    "write_anchor",
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
_CASE_DIR_KEY = "case_dir"
_PENDING_KEY = "earshot_audit_pending"


def _content(entry: AuditEntry) -> dict[str, Any]:
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
    entry = append_link(
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
        _content,
    )
    case_dir = session.info.get(_CASE_DIR_KEY)
    if case_dir is None:
        return
    if _PENDING_KEY not in session.info:
        event.listen(session, "after_commit", _write_pending_anchor)
        event.listen(session, "after_rollback", _drop_pending_anchor)
    session.info[_PENDING_KEY] = (Path(case_dir), entry.id, entry.entry_hash)


def _drop_pending_anchor(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def _write_pending_anchor(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if pending is not None:
        case_dir, entry_id, entry_hash = pending
        write_anchor(case_dir, entry_id, entry_hash)


def write_anchor(case_dir: Path, entry_id: int, entry_hash: str) -> None:
    """Record the newest committed entry, unless a concurrent writer recorded a newer one."""
    path = case_dir / ANCHOR_NAME
    with (case_dir / (ANCHOR_NAME + ".lock")).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = _read_anchor(path)
            if current is not None and current[0] >= entry_id:
                return
            tmp = path.with_name(ANCHOR_NAME + ".tmp")
            tmp.write_text(
                json.dumps({"format": 1, "last_id": entry_id, "last_hash": entry_hash}) + "\n",
                encoding="utf-8",
            )
            os.replace(tmp, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_anchor(path: Path) -> tuple[int, str] | None:
    with contextlib.suppress(FileNotFoundError):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return int(data["last_id"]), str(data["last_hash"])
        except (ValueError, KeyError, TypeError):
            return (-1, "unreadable")
    return None


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
    """Detect altered, removed or reordered entries, and a removed tail (via the anchor)."""
    case_dir = session.info.get(_CASE_DIR_KEY)
    anchor = _read_anchor(Path(case_dir) / ANCHOR_NAME) if case_dir is not None else None
    chain = verify_links(session, AuditEntry, _content)
    report = AuditReport(entries=chain.count, head_hash=chain.last_hash if chain.count else None)
    report.problems = [f"audit entry {p.entry_id}: {p.message}" for p in chain.problems]
    if case_dir is None:
        return report
    report.anchor_checked = True
    if anchor is None:
        if chain.count:
            report.problems.append(
                f"{ANCHOR_NAME} is missing from the case directory although the log has "
                "entries: it was deleted, possibly to hide removed entries"
            )
        return report
    anchor_id, anchor_hash = anchor
    if anchor_id < 0:
        report.problems.append(f"{ANCHOR_NAME} is unreadable: it was altered")
        return report
    anchored = session.execute(
        select(AuditEntry.entry_hash).where(AuditEntry.id == anchor_id)
    ).scalar_one_or_none()
    if anchored is None:
        report.problems.append(
            f"audit entry {anchor_id}, the newest one recorded in {ANCHOR_NAME}, is gone: "
            "entries were removed from the end of the log"
        )
    elif anchored != anchor_hash:
        report.problems.append(
            f"audit entry {anchor_id} no longer has the hash recorded in {ANCHOR_NAME}: "
            "the end of the log was rewritten"
        )
    return report


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
