"""Content-addressed media: originals stored once under their SHA-256, never altered.

Layout inside the case directory::

    media/originals/ab/cd/abcd...   the bytes exactly as received (read-only)
    media/working/ab/abcd.../ch0.wav  16 kHz PCM working copies, one per channel
    tmp/                              staging; anything here is unfinished work

Every file appears under its final name only by an atomic rename after it is
complete and fsynced, so a crash leaves either nothing or a whole file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..errors import IngestError

__all__ = ["CHUNK", "MediaStore", "TooLargeError", "sha256_file"]

CHUNK = 1024 * 1024


class TooLargeError(IngestError):
    """An input is larger than the configured limit."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MediaStore:
    """The case's media directory."""

    def __init__(self, case_dir: Path) -> None:
        self.root = case_dir / "media"
        self.tmp = case_dir / "tmp"

    def create(self) -> None:
        for sub in (self.root / "originals", self.root / "working", self.tmp):
            sub.mkdir(parents=True, exist_ok=True)

    def clean_tmp(self) -> None:
        """Remove staging left by an interrupted run (nothing there is referenced)."""
        if self.tmp.exists():
            for child in self.tmp.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    # -- originals -----------------------------------------------------------------
    def relative_original(self, sha256: str) -> str:
        return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def original_path(self, sha256: str) -> Path:
        return self.root / self.relative_original(sha256)

    def put_stream(self, stream: BinaryIO, *, max_bytes: int, name: str) -> tuple[str, int]:
        """Copy `stream` into the store while hashing it; returns (sha256, size).

        Reads at most `max_bytes` + 1 bytes, so a lying or endless source cannot
        fill the disk. If the same content is already stored, the copy is dropped.
        """
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix="orig-", dir=self.tmp)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLargeError(
                            f"{name}: larger than the limit of {max_bytes:,} bytes; raise "
                            "EARSHOT_MAX_FILE_BYTES if this file is genuine"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.original_path(sha)
            if final.exists() and final.stat().st_size == size:
                tmp.unlink()
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                tmp.chmod(0o444)
                os.replace(tmp, final)
                _fsync_dir(final.parent)
            return sha, size
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def hash_stored(self, sha256: str) -> str | None:
        """SHA-256 of the stored original now, or None if it is missing."""
        path = self.original_path(sha256)
        if not path.is_file():
            return None
        return sha256_file(path)

    # -- working copies ------------------------------------------------------------
    def relative_working(self, sha256: str) -> str:
        return f"working/{sha256[:2]}/{sha256}"

    def working_dir(self, sha256: str) -> Path:
        return self.root / self.relative_working(sha256)

    @contextmanager
    def staging_dir(self, prefix: str) -> Iterator[Path]:
        """A private directory under tmp/, removed afterwards whatever happens."""
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.tmp))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def publish_working(self, staged: Path, sha256: str, *, marker: str) -> Path:
        """Move a complete staged working-copy directory into place atomically.

        Working copies are content-addressed: when another worker published the same
        content first (two copies of one file in a batch), its complete set (with the
        `marker` file written last) is kept and ours dropped. An incomplete leftover
        is replaced.
        """
        final = self.working_dir(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):
            try:
                os.replace(staged, final)
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                if (final / marker).is_file():
                    return final
                shutil.rmtree(final, ignore_errors=True)
                continue
            _fsync_dir(final.parent)
            return final
        raise OSError(errno.EEXIST, f"cannot publish working copies at {final}")
