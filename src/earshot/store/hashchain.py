"""A generic hash chain over an append-only table (custody log, audit log).

Why one helper: both logs must be tamper-evident in exactly the same way. Each entry
stores ``prev_hash`` (the hash of the entry before it, or :data:`GENESIS`) and
``entry_hash`` = SHA-256 of canonical JSON of its content plus ``prev_hash``. Changing
an entry changes its hash; removing or reordering entries breaks the ``prev_hash``
links. Removing the *last* entries leaves a valid shorter chain: callers that need to
catch that keep an anchor outside the table (see ``earshot.store.audit``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import select, text
from sqlalchemy.orm import Session

__all__ = [
    "GENESIS",
    "ChainEntry",
    "ChainProblem",
    "ChainResult",
    "append_link",
    "chain_digest",
    "verify_links",
]

GENESIS = "0" * 64


class ChainEntry(Protocol):
    """What an entry of a chained ORM class has (columns ``id``, ``prev_hash``, ``entry_hash``)."""

    id: int
    prev_hash: str
    entry_hash: str


# Any ORM class with those columns; checked at run time by SQLAlchemy, not by the type.
E = TypeVar("E")


def chain_digest(prev_hash: str, content: Mapping[str, Any]) -> str:
    """SHA-256 of canonical JSON (sorted keys, UTF-8) of `content` plus ``prev``."""
    body = json.dumps(
        {"prev": prev_hash, **content},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append_link(
    session: Session,
    model: type[E],
    make: Callable[[str], E],
    content: Callable[[E], Mapping[str, Any]],
) -> E:
    """Append ``make(prev_hash)`` with its ``entry_hash`` set, in the caller's transaction.

    On PostgreSQL the table is locked first so two writers never chain onto the same
    predecessor (SQLite serializes writers by itself).
    """
    table: Any = model
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"LOCK TABLE {table.__tablename__} IN SHARE ROW EXCLUSIVE MODE"))
    last = session.execute(
        select(table.entry_hash).order_by(table.id.desc()).limit(1)
    ).scalar_one_or_none()
    entry = make(last or GENESIS)
    linked = cast(ChainEntry, entry)
    linked.entry_hash = chain_digest(linked.prev_hash, content(entry))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    message: str


@dataclass(frozen=True)
class ChainResult:
    """Outcome of walking a chain: entries seen, problems, and the last entry's id and hash."""

    count: int
    problems: list[ChainProblem]
    last_id: int | None
    last_hash: str
    hashes_by_position: dict[int, tuple[int, str]]  # 1-based position -> (id, entry_hash)


def verify_links(
    session: Session,
    model: type[E],
    content: Callable[[E], Mapping[str, Any]],
    *,
    keep_positions: frozenset[int] = frozenset(),
) -> ChainResult:
    """Re-compute every entry's hash in id order and check each link to its predecessor."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    count = 0
    last_id: int | None = None
    kept: dict[int, tuple[int, str]] = {}
    table: Any = model
    for row in session.execute(select(table).order_by(table.id)).scalars():
        entry = cast(ChainEntry, row)
        count += 1
        if entry.prev_hash != prev:
            problems.append(
                ChainProblem(entry.id, "does not follow the entry before it (removed or reordered)")
            )
        if chain_digest(entry.prev_hash, content(row)) != entry.entry_hash:
            problems.append(ChainProblem(entry.id, "content was altered after it was written"))
        prev = entry.entry_hash
        last_id = entry.id
        if count in keep_positions:
            kept[count] = (entry.id, entry.entry_hash)
    return ChainResult(count, problems, last_id, prev, kept)
