"""The case's chain key: the secret behind each log entry's HMAC, kept outside the database.

Why: a hash chain proves that entries were not changed *after* they were written, but
anyone who can write to the database can append an entry that chains correctly. Every
entry therefore also carries ``entry_mac`` = HMAC-SHA256 under a 256-bit key that lives
in a file, not in the database: by default ``chain.key`` in the case directory (mode
0600), or wherever the ``chain_key_file`` setting points (e.g. a folder the database
server and its administrators cannot read). Whoever can write the database but cannot
read this file cannot forge an entry that ``earshot verify`` / ``earshot audit verify``
accept.

The key is created with the case (or when an older case is upgraded). If it goes
missing while entries carrying a MAC exist, nothing is appended and nothing is created
in its place: :class:`ChainKeyError` says to restore it from a backup.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..errors import ChainKeyError

__all__ = [
    "KEY_NAME",
    "ChainKeyError",
    "create_chain_key",
    "entry_mac",
    "read_chain_key",
    "resolve_key_path",
]

KEY_NAME = "chain.key"
_KEY_BYTES = 32
_MAC_LABEL = b"earshot chain entry v2\x00"


def resolve_key_path(case_dir: Path, setting: str) -> Path:
    """The key file: the ``chain_key_file`` setting if given (``~`` expanded; a relative
    path is taken from the case directory, wherever the command runs), else
    ``chain.key`` in the case directory."""
    if not setting:
        return Path(case_dir) / KEY_NAME
    path = Path(setting).expanduser()
    return path if path.is_absolute() else Path(case_dir) / path


def read_chain_key(path: Path) -> bytes | None:
    """The key in `path` (64 hex digits), None if the file does not exist."""
    try:
        raw = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChainKeyError(f"cannot read the chain key {path} ({exc})") from None
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        key = b""
    if len(key) != _KEY_BYTES:
        raise ChainKeyError(
            f"{path} is not a chain key (64 hex digits expected); restore it from a backup"
        )
    return key


def create_chain_key(path: Path) -> bytes:
    """A new random key written to `path` with mode 0600; an existing file is kept."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = read_chain_key(path)
        if existing is None:  # removed between the two calls
            raise ChainKeyError(f"{path} vanished while it was being created") from None
        return existing
    except OSError as exc:
        raise ChainKeyError(
            f"cannot create the chain key {path} ({exc.strerror}); check the folder's "
            "permissions or the chain_key_file setting"
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
        fh.flush()
        with contextlib.suppress(OSError):
            os.fsync(fh.fileno())
    return key


def entry_mac(key: bytes, table: str, entry_hash: str) -> str:
    """HMAC-SHA256 over the table name and the entry's hash (which covers its content
    and, through ``prev``, every entry before it)."""
    message = _MAC_LABEL + table.encode("ascii") + b"\x00" + entry_hash.encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
