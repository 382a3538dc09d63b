"""Working copies are evidence too: hashed when made, checked before use and by `verify`.

Every stage and every published clip hears the working copies, not the original; a copy
silenced or spliced on disk would otherwise flow into transcripts and clips whose
provenance names the untouched original. So each copy's SHA-256 (of the plaintext WAV) is
stored when it is made; audio is read only through :func:`read_checked`, which refuses a
copy that no longer matches, and :func:`check_working_copies` re-hashes them all for
`earshot verify`. A refused copy is rebuilt from the original by
``earshot verify CASE --rebuild-working`` (:func:`earshot.ingest.rebuild.rebuild_working`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import WorkingCopyAlteredError
from ..security.errors import TamperedMediaError
from .case import Case
from .media import CHUNK, MediaStore
from .models import Call, Sighting, WorkingCopyRow

__all__ = [
    "REBUILD_ADVICE",
    "WorkingProblem",
    "call_working_copies",
    "check_working_copies",
    "hash_working",
    "read_checked",
]

REBUILD_ADVICE = "rebuild it from the original with `earshot verify CASE --rebuild-working`"


def call_working_copies(session: Session, call_id: int) -> list[WorkingCopyRow] | None:
    """The working copies of call `call_id`, one per channel in channel order (None: no
    such call; empty: not decoded yet)."""
    call = session.get(Call, call_id)
    if call is None:
        return None
    query = (
        select(WorkingCopyRow)
        .where(WorkingCopyRow.sha256 == call.sha256)
        .order_by(WorkingCopyRow.channel)
    )
    return list(session.execute(query).scalars())


def hash_working(media: MediaStore, path: str) -> str | None:
    """SHA-256 of a working copy's plaintext now; None if missing, "undecryptable" if a
    sealed copy fails authentication (never a SHA-256, so it never matches)."""
    if not (media.root / path).is_file():
        return None
    digest = hashlib.sha256()
    try:
        with media.open_working(path) as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except TamperedMediaError:
        return "undecryptable"
    return digest.hexdigest()


def read_checked(media: MediaStore, path: str, expected: str | None, *, what: str) -> bytes:
    """The plaintext bytes of a working copy, refused if they differ from `expected`.

    `expected` None (a copy made before hashes were kept) is read unchecked. `what` names
    the copy for the message (e.g. "call 12 (intercept.wav), channel 0").
    """
    try:
        with media.open_working(path) as handle:
            data = handle.read()
    except TamperedMediaError as exc:
        raise WorkingCopyAlteredError(
            f"{what}: the working copy {path} fails decryption (altered on disk); {REBUILD_ADVICE}"
        ) from exc
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise WorkingCopyAlteredError(
            f"{what}: the working copy {path} was altered since it was made (its SHA-256 no "
            f"longer matches); refused; {REBUILD_ADVICE}"
        )
    return data


@dataclass(frozen=True)
class WorkingProblem:
    """A working copy that `verify` found missing, altered, or never hashed."""

    sha256: str  # of the original
    channel: int
    path: str  # relative to the media root
    problem: str  # missing | altered | unhashed
    received_as: tuple[str, ...]

    @property
    def message(self) -> str:
        names = ", ".join(self.received_as) or "?"
        where = f"media/{self.path} (channel {self.channel} of {names})"
        if self.problem == "missing":
            return f"MISSING  working copy {where}: `earshot process` remakes it"
        if self.problem == "unhashed":
            return f"UNHASHED working copy {where}: made before hashes; {REBUILD_ADVICE}"
        return f"ALTERED  working copy {where}: its SHA-256 no longer matches; {REBUILD_ADVICE}"

    def as_dict(self) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "channel": self.channel,
            "path": self.path,
            "problem": self.problem,
            "received_as": list(self.received_as),
        }


def check_working_copies(
    case: Case, *, on_file: Callable[[str], None] | None = None
) -> tuple[int, list[WorkingProblem]]:
    """Re-hash every working copy; returns (copies checked, problems)."""
    with case.session() as session:
        rows = [
            (r.sha256, r.channel, r.path, r.content_sha256)
            for r in session.execute(
                select(WorkingCopyRow).order_by(WorkingCopyRow.sha256, WorkingCopyRow.channel)
            ).scalars()
        ]
        names: dict[str, list[str]] = {}
        for sha, shown in session.execute(select(Sighting.sha256, Sighting.original_path)):
            names.setdefault(sha, []).append(shown)
    problems: list[WorkingProblem] = []
    for sha, channel, path, expected in rows:
        actual = hash_working(case.media, path)
        problem = None
        if actual is None:
            problem = "missing"
        elif expected is None:
            problem = "unhashed"
        elif actual != expected:
            problem = "altered"
        if problem is not None:
            problems.append(WorkingProblem(sha, channel, path, problem, tuple(names.get(sha, []))))
        if on_file:
            on_file(path)
    return len(rows), problems
