"""Encryption at rest of a case's media: AES-256-GCM in authenticated 1 MiB chunks.

Why chunks: originals can be gigabytes, so files are encrypted and decrypted as a
stream with bounded memory, and a reader can seek (a working-copy window) without
decrypting the whole file. Each chunk is sealed separately; its nonce is the file's
random 8-byte prefix plus the chunk counter, and its associated data binds the file
header, a context string (what the file is), the counter and a last-chunk flag. So a
changed byte, a dropped, repeated or reordered chunk, a truncated file and a file
moved to another working-copy path all fail authentication.

File layout (format 1)::

    header  16 bytes: b"ESENC" | format (1) | log2 chunk size (20) | 0 | nonce prefix (8)
    chunks  ciphertext + 16-byte tag each; all but the last hold exactly 1 MiB

Keys: each case has a random 256-bit data key. ``earshot.toml`` holds only that key
wrapped (AES-GCM) under a key-encryption key, plus how to derive the latter: scrypt
of a passphrase (salt and cost stored) or the contents of a key file. The wrapped key
doubles as the key check: a wrong passphrase fails to unwrap it, before anything is
read or written.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..errors import ConfigError
from .errors import KeyRequiredError, PasswordPolicyError, TamperedMediaError, WrongKeyError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "CHUNK",
    "DecryptingReader",
    "KdfParams",
    "KeySource",
    "MediaCipher",
    "create_encryption",
    "create_key_file",
    "database_key",
    "is_encrypted_file",
    "unlock",
]

MAGIC = b"ESENC"
FORMAT = 1
CHUNK_LOG2 = 20
CHUNK = 1 << CHUNK_LOG2
TAG = 16
HEADER_SIZE = 16
KEY_BYTES = 32
MIN_PASSPHRASE = 12
_WRAP_AAD = b"earshot case data key v1:"
_MAX_CHUNKS = 1 << 32


@dataclass(frozen=True)
class KdfParams:
    """scrypt cost: N=2^17, r=8 (128 MiB, a fraction of a second); stored per case."""

    n: int = 1 << 17
    r: int = 8
    p: int = 1


@dataclass(frozen=True, repr=False)
class KeySource:
    """Where the key comes from: a passphrase or a key file (never both)."""

    passphrase: str | None = None
    key_file: Path | None = None

    def __repr__(self) -> str:  # never show a passphrase in a traceback or log
        return (
            f"KeySource(passphrase={'***' if self.passphrase else None}, key_file={self.key_file})"
        )

    @classmethod
    def from_environment(cls, key_file: str = "") -> KeySource | None:
        """``key_file`` (setting ``key_file``/EARSHOT_KEY_FILE), else EARSHOT_PASSPHRASE."""
        if key_file:
            return cls(key_file=Path(key_file).expanduser())
        passphrase = os.environ.get("EARSHOT_PASSPHRASE")
        return cls(passphrase=passphrase) if passphrase else None


def create_key_file(path: Path) -> None:
    """Write a fresh random key (64 hex digits) to a new file readable only by its owner."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot create key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(os.urandom(KEY_BYTES).hex() + "\n")


def _read_key_file(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyRequiredError(
            f"cannot read key file {path} ({exc.strerror}); check EARSHOT_KEY_FILE / --key-file"
        ) from None
    if len(raw) == KEY_BYTES:
        return raw
    text = raw.strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"key file {path} must hold exactly {KEY_BYTES} bytes, raw or as 64 hex digits "
            "(`earshot init --encrypt --key-file NEWFILE` makes one)"
        )
    return key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError:
        raise ConfigError(f"earshot.toml [encryption] {what} is not valid base64") from None


def _kek(source: KeySource, section: dict[str, Any]) -> bytes:
    kdf = section.get("kdf")
    if kdf == "key-file":
        if source.key_file is None:
            raise KeyRequiredError(
                "this case is encrypted with a key file: set EARSHOT_KEY_FILE=PATH "
                "(or the setting key_file)"
            )
        return _read_key_file(source.key_file)
    if kdf == "scrypt":
        if not source.passphrase:
            raise KeyRequiredError(
                "this case is encrypted with a passphrase: export EARSHOT_PASSPHRASE "
                "(or enter it when asked)"
            )
        try:
            n, r, p = int(section["n"]), int(section["r"]), int(section["p"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError("earshot.toml [encryption]: scrypt n, r, p missing") from None
        salt = _unb64(section.get("salt"), "salt")
        return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(
            source.passphrase.encode("utf-8")
        )
    raise ConfigError(f"earshot.toml [encryption]: unknown kdf {kdf!r}; upgrade Earshot")


def create_encryption(
    source: KeySource, case_id: str, *, kdf: KdfParams | None = None
) -> tuple[dict[str, Any], MediaCipher]:
    """A new data key for case `case_id`: the ``[encryption]`` config section and its cipher."""
    section: dict[str, Any] = {"format": FORMAT, "cipher": "AES-256-GCM", "chunk": CHUNK}
    if source.key_file is not None:
        section["kdf"] = "key-file"
    elif source.passphrase:
        if len(source.passphrase) < MIN_PASSPHRASE:
            raise PasswordPolicyError(
                f"passphrase too short: use at least {MIN_PASSPHRASE} characters"
            )
        params = kdf or KdfParams()
        section.update(kdf="scrypt", salt=_b64(os.urandom(16)), n=params.n, r=params.r, p=params.p)
    else:
        raise KeyRequiredError("encryption needs a passphrase or a key file")
    kek = _kek(source, section)
    data_key = os.urandom(KEY_BYTES)
    nonce = os.urandom(12)
    wrapped = AESGCM(kek).encrypt(nonce, data_key, _WRAP_AAD + case_id.encode())
    section["wrapped_key"] = _b64(nonce + wrapped)
    return section, MediaCipher(data_key)


def unlock(section: dict[str, Any], case_id: str, source: KeySource | None) -> MediaCipher:
    """The case's cipher; :class:`WrongKeyError` if `source` does not unwrap its key."""
    if section.get("format") != FORMAT or section.get("cipher") != "AES-256-GCM":
        raise ConfigError(
            f"earshot.toml [encryption]: unsupported format {section.get('format')!r} / "
            f"cipher {section.get('cipher')!r}; upgrade Earshot"
        )
    if source is None:
        how = "EARSHOT_KEY_FILE" if section.get("kdf") == "key-file" else "EARSHOT_PASSPHRASE"
        raise KeyRequiredError(f"this case is encrypted; set {how} to open it")
    kek = _kek(source, section)
    blob = _unb64(section.get("wrapped_key"), "wrapped_key")
    try:
        data_key = AESGCM(kek).decrypt(blob[:12], blob[12:], _WRAP_AAD + case_id.encode())
    except (InvalidTag, ValueError):
        what = "key file" if section.get("kdf") == "key-file" else "passphrase"
        raise WrongKeyError(
            f"wrong {what}: it does not unlock this case; nothing was read or written"
        ) from None
    return MediaCipher(data_key)


def database_key(cipher: MediaCipher, case_id: str) -> bytes:
    """The SQLCipher key of the case database, derived from the case data key.

    HKDF-SHA256 with its own label, so the database and the media never share a key
    and neither reveals the other; bound to the case id like the wrapped key.
    """
    info = b"earshot case database v1 " + case_id.encode()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(
        cipher.key
    )


def is_encrypted_file(path: Path) -> bool:
    """Whether `path` starts with the encrypted-media header."""
    with path.open("rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


class MediaCipher:
    """Seals and opens media files with one case data key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a media key is 32 bytes")
        self.key = key
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "MediaCipher(<key hidden>)"

    @staticmethod
    def sealed_size(plain_size: int) -> int:
        """Size of the encrypted file for `plain_size` bytes of plaintext."""
        chunks = max(1, -(-plain_size // CHUNK))
        return HEADER_SIZE + plain_size + chunks * TAG

    def encrypt_stream(
        self,
        src: BinaryIO,
        dst: BinaryIO,
        *,
        context: str,
        on_plain: Callable[[bytes], None] | None = None,
    ) -> int:
        """Encrypt all of `src` into `dst`; `on_plain` sees each plaintext chunk. Returns size."""
        prefix = os.urandom(8)
        header = MAGIC + bytes([FORMAT, CHUNK_LOG2, 0]) + prefix
        dst.write(header)
        size = 0
        counter = 0
        current = _read_full(src, CHUNK)
        while True:
            following = _read_full(src, CHUNK) if len(current) == CHUNK else b""
            last = not following
            if on_plain is not None:
                on_plain(current)
            dst.write(self._seal(header, context, counter, current, last=last))
            size += len(current)
            if last:
                return size
            counter += 1
            if counter >= _MAX_CHUNKS:
                raise ValueError("file too large for one encrypted stream (4 PiB)")
            current = following

    def encrypt_file(self, src: Path, dst: Path, *, context: str) -> None:
        with src.open("rb") as fin, dst.open("wb") as fout:
            self.encrypt_stream(fin, fout, context=context)
            fout.flush()
            os.fsync(fout.fileno())

    def open(self, path: Path, *, context: str) -> DecryptingReader:
        """A seekable, buffered plaintext view of the encrypted file at `path`."""
        return DecryptingReader(path, self, context)

    def iter_plain(self, path: Path, *, context: str) -> Iterator[bytes]:
        """Every plaintext chunk in order, authenticating all of them (truncation included)."""
        with DecryptingReader(path, self, context) as reader:
            for index in range(reader.chunk_count):
                yield reader.chunk(index)

    def _nonce(self, header: bytes, counter: int) -> bytes:
        return header[8:16] + counter.to_bytes(4, "big")

    def _aad(self, header: bytes, context: str, counter: int, *, last: bool) -> bytes:
        return header + context.encode("utf-8") + counter.to_bytes(8, "big") + bytes([last])

    def _seal(
        self, header: bytes, context: str, counter: int, plain: bytes, *, last: bool
    ) -> bytes:
        aad = self._aad(header, context, counter, last=last)
        return self._aead.encrypt(self._nonce(header, counter), plain, aad)

    def _open_chunk(
        self, header: bytes, context: str, counter: int, sealed: bytes, *, last: bool
    ) -> bytes:
        aad = self._aad(header, context, counter, last=last)
        return self._aead.decrypt(self._nonce(header, counter), sealed, aad)


def _read_full(src: BinaryIO, size: int) -> bytes:
    """Read exactly `size` bytes unless the stream ends (zip members return short reads)."""
    parts: list[bytes] = []
    wanted = size
    while wanted:
        block = src.read(wanted)
        if not block:
            break
        parts.append(block)
        wanted -= len(block)
    return b"".join(parts)


class DecryptingReader(io.RawIOBase):
    """Read-only, seekable plaintext of one encrypted media file; one chunk cached."""

    def __init__(self, path: Path, cipher: MediaCipher, context: str) -> None:
        super().__init__()
        self.name = str(path)
        self._cipher = cipher
        self._context = context
        self._fh = path.open("rb")
        try:
            self._header = self._fh.read(HEADER_SIZE)
            if (
                len(self._header) != HEADER_SIZE
                or self._header[:5] != MAGIC
                or self._header[5] != FORMAT
                or self._header[6] != CHUNK_LOG2
            ):
                raise self._tampered("its header is not an Earshot encrypted-media header")
            body = os.fstat(self._fh.fileno()).st_size - HEADER_SIZE
            self.chunk_count = max(1, -(-body // (CHUNK + TAG)))
            last_sealed = body - (self.chunk_count - 1) * (CHUNK + TAG)
            if last_sealed < TAG:
                raise self._tampered("it is truncated")
            self.size = (self.chunk_count - 1) * CHUNK + last_sealed - TAG
        except BaseException:
            self._fh.close()
            raise
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def _tampered(self, why: str, index: int | None = None) -> TamperedMediaError:
        where = f" (chunk {index})" if index is not None else ""
        return TamperedMediaError(
            f"{self._context or self.name}: encrypted media fails authentication{where}: {why}; "
            "it was altered, truncated or swapped; restore it from a backup"
        )

    def chunk(self, index: int) -> bytes:
        """Decrypted chunk `index` (authenticated)."""
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        self._fh.seek(HEADER_SIZE + index * (CHUNK + TAG))
        sealed = self._fh.read(CHUNK + TAG)
        last = index == self.chunk_count - 1
        try:
            plain = self._cipher._open_chunk(self._header, self._context, index, sealed, last=last)
        except InvalidTag:
            raise self._tampered("authentication tag mismatch", index) from None
        self._cached = (index, plain)
        return plain

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self.size:
            index, within = divmod(self._pos, CHUNK)
            plain = self.chunk(index)
            take = min(len(view) - done, len(plain) - within)
            view[done : done + take] = plain[within : within + take]
            done += take
            self._pos += take
        return done

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
            self._cached = None
        super().close()
