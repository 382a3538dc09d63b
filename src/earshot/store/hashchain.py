"""A generic hash chain over an append-only table (custody log, audit log).

Why one helper: both logs must be tamper-evident in exactly the same way.

- Each entry stores ``prev_hash`` (the hash of the entry before it, or :data:`GENESIS`)
  and ``entry_hash`` = SHA-256 of the **RFC 8785 (JCS) canonical JSON** of its content
  plus ``{"prev": prev_hash}``. Changing an entry changes its hash; removing or
  reordering entries breaks the links. ``scripts/verify_chain.py`` re-checks an
  exported log with nothing but this definition.
- Each entry also stores ``entry_mac`` = HMAC-SHA256 of its hash under the case's chain
  key, kept outside the database (:mod:`earshot.store.chainkey`): an entry appended by
  someone who can write the database but not read the key is detected.
- After every committed append the chain's length and head hash go to an anchor file
  (:mod:`earshot.store.anchor`), so removing the newest entries is detected too.

Entries written by older Earshot (before MACs) have ``entry_mac`` NULL and were hashed
with :func:`legacy_digest` (Python's ``json.dumps`` with sorted keys); they are accepted
only as the log's first entries, before any entry with a MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import rfc8785
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..errors import CaseError
from .anchor import Anchor, anchor_name, read_anchor, schedule_anchor
from .chainkey import ChainKeyError, create_chain_key, entry_mac, read_chain_key

__all__ = [
    "CHAINED_TABLES",
    "GENESIS",
    "ChainEntry",
    "ChainProblem",
    "ChainResult",
    "append_link",
    "chain_digest",
    "chain_head",
    "legacy_digest",
    "seal_anchor",
    "verify_links",
]

GENESIS = "0" * 64
CHAINED_TABLES = ("custody_log", "audit_log")
_LOCK_KEYS = {"custody_log": 0x45A5C001, "audit_log": 0x45A5C002}  # pg_advisory_xact_lock


class ChainEntry(Protocol):
    """What an entry of a chained ORM class has (``id``, ``prev_hash``, ``entry_hash``,
    ``entry_mac``)."""

    id: int
    prev_hash: str
    entry_hash: str
    entry_mac: str | None


# Any ORM class with those columns; checked at run time by SQLAlchemy, not by the type.
E = TypeVar("E")


def chain_digest(prev_hash: str, content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of `content` plus ``prev``."""
    try:
        body = rfc8785.dumps({"prev": prev_hash, **content})
    except rfc8785.CanonicalizationError as exc:
        raise CaseError(
            f"a log entry holds a value JSON canonicalisation cannot represent ({exc}); "
            "numbers must be finite and integers within +-2**53"
        ) from None
    return hashlib.sha256(body).hexdigest()


def legacy_digest(prev_hash: str, content: Mapping[str, Any]) -> str:
    """How entries without a MAC (older Earshot) were hashed: sorted-key compact JSON."""
    body = json.dumps(
        {"prev": prev_hash, **content},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _key_path(session: Session) -> Path:
    path = session.info.get("chain_key_file")
    if path is None:
        raise ChainKeyError(
            "this database session has no chain key; open the case with earshot.Case "
            "so that log entries can be sealed"
        )
    return Path(path)


def _any_sealed(session: Session) -> bool:
    for table in CHAINED_TABLES:  # fixed names, never user input
        found = session.execute(
            text(f"SELECT 1 FROM {table} WHERE entry_mac IS NOT NULL LIMIT 1")  # noqa: S608
        ).first()
        if found is not None:
            return True
    return False


def chain_key(session: Session) -> bytes:
    """The case's chain key; created if missing only while no entry carries a MAC yet."""
    path = _key_path(session)
    key = read_chain_key(path)
    if key is not None:
        return key
    if _any_sealed(session):
        raise ChainKeyError(
            f"the chain key {path} is missing, but the case's logs were sealed with it; "
            "restore it from a backup (or copy it from the machine that made the case, "
            "or point the chain_key_file setting at it). Nothing was written."
        )
    return create_chain_key(path)


def append_link(
    session: Session,
    model: type[E],
    make: Callable[[str], E],
    content: Callable[[E], Mapping[str, Any]],
) -> E:
    """Append ``make(prev_hash)`` with its hash and MAC set, in the caller's transaction;
    the log's anchor follows when the transaction commits.

    Writers take a lock first (PostgreSQL: an advisory lock per log; SQLite: the
    database's write lock), so two never chain onto the same predecessor.
    """
    table: Any = model
    name: str = table.__tablename__
    key = chain_key(session)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # A transaction-scoped advisory lock per log, not LOCK TABLE: that needs UPDATE or
        # DELETE rights, which the recommended role for Earshot does not have on the logs.
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEYS.get(name, 0x45A0)}
        )
    elif dialect == "sqlite":
        # pysqlite begins a transaction only at the first write, so the read of the newest
        # hash below could race another writer (two entries on one predecessor: a broken
        # chain). A write that changes nothing takes the database's write lock first.
        session.execute(text("UPDATE case_info SET value = value WHERE 0"))
    last = session.execute(
        select(table.entry_hash).order_by(table.id.desc()).limit(1)
    ).scalar_one_or_none()
    entry = make(last or GENESIS)
    linked = cast(ChainEntry, entry)
    linked.entry_hash = chain_digest(linked.prev_hash, content(entry))
    linked.entry_mac = entry_mac(key, name, linked.entry_hash)
    session.add(entry)
    session.flush()
    _schedule(session, table, name)
    return entry


def _schedule(session: Session, table: Any, name: str) -> None:
    case_dir = session.info.get("case_dir")
    if case_dir is None:
        return
    current = read_anchor(Path(case_dir) / anchor_name(name))
    if current is not None and not _continues(session, table, current):
        return  # the anchored entry is gone or changed: keep the evidence, do not move on
    if current is not None and current.format == 2 and current.last_id is not None:
        # Counting on from the anchor reads a few index entries instead of the whole log
        # (an audit entry is written on every page view).
        newer = session.execute(
            select(func.count()).select_from(table).where(table.id > current.last_id)
        ).scalar_one()
        length = current.length + int(newer)
        head = session.execute(
            select(table.entry_hash).order_by(table.id.desc()).limit(1)
        ).scalar_one_or_none()
    else:
        length, head = chain_head(session, table)
    if head is None:
        return
    if current is not None and current.format == 2:
        legacy = current.legacy
    else:  # first anchor of this format: count the entries older Earshot wrote
        legacy = int(
            session.execute(
                select(func.count()).select_from(table).where(table.entry_mac.is_(None))
            ).scalar_one()
        )
    last_id = session.execute(select(func.max(table.id))).scalar_one()
    schedule_anchor(session, name, Anchor(length=length, head=head, legacy=legacy, last_id=last_id))


def _continues(session: Session, table: Any, anchor: Anchor) -> bool:
    """Whether the entry the anchor recorded is still there, unchanged."""
    if anchor.unreadable:
        return False
    if anchor.last_id is None:
        return True  # nothing to check against (an empty log's anchor)
    stored = session.execute(
        select(table.entry_hash).where(table.id == anchor.last_id)
    ).scalar_one_or_none()
    return stored == anchor.head


def chain_head(session: Session, model: type[E]) -> tuple[int, str | None]:
    """(number of entries, hash of the newest) as stored, without verifying anything."""
    table: Any = model
    length = int(session.execute(select(func.count()).select_from(table)).scalar_one())
    head = session.execute(
        select(table.entry_hash).order_by(table.id.desc()).limit(1)
    ).scalar_one_or_none()
    return length, head


def seal_anchor(session: Session, model: type[E]) -> None:
    """Anchor the log as it stands (after an upgrade), so that entries without a MAC
    appended from now on are caught even before Earshot appends its next entry."""
    table: Any = model
    _schedule(session, table, table.__tablename__)


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int | None  # None: the log as a whole (its anchor, its key)
    message: str


@dataclass
class ChainResult:
    """Outcome of walking a chain: entries seen, problems, and the last entry's id and hash."""

    count: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    last_id: int | None = None
    last_hash: str = GENESIS
    anchor_checked: bool = False
    sealed: int = 0  # entries carrying a MAC

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_links(
    session: Session, model: type[E], content: Callable[[E], Mapping[str, Any]]
) -> ChainResult:
    """Re-compute every entry's hash and MAC in id order, check each link to its
    predecessor, and check the log against its anchor (when the session knows the case)."""
    table: Any = model
    name: str = table.__tablename__
    result = ChainResult()
    case_dir = session.info.get("case_dir")
    anchor = read_anchor(Path(case_dir) / anchor_name(name)) if case_dir is not None else None
    key_path = session.info.get("chain_key_file")
    key = read_chain_key(Path(key_path)) if key_path is not None else None
    legacy_limit = anchor.legacy if anchor is not None and anchor.format == 2 else None
    at_anchor: tuple[int, str] | None = None
    key_reported = False
    prev = GENESIS
    for row in session.execute(select(table).order_by(table.id)).scalars():
        entry = cast(ChainEntry, row)
        result.count += 1
        problems = result.problems
        if entry.prev_hash != prev:
            problems.append(
                ChainProblem(entry.id, "does not follow the entry before it (removed or reordered)")
            )
        if entry.entry_mac is None:
            digest = legacy_digest(entry.prev_hash, content(row))
            if result.sealed or (legacy_limit is not None and result.count > legacy_limit):
                problems.append(
                    ChainProblem(entry.id, "has no MAC: it was written outside Earshot")
                )
        else:
            result.sealed += 1
            digest = chain_digest(entry.prev_hash, content(row))
            if key is None:
                if not key_reported and key_path is not None:
                    problems.append(
                        ChainProblem(
                            None,
                            f"the chain key {key_path} is missing: entries' MACs cannot be "
                            "checked; restore it from a backup",
                        )
                    )
                key_reported = True
            elif not hmac.compare_digest(entry.entry_mac, entry_mac(key, name, entry.entry_hash)):
                problems.append(
                    ChainProblem(
                        entry.id,
                        "has a wrong MAC: it was written outside Earshot (forged), or the "
                        "chain key was replaced",
                    )
                )
        if digest != entry.entry_hash:
            problems.append(ChainProblem(entry.id, "content was altered after it was written"))
        prev = entry.entry_hash
        result.last_id = entry.id
        if anchor is not None and result.count == anchor.length:
            at_anchor = (entry.id, entry.entry_hash)
        if anchor is not None and anchor.format == 1 and entry.id == anchor.last_id:
            at_anchor = (entry.id, entry.entry_hash)
    result.last_hash = prev
    if case_dir is not None:
        result.anchor_checked = True
        result.problems.extend(_anchor_problems(name, anchor, at_anchor, result.count))
    return result


def _anchor_problems(
    table: str, anchor: Anchor | None, at_anchor: tuple[int, str] | None, count: int
) -> list[ChainProblem]:
    name = anchor_name(table)
    if anchor is None:
        if not count:
            return []
        return [
            ChainProblem(
                None,
                f"{name} is missing from the case directory although the log has entries: "
                "it was deleted, possibly to hide removed entries",
            )
        ]
    if anchor.unreadable:
        return [ChainProblem(None, f"{name} is unreadable: it was altered")]
    if anchor.format == 1:
        if at_anchor is None:
            return [
                ChainProblem(
                    anchor.last_id,
                    f"the newest entry recorded in {name} is gone: "
                    "entries were removed from the end of the log",
                )
            ]
        if at_anchor[1] != anchor.head:
            return [
                ChainProblem(
                    anchor.last_id,
                    f"no longer has the hash recorded in {name}: the end of the log was rewritten",
                )
            ]
        return []
    if count < anchor.length:
        return [
            ChainProblem(
                None,
                f"{name} records {anchor.length} entries but the log has {count}: "
                "entries were removed from the end of the log",
            )
        ]
    if anchor.length and (at_anchor is None or at_anchor[1] != anchor.head):
        return [
            ChainProblem(
                at_anchor[0] if at_anchor else None,
                f"is not the entry recorded as number {anchor.length} in {name}: "
                "the end of the log was rewritten",
            )
        ]
    return []
