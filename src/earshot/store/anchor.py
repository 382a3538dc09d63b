"""Anchors: each hash-chained log's head hash and length, kept in a file beside the database.

Why: a chain whose newest entries were deleted is still a valid chain. After every
committed append, ``<log>.anchor`` in the case directory (``custody.anchor``,
``audit.anchor``) records the chain's length and the hash of its last entry; verifying
then fails if the log is shorter than that, or if the entry at that position is no
longer the one recorded. A log *longer* than its anchor is normal (another server
sharing a PostgreSQL database appended); entries appended outside Earshot are caught by
their HMAC instead (:mod:`earshot.store.chainkey`).

``legacy`` is how many leading entries were written before entries carried a MAC
(cases made by older Earshot): only those may lack one.

An anchor only moves forward over the entry it recorded: if that entry is gone or
changed when Earshot appends next (someone deleted the newest entries), the anchor
stays where it was, so that normal work afterwards does not paper over the removal.

Format 1 (older audit anchors) held only the newest entry's id and hash; it is still
read, and replaced by format 2 at the next append.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

__all__ = [
    "Anchor",
    "anchor_name",
    "read_anchor",
    "schedule_anchor",
    "write_anchor",
]

FORMAT = 2
_PENDING_KEY = "earshot_anchor_pending"


@dataclass(frozen=True)
class Anchor:
    """What an anchor file holds. ``unreadable`` when it was altered into nonsense."""

    length: int
    head: str
    legacy: int = 0
    format: int = FORMAT
    last_id: int | None = None  # the id of the entry at `length` (the newest when written)
    unreadable: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "length": self.length,
            "head": self.head,
            "legacy": self.legacy,
            "last_id": self.last_id,
        }


def anchor_name(table: str) -> str:
    """``custody_log`` -> ``custody.anchor``."""
    return table.removesuffix("_log") + ".anchor"


def read_anchor(path: Path) -> Anchor | None:
    """The anchor in `path`; None if there is none."""
    with contextlib.suppress(FileNotFoundError):
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
            if int(data.get("format", 1)) == 1:
                return Anchor(
                    length=-1,
                    head=str(data["last_hash"]),
                    format=1,
                    last_id=int(data["last_id"]),
                )
            last_id = data.get("last_id")
            anchor = Anchor(
                length=int(data["length"]),
                head=str(data["head"]),
                legacy=int(data["legacy"]),
                last_id=None if last_id is None else int(last_id),
            )
            if anchor.length < 0 or anchor.legacy < 0 or anchor.legacy > anchor.length:
                raise ValueError(anchor)
            return anchor
        except (ValueError, KeyError, TypeError, AttributeError):
            return Anchor(length=-1, head="", unreadable=True)
    return None


def write_anchor(case_dir: Path, table: str, anchor: Anchor) -> None:
    """Record `anchor`, unless a concurrent writer already recorded a longer chain."""
    name = anchor_name(table)
    path = Path(case_dir) / name
    # Owner-only like every file of the case, whatever the umask.
    lock_fd = os.open(Path(case_dir) / (name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(lock_fd, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = read_anchor(path)
            if (
                current is not None
                and current.format == FORMAT
                and not current.unreadable
                and current.length >= anchor.length
            ):
                return
            tmp = path.with_name(name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(anchor.as_dict()) + "\n")
            os.replace(tmp, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def schedule_anchor(session: Session, table: str, anchor: Anchor) -> None:
    """Write `anchor` when the session's transaction commits; forget it on rollback."""
    case_dir = session.info.get("case_dir")
    if case_dir is None:
        return
    pending: dict[str, Anchor] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = {}
        event.listen(session, "after_commit", _write_pending)
        event.listen(session, "after_rollback", _drop_pending)
    pending[table] = anchor


def _drop_pending(session: Session) -> None:
    pending = session.info.get(_PENDING_KEY)
    if pending:
        pending.clear()


def _write_pending(session: Session) -> None:
    pending = session.info.get(_PENDING_KEY)
    if not pending:
        return
    case_dir = Path(session.info["case_dir"])
    for table, anchor in list(pending.items()):
        write_anchor(case_dir, table, anchor)
    pending.clear()
