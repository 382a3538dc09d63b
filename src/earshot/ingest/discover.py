"""Find the inputs of an ingest: files, folders (recursive) and archives (zip, 7z, rar, tar).

Archives are read in place, member by member, never extracted by name, so a
zip-slip path cannot write anywhere; such members and zip bombs are still refused
and reported, because an archive that tries either is itself suspicious.

Links and special files: every entry is looked at with ``lstat`` and never opened
unless it is a regular file. A symbolic link (in a folder, on the command line, or as a
zip member) is a failure naming the link, never its target (a link named like audio can
point at ``/proc/self/environ`` or a key file). ``follow_symlinks`` follows only links to
regular files that stay inside the folder being ingested; links in archives are never
followed. FIFOs, sockets, devices and anything on /proc, /sys or /dev are refused unread,
and inputs are opened with ``O_NOFOLLOW`` so a file swapped for a link after discovery is
refused too.
"""

from __future__ import annotations

import os
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


_LINK_ADVICE = (
    "copy the file itself into the folder, or pass --follow-symlinks for links that "
    "stay inside the folder being ingested"
)
# Pseudo file systems: "files" there are the kernel's live state (a process environment,
# memory), never recordings. Compared by device as well, so bind mounts are caught too.
_PSEUDO_ROOTS = ("/proc", "/sys", "/dev")


def _pseudo_devices() -> set[int]:
    """The devices of /proc, /sys and /dev where they are mounts of their own (in a bare
    container /dev can sit on the root file system, whose files are ordinary)."""
    try:
        system = Path("/").stat().st_dev
    except OSError:
        system = -1
    devices = set()
    for root in _PSEUDO_ROOTS:
        try:
            device = Path(root).stat().st_dev
        except OSError:
            continue
        if device != system:
            devices.add(device)
    return devices


def _on_pseudo_fs(path: Path, device: int, pseudo: set[int]) -> bool:
    if device in pseudo:
        return True
    resolved = path.resolve()
    return any(resolved.is_relative_to(root) for root in _PSEUDO_ROOTS)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _shown(path: Path) -> str:
    """An entry's absolute path for reports, its folder resolved but never the entry itself
    (a link is named as the link, not as what it points at)."""
    return printable(str(path.parent.resolve() / path.name))


def _link_problem(link: Path, why: str = "a symbolic link") -> DiscoveryProblem:
    """A refused link, named by its own path only: the target is neither read nor shown."""
    where = _shown(link)
    return DiscoveryProblem(where, f"{where}: {why}; not followed and not read; {_LINK_ADVICE}")


def _special_problem(path: Path, mode: int) -> DiscoveryProblem:
    where = _shown(path)
    return DiscoveryProblem(
        where, f"{where}: {_kind(mode)}, not a regular file; refused without reading it"
    )


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
        with _open_regular(Path(item.fs_path or item.display)) as fh:
            yield fh
    else:
        assert item.member is not None
        with open_member(item.archive, item.member) as fh:
            yield fh


def _open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading without following a link and without blocking.

    The file was checked at discovery; this closes the gap until it is read: a link put
    in its place fails (``O_NOFOLLOW``), and a FIFO or device is refused after ``fstat``
    (``O_NONBLOCK`` keeps the open of a FIFO from waiting for a writer).
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the last component is a symbolic link
            raise OSError(exc.errno, "it is a symbolic link; not followed") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"{_kind(mode)}, not a regular file; refused without reading it")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


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


def _walk(
    root: Path, folder: Path, follow: bool, problems: list[DiscoveryProblem]
) -> Iterator[tuple[Path, Path | None]]:
    """(path, followed target) of the regular files under `folder`, sorted, by lstat only.

    `root` is the folder being ingested: the only place a followed link may lead.
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        where = printable(str(folder))
        problems.append(DiscoveryProblem(where, f"{where}: cannot list ({exc.strerror})"))
        return
    for entry in entries:
        child = Path(entry.path)
        if _hidden(entry.name):
            problems.append(_skip(str(child)))
            continue
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as exc:
            where = _shown(child)
            problems.append(DiscoveryProblem(where, f"{where}: cannot read ({exc.strerror})"))
            continue
        if stat.S_ISLNK(mode):
            target = _inside(root, child) if follow else None
            if target is None:
                why = "a symbolic link"
                if follow:  # followed only into this folder, to a regular, visible file
                    inside = printable(str(root.resolve()))
                    why += f" not leading to a visible regular file inside {inside}"
                problems.append(_link_problem(child, why))
            else:
                yield child, target
        elif stat.S_ISDIR(mode):
            yield from _walk(root, child, follow, problems)
        elif stat.S_ISREG(mode):
            yield child, None
        else:
            problems.append(_special_problem(child, mode))


def _inside(root: Path, link: Path) -> Path | None:
    """The regular file `link` leads to, if it stays inside `root`; else None."""
    try:
        target = link.resolve(strict=True)
        mode = target.lstat().st_mode
    except (OSError, RuntimeError):  # dangling, or a loop of links
        return None
    base = root.resolve()
    if not stat.S_ISREG(mode) or not target.is_relative_to(base):
        return None
    if any(_hidden(part) for part in target.relative_to(base).parts):
        return None  # a hidden file is never read, not even through a link
    return target


def discover(
    paths: Iterable[Path],
    *,
    max_zip_total: int,
    max_zip_ratio: float,
    exclude: Iterable[Path] = (),
    follow_symlinks: bool = False,
) -> tuple[list[InputFile], list[DiscoveryProblem]]:
    """Expand `paths` into input files (sorted, each once) and problems found on the way.

    Nothing is opened before ``lstat`` says it is a regular file (see the module docstring
    for links and special files).
    """
    excluded = {p.resolve() for p in exclude}
    items: list[InputFile] = []
    problems: list[DiscoveryProblem] = []
    seen: set[str] = set()
    pseudo = _pseudo_devices()

    def add_file(path: Path, target: Path | None = None) -> None:
        # `path` is a regular file by lstat, or a link followed to `target` (a regular file).
        real = target or path
        try:
            info = real.lstat()
        except OSError as exc:
            where = printable(str(path))
            problems.append(DiscoveryProblem(where, f"{where}: cannot read ({exc.strerror})"))
            return
        if not stat.S_ISREG(info.st_mode):
            problems.append(_special_problem(path, info.st_mode))
            return
        if _on_pseudo_fs(real, info.st_dev, pseudo):
            where = printable(str(path))
            problems.append(
                DiscoveryProblem(
                    where,
                    f"{where}: on a kernel pseudo file system (/proc, /sys, /dev); "
                    "refused without reading it",
                )
            )
            return
        # The shown path is the link's own (its folder resolved), never the target's.
        shown_path = path.parent.resolve() / path.name
        if shown_path.resolve() in excluded:
            return
        if is_archive(path):
            archive = shown_path if target is None else target
            found, trouble = _archive_inputs(
                archive, max_total=max_zip_total, max_ratio=max_zip_ratio
            )
            items.extend(found)
            problems.extend(trouble)
            return
        shown = printable(str(shown_path))
        opened = str(target) if target is not None else str(shown_path)
        items.append(
            InputFile(
                display=shown,
                name=printable(path.name),
                folder=printable(str(shown_path.parent)),
                size=info.st_size,
                fs_path=None if shown == opened else opened,
            )
        )

    for path in paths:
        path = Path(path)
        try:
            mode = path.lstat().st_mode
        except OSError:
            where = printable(str(path))
            problems.append(DiscoveryProblem(where, f"{where}: no such file or folder"))
            continue
        if stat.S_ISLNK(mode):
            # Named on the command line: the folder it is ingested from is its own.
            target = _inside(path.parent, path) if follow_symlinks else None
            if target is None:
                problems.append(_link_problem(path))
            else:
                add_file(path, target)
        elif stat.S_ISDIR(mode):
            if _on_pseudo_fs(path, path.stat().st_dev, pseudo):
                where = printable(str(path))
                problems.append(
                    DiscoveryProblem(
                        where,
                        f"{where}: a kernel pseudo file system (/proc, /sys, /dev); "
                        "refused without reading it",
                    )
                )
                continue
            for file, target in _walk(path, path, follow_symlinks, problems):
                add_file(file, target)
        elif stat.S_ISREG(mode):
            add_file(path)
        else:
            problems.append(_special_problem(path, mode))
    unique: list[InputFile] = []
    for item in items:
        if item.display not in seen:
            seen.add(item.display)
            unique.append(item)
    return unique, problems
