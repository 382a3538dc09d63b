"""Find the inputs of an ingest: files, folders (recursive) and archives (zip, 7z, rar, tar).

Archives are read in place, member by member, never extracted by name, so a
zip-slip path cannot write anywhere; such members and zip bombs are still refused
and reported, because an archive that tries either is itself suspicious.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..errors import UnsafeArchiveError
from .archives import (
    archive_errors,
    check_total,
    is_archive,
    list_members,
    member_problem,
    open_member,
)

__all__ = [
    "AUDIO_SUFFIXES",
    "SIDECAR_SUFFIXES",
    "DiscoveryProblem",
    "InputFile",
    "discover",
    "open_input",
    "printable",
]

AUDIO_SUFFIXES = frozenset(
    {
        ".wav",
        ".wave",
        ".flac",
        ".mp3",
        ".ogg",
        ".oga",
        ".opus",
        ".m4a",
        ".aac",
        ".mp4",
        ".3gp",
        ".amr",
        ".awb",
        ".gsm",
        ".au",
        ".aif",
        ".aiff",
        ".caf",
        ".wma",
        ".webm",
        ".mka",
        ".spx",
    }
)
SIDECAR_SUFFIXES = frozenset({".vtt", ".srt", ".json", ".txt"})
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class InputFile:
    """One file to take in; picklable so worker processes can open it."""

    display: str  # what the custody log records: absolute path, or archive!member
    name: str
    folder: str  # files beside each other share a folder key (sidecar matching)
    size: int
    archive: str | None = None  # absolute path of the zip, when inside one
    member: str | None = None
    fs_path: str | None = None  # the real path to open, when `display` had to be escaped

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix.lower()

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem


@dataclass(frozen=True)
class DiscoveryProblem:
    """An input refused (a failure) or, with `skipped`, left out on purpose and reported."""

    path: str
    message: str
    skipped: bool = False
    notice: bool = False  # taken in, but said in the report (a garbled archive member name)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.lower() in _IGNORED_NAMES


def _skip(raw: str) -> DiscoveryProblem:
    path = printable(raw)
    return DiscoveryProblem(
        path,
        f"{path}: hidden or system file skipped; name it explicitly to ingest it",
        skipped=True,
    )


@contextmanager
def open_input(item: InputFile) -> Iterator[BinaryIO]:
    """Open an input for reading, wherever it lives."""
    if item.archive is None:
        with Path(item.fs_path or item.display).open("rb") as fh:
            yield fh
    else:
        assert item.member is not None
        with open_member(item.archive, item.member) as fh:
            yield fh


def printable(text: str) -> str:
    """A file name as text that any database and log can hold.

    Names that are not valid UTF-8 (undecodable bytes arrive as lone surrogates) are
    shown with those bytes escaped as \\xNN, so the record still says exactly what the
    name was while the file itself is opened by its real path.
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _archive_inputs(
    archive: Path, *, max_total: int, max_ratio: float
) -> tuple[list[InputFile], list[DiscoveryProblem]]:
    """The members of a zip, 7z, rar or tar archive (rules in :mod:`.archives`)."""
    items: list[InputFile] = []
    problems: list[DiscoveryProblem] = []
    shown = printable(str(archive))
    try:
        members = [m for m in list_members(archive) if not m.is_dir]
        check_total(archive, members, max_total, shown)
    except UnsafeArchiveError as exc:
        return [], [DiscoveryProblem(shown, str(exc))]
    except archive_errors() as exc:
        kind = "zip" if archive.suffix.lower() == ".zip" else "archive"
        return [], [
            DiscoveryProblem(shown, f"{shown}: unreadable {kind} archive ({exc}); check the copy")
        ]
    for member in members:
        where = f"{shown}!{printable(member.name)}"
        refused = member_problem(member, where, max_ratio)
        if refused:
            problems.append(DiscoveryProblem(where, refused))
            continue
        path = PurePosixPath(member.name.replace("\\", "/"))
        if _hidden(path.name):
            problems.append(_skip(where))
            continue
        if member.name_problem:
            problems.append(DiscoveryProblem(where, f"{where}: {member.name_problem}", notice=True))
        items.append(
            InputFile(
                display=where,
                name=printable(path.name),
                folder=f"{shown}!{path.parent}",
                size=member.size,
                archive=str(archive),
                member=member.member,
            )
        )
    return items, problems


def _walk(root: Path, skipped: list[DiscoveryProblem]) -> Iterator[Path]:
    """Files under `root`, sorted, not following symlinked folders (no loops)."""
    for child in sorted(root.iterdir(), key=lambda p: p.name):
        if _hidden(child.name):
            skipped.append(_skip(str(child)))
        elif child.is_dir() and not child.is_symlink():
            yield from _walk(child, skipped)
        elif child.is_file():
            yield child


def discover(
    paths: Iterable[Path],
    *,
    max_zip_total: int,
    max_zip_ratio: float,
    exclude: Iterable[Path] = (),
) -> tuple[list[InputFile], list[DiscoveryProblem]]:
    """Expand `paths` into input files (sorted, each once) and problems found on the way."""
    excluded = {p.resolve() for p in exclude}
    items: list[InputFile] = []
    problems: list[DiscoveryProblem] = []
    seen: set[str] = set()

    def add_file(path: Path) -> None:
        resolved = path.resolve()
        if resolved in excluded:
            return
        if is_archive(resolved) and resolved.is_file():
            found, trouble = _archive_inputs(
                resolved, max_total=max_zip_total, max_ratio=max_zip_ratio
            )
            items.extend(found)
            problems.extend(trouble)
            return
        try:
            info = resolved.stat()
        except OSError as exc:
            where = printable(str(path))
            problems.append(DiscoveryProblem(where, f"{where}: cannot read ({exc.strerror})"))
            return
        if not stat.S_ISREG(info.st_mode):
            where = printable(str(path))
            problems.append(DiscoveryProblem(where, f"{where}: not a regular file; skipped"))
            return
        shown = printable(str(resolved))
        items.append(
            InputFile(
                display=shown,
                name=printable(resolved.name),
                folder=printable(str(resolved.parent)),
                size=info.st_size,
                fs_path=None if shown == str(resolved) else str(resolved),
            )
        )

    for path in paths:
        path = Path(path)
        if path.is_dir():
            for file in _walk(path, problems):
                add_file(file)
        elif path.exists():
            add_file(path)
        else:
            problems.append(
                DiscoveryProblem(
                    printable(str(path)), f"{printable(str(path))}: no such file or folder"
                )
            )
    unique: list[InputFile] = []
    for item in items:
        if item.display not in seen:
            seen.add(item.display)
            unique.append(item)
    return unique, problems
