"""Archives as they arrive: zips made on Windows, .7z, .rar and .tar.* (through libarchive).

Members are read in place, one stream at a time, never extracted by name, so a zip-slip path
cannot write anywhere; such members, bombs and links are still refused and reported, because
an archive that tries any of them is itself suspicious. The same rules hold for every kind:

* a member name that is absolute, climbs out with ``..`` or holds a NUL is refused;
* a declared total over ``zip_max_total_bytes`` refuses the archive, a member compressed more
  than ``zip_max_ratio`` to one is refused, and a stream that yields more than it declared is
  cut off with an error (declared sizes can lie);
* symbolic and hard links are never followed: each is a failure naming the link and target.

Zip member names carry no encoding unless the archiver set the UTF-8 flag; Windows archivers
write the DOS code page, for Russian Windows cp866. Names are therefore decoded by the flag,
else as UTF-8, else as cp866 — and a name that reads as none of them is flagged, not guessed.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from ..errors import UnsafeArchiveError
from .encodings import plausibility

__all__ = [
    "ARCHIVE_SUFFIXES",
    "ArchiveMember",
    "decode_zip_name",
    "is_archive",
    "list_members",
    "open_member",
    "unsafe_member",
]

ARCHIVE_SUFFIXES: tuple[str, ...] = (
    ".zip",
    ".7z",
    ".rar",
    ".tar",
    ".tgz",
    ".tbz",
    ".tbz2",
    ".txz",
    ".tar.gz",
    ".tar.bz2",
    ".tar.xz",
    ".tar.zst",
)
_UTF8_FLAG = 0x800


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(suffix) for suffix in ARCHIVE_SUFFIXES)


def _is_zip(path: str) -> bool:
    return path.lower().endswith(".zip")


@dataclass(frozen=True)
class ArchiveMember:
    """One entry of an archive: the name to open it by, the name to show, what it is."""

    member: str  # as the reading library names it (open by this)
    name: str  # decoded for people and for matching call records
    size: int
    compressed: int | None
    link: str | None = None  # "a symbolic link" / "a hard link": never its target
    encrypted: bool = False
    name_problem: str | None = None  # the name could not be decoded with confidence
    is_dir: bool = False
    special: str | None = None  # "a device", "a FIFO (named pipe)", "a socket"


def decode_zip_name(info: zipfile.ZipInfo) -> tuple[str, str | None]:
    """(the member's name, a note if it is garbled): UTF-8 flag, else UTF-8, else cp866."""
    if info.flag_bits & _UTF8_FLAG:
        name = info.filename
        return name, (
            "its name is not valid UTF-8 despite the UTF-8 flag" if "\ufffd" in name else None
        )
    raw = info.filename.encode("cp437")  # zipfile decoded flag-less names as cp437
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    name = raw.decode("cp866")
    letters = "".join(part for part in PurePosixPath(name).parts)
    if plausibility(letters) is None:
        return name, (
            "its name is neither UTF-8 nor plausible cp866 (DOS Cyrillic); it is shown as "
            "cp866 — check it against the sender's list of files"
        )
    return name, None


def unsafe_member(name: str) -> str | None:
    if "\x00" in name:
        return "contains a NUL byte"
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        return "is an absolute path"
    if ".." in PurePosixPath(normalized).parts:
        return "climbs out of the archive with '..'"
    return None


def _special_kind(mode: int) -> str | None:
    """What a member whose type bits say "not a file, link or folder" is, or None.

    Some zip writers set permission bits only (no file type): that is a plain file.
    """
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return None


def _zip_members(path: Path) -> list[ArchiveMember]:
    out = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name, problem = decode_zip_name(info)
            mode = info.external_attr >> 16
            # A link member's data is its target path: never read, never shown.
            link = "a symbolic link" if stat.S_ISLNK(mode) else None
            # Some writers set permission bits only (no file type): a plain file.
            special = _special_kind(mode)
            out.append(
                ArchiveMember(
                    member=info.filename,
                    name=name,
                    size=info.file_size,
                    compressed=info.compress_size,
                    link=link,
                    encrypted=bool(info.flag_bits & 0x1),
                    name_problem=problem,
                    is_dir=info.is_dir(),
                    special=special,
                )
            )
    return out


def _libarchive_members(path: Path) -> list[ArchiveMember]:
    import libarchive

    out = []
    with libarchive.file_reader(str(path)) as reader:
        for entry in reader:
            name = str(entry.pathname or "")
            link = None
            if entry.issym:
                link = "a symbolic link"
            elif entry.islnk:
                link = "a hard link"
            out.append(
                ArchiveMember(
                    member=name,
                    name=name,
                    size=int(entry.size or 0),
                    compressed=None,
                    link=link,
                    is_dir=bool(entry.isdir),
                    special=_special_kind(
                        stat.S_IFIFO
                        if entry.isfifo
                        else stat.S_IFSOCK
                        if entry.issock
                        else stat.S_IFCHR
                        if entry.isblk or entry.ischr
                        else 0
                    ),
                )
            )
    return out


def list_members(path: Path) -> list[ArchiveMember]:
    """Every entry of the archive at `path`; OSError/zipfile/libarchive errors propagate."""
    return _zip_members(path) if _is_zip(str(path)) else _libarchive_members(path)


def archive_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "this archive is unreadable"."""
    import libarchive

    return (zipfile.BadZipFile, OSError, EOFError, libarchive.ArchiveError)


def check_total(path: Path, members: list[ArchiveMember], max_total: int, shown: str) -> None:
    total = sum(m.size for m in members if not m.is_dir)
    kind = "zip" if _is_zip(str(path)) else "archive"
    if total > max_total:
        raise UnsafeArchiveError(
            f"{shown}: refused as a {kind} bomb: it declares {total:,} bytes uncompressed, "
            f"over the limit of {max_total:,} (EARSHOT_ZIP_MAX_TOTAL_BYTES)"
        )
    if not _is_zip(str(path)) and total > 1_000_000:
        packed = max(path.stat().st_size, 1)
        if total / packed > 1000:  # no per-member sizes: judge the archive as a whole
            raise UnsafeArchiveError(
                f"{shown}: refused as an archive bomb: {total:,} bytes from {packed:,} "
                "(more than 1000:1)"
            )


def member_problem(member: ArchiveMember, where: str, max_ratio: float) -> str | None:
    """Why `member` is refused (one line naming it), or None if it may be read."""
    reason = unsafe_member(member.member) or (
        unsafe_member(member.name) if member.name != member.member else None
    )
    if reason:
        return f"{where}: refused: the member name {reason}"
    if member.link is not None:
        return (
            f"{where}: refused: the member is {member.link}, not a regular file; links in "
            "archives are never followed or read — ask the sender for the file itself"
        )
    if member.special:
        return f"{where}: refused: the member is {member.special}, not a regular file"
    if member.compressed is not None:
        ratio = member.size / max(member.compressed, 1)
        if member.size > 1_000_000 and ratio > max_ratio:
            return (
                f"{where}: refused as a zip bomb: compression ratio {ratio:,.0f}:1 "
                f"exceeds {max_ratio:,.0f}:1 (EARSHOT_ZIP_MAX_RATIO)"
            )
    if member.encrypted:
        return (
            f"{where}: the member is encrypted; unpack the archive with its password and "
            "ingest the folder"
        )
    return None


class _Blocks(io.RawIOBase):
    """A libarchive entry's blocks as a readable stream, cut off past its declared size."""

    def __init__(self, blocks: Iterator[bytes], limit: int, where: str) -> None:
        self._blocks = blocks
        self._buffer = b""
        self._read = 0
        self._limit = limit
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import libarchive

        while not self._buffer:
            try:
                self._buffer = bytes(next(self._blocks))
            except StopIteration:
                return 0
            except libarchive.ArchiveError as exc:  # damaged data, a wrong or missing password
                raise OSError(f"the archive cannot be read here: {exc}") from None
        count = min(len(buffer), len(self._buffer))
        buffer[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        self._read += count
        if self._read > self._limit:
            raise UnsafeArchiveError(
                f"{self._where}: yields more bytes than the archive declared; refused"
            )
        return count


@contextmanager
def open_member(archive: str, member: str) -> Iterator[BinaryIO]:
    """Open one member of `archive` for reading (zip by zipfile, the rest by libarchive)."""
    if _is_zip(archive):
        with zipfile.ZipFile(archive) as zf, zf.open(member) as fh:
            yield fh  # type: ignore[misc]
        return
    import libarchive

    # The worker that reads members knows OSError, not libarchive's own error: translate it,
    # so a damaged or encrypted member is one failure and never takes the batch down.
    try:
        with libarchive.file_reader(archive) as reader:
            for entry in reader:
                if entry.pathname == member and entry.isreg:
                    raw = _Blocks(iter(entry.get_blocks()), int(entry.size or 0), member)
                    yield io.BufferedReader(raw)
                    return
    except libarchive.ArchiveError as exc:
        raise OSError(f"the archive cannot be read: {exc}") from None
    raise FileNotFoundError(f"{archive}!{member}: no such member")
