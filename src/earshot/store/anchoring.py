"""Heads of the case's logs, to be kept outside the case, and exports for independent checks.

Why: the anchor files catch a shortened log, but whoever can write the database, the
case directory and read the chain key can rewrite everything consistently. A head
kept elsewhere (printed by ``earshot audit anchor``, pasted into a notebook, a signed
message, another server, or timestamped by an RFC 3161 authority) catches that too:
the chain's entry at that length must still have that hash.

The statement is RFC 8785 canonical JSON, so its SHA-256 (what a timestamp authority
signs) is reproducible from the printed text by any JCS implementation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import rfc8785
from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import audit_content, verify_audit
from .custody import custody_content, verify_custody
from .hashchain import ChainResult, chain_head
from .models import CaseInfo, CustodyEntry, utcnow
from .security_models import AuditEntry

__all__ = ["LogHead", "LogName", "Statement", "export_log", "log_statement"]


class LogName(StrEnum):
    """The case's sealed logs."""

    AUDIT = "audit"
    CUSTODY = "custody"


_MODELS: dict[LogName, tuple[Any, Callable[[Any], Mapping[str, Any]]]] = {
    LogName.AUDIT: (AuditEntry, audit_content),
    LogName.CUSTODY: (CustodyEntry, custody_content),
}


@dataclass(frozen=True)
class LogHead:
    """One log's length and newest entry's hash, and whether the log verified."""

    log: LogName
    length: int
    head: str | None
    problems: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"length": self.length, "head": self.head}


@dataclass(frozen=True)
class Statement:
    """What ``earshot audit anchor`` prints: the case, the time and both logs' heads."""

    case_id: str
    at: datetime
    heads: tuple[LogHead, ...]

    @property
    def ok(self) -> bool:
        return not any(h.problems for h in self.heads)

    @property
    def problems(self) -> list[str]:
        return [f"{h.log} log: {p}" for h in self.heads for p in h.problems]

    def as_dict(self) -> dict[str, Any]:
        """The statement itself (what is kept and timestamped): no verdicts, only facts."""
        return {
            "earshot_anchor": 1,
            "case_id": self.case_id,
            "at": self.at.isoformat(timespec="seconds"),
            **{h.log.value: h.as_dict() for h in self.heads},
        }

    def canonical(self) -> bytes:
        """RFC 8785 bytes of :meth:`as_dict`."""
        return rfc8785.dumps(self.as_dict())

    def digest(self) -> bytes:
        """SHA-256 of :meth:`canonical`: the message imprint of a timestamp request."""
        return hashlib.sha256(self.canonical()).digest()


def _problems(result: ChainResult, label: str) -> tuple[str, ...]:
    return tuple(
        f"{label} entry {p.entry_id}: {p.message}" if p.entry_id is not None else p.message
        for p in result.problems
    )


def log_statement(session: Session) -> Statement:
    """Verify both logs and state their heads (the heads as stored, even if broken)."""
    case_id = session.execute(
        select(CaseInfo.value).where(CaseInfo.key == "case_id")
    ).scalar_one_or_none()
    audit_report = verify_audit(session)
    custody = verify_custody(session)
    heads = []
    for log, problems in (
        (LogName.AUDIT, tuple(audit_report.problems)),
        (LogName.CUSTODY, _problems(custody, "custody")),
    ):
        length, head = chain_head(session, _MODELS[log][0])
        heads.append(LogHead(log, length, head, problems))
    return Statement(case_id=case_id or "", at=utcnow(), heads=tuple(heads))


def export_log(session: Session, log: LogName) -> Iterator[dict[str, Any]]:
    """Every entry, oldest first, as ``scripts/verify_chain.py`` reads it: the content the
    hash covers, ``prev_hash``, ``entry_hash`` and ``entry_mac`` (None for old entries)."""
    model, content = _MODELS[LogName(log)]
    for entry in session.execute(select(model).order_by(model.id)).scalars():
        yield {
            "log": LogName(log).value,
            "id": entry.id,
            "content": dict(content(entry)),
            "prev_hash": entry.prev_hash,
            "entry_hash": entry.entry_hash,
            "entry_mac": entry.entry_mac,
        }
