"""Content-addressed media: originals stored once under their SHA-256, never altered.

Layout inside the case directory::

    media/originals/ab/cd/abcd...   the bytes exactly as received (read-only)
    media/working/ab/abcd.../ch0.wav  16 kHz PCM working copies, one per channel
    tmp/                              staging; anything here is unfinished work

Every file appears under its final name only by an atomic rename after it is
complete and fsynced, so a crash leaves either nothing or a whole file.

In an encrypted case (``earshot init --encrypt``) originals and working copies are
stored sealed by :mod:`earshot.security.crypto`; originals keep the name of their
*plaintext* SHA-256. Read them only through :meth:`MediaStore.open_original`,
:meth:`MediaStore.copy_original` and :meth:`MediaStore.open_working`, which decrypt
when needed and work the same on plain cases.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..errors import CaseError, TooLargeError
from ..security.crypto import MediaCipher
from ..security.errors import TamperedMediaError

__all__ = ["CHUNK", "ORIGINAL_CONTEXT", "MediaStore", "TooLargeError", "sha256_file"]

CHUNK = 1024 * 1024
# Encryption context of originals (their name is known only once they are hashed).
ORIGINAL_CONTEXT = "original"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _private_dirs(path: Path) -> None:
    """mkdir -p with every folder made 0700 (``parents=True`` would use the umask's mode)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MediaStore:
    """The case's media directory."""

    def __init__(self, case_dir: Path, *, unlock: Callable[[], MediaCipher] | None = None) -> None:
        """`unlock` (encrypted cases only) returns the cipher; called once, when first needed."""
        self.root = case_dir / "media"
        self.tmp = case_dir / "tmp"
        self._unlock = unlock
        self._cipher: MediaCipher | None = None

    # -- encryption ----------------------------------------------------------------
    @property
    def encrypted(self) -> bool:
        return self._unlock is not None

    def cipher(self) -> MediaCipher | None:
        """The case's cipher (None for a plain case); raises a key error if it cannot unlock."""
        if self._unlock is not None and self._cipher is None:
            self._cipher = self._unlock()
        return self._cipher

    def data_key(self) -> bytes | None:
        """The case's data key (None for a plain case), for worker processes: it travels
        through the process pipe, never to disk."""
        cipher = self.cipher()
        return cipher.key if cipher is not None else None

    def unlock(self) -> None:
        """Check the key now, before any work that would write something."""
        self.cipher()

    def create(self) -> None:
        for sub in (self.root / "originals", self.root / "working", self.tmp):
            _private_dirs(sub)

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
            cipher = self.cipher()

            def take(chunk: bytes) -> None:
                nonlocal size
                size += len(chunk)
                if size > max_bytes:
                    raise TooLargeError(
                        f"{name}: larger than the limit of {max_bytes:,} bytes; raise "
                        "EARSHOT_MAX_FILE_BYTES if this file is genuine"
                    )
                digest.update(chunk)

            with os.fdopen(fd, "wb") as out:
                if cipher is not None:
                    cipher.encrypt_stream(stream, out, context=ORIGINAL_CONTEXT, on_plain=take)
                else:
                    while chunk := stream.read(CHUNK):
                        take(chunk)
                        out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.original_path(sha)
            stored_size = size if cipher is None else cipher.sealed_size(size)
            if final.exists() and final.stat().st_size == stored_size:
                tmp.unlink()
            else:
                _private_dirs(final.parent)
                tmp.chmod(0o400)  # read-only, and the owner's only
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
        cipher = self.cipher()
        if cipher is None:
            return sha256_file(path)
        digest = hashlib.sha256()
        try:
            for chunk in cipher.iter_plain(path, context=ORIGINAL_CONTEXT):
                digest.update(chunk)
        except TamperedMediaError:
            return "undecryptable"  # never a SHA-256, so the caller reports it altered
        return digest.hexdigest()

    def open_original(self, sha256: str) -> BinaryIO:
        """The original's bytes as received (decrypted in an encrypted case)."""
        path = self.original_path(sha256)
        cipher = self.cipher()
        if cipher is None:
            return path.open("rb")
        return io.BufferedReader(cipher.open(path, context=ORIGINAL_CONTEXT), CHUNK)

    def copy_original(self, sha256: str, dest: Path) -> None:
        """Put the original's plaintext at `dest` (a hard link when the case is plain).

        In an encrypted case this writes plaintext to disk: `dest` should lie in a
        :meth:`staging_dir` (private, removed afterwards).
        """
        cipher = self.cipher()
        if cipher is None:
            os.link(self.original_path(sha256), dest)
            return
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            for chunk in cipher.iter_plain(self.original_path(sha256), context=ORIGINAL_CONTEXT):
                out.write(chunk)

    # -- working copies ------------------------------------------------------------
    def relative_working(self, sha256: str) -> str:
        return f"working/{sha256[:2]}/{sha256}"

    def working_dir(self, sha256: str) -> Path:
        return self.root / self.relative_working(sha256)

    def open_working(self, path: Path | str) -> BinaryIO:
        """A working copy for reading (e.g. by `earshot.audio.read_working`), decrypted if needed.

        `path` is relative to the media root (as stored in the database) or absolute
        inside it; anything resolving outside the media root is refused.
        """
        full = (self.root / path).resolve()
        root = self.root.resolve()
        if not full.is_relative_to(root):
            raise CaseError(f"{path}: not a file of this case's media; refusing to read it")
        cipher = self.cipher()
        if cipher is None:
            return full.open("rb")
        relative = full.relative_to(root).as_posix()
        return io.BufferedReader(cipher.open(full, context=relative), CHUNK)

    def seal_working(self, staged: Path, relative: str) -> None:
        """Encrypt a staged working copy in place (no-op in a plain case).

        `relative` is its final path under the media root, bound into the encryption so
        a copy moved to another path fails to decrypt.
        """
        cipher = self.cipher()
        if cipher is None:
            return
        sealed = staged.with_name(staged.name + ".sealed")
        try:
            cipher.encrypt_file(staged, sealed, context=relative)
            os.replace(sealed, staged)
        finally:
            sealed.unlink(missing_ok=True)

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
        _private_dirs(final.parent)
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
