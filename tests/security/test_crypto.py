"""Chunked AES-256-GCM media files and case keys: round trips, tampering, wrong keys."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from earshot.errors import ConfigError
from earshot.security.crypto import (
    CHUNK,
    KdfParams,
    KeySource,
    MediaCipher,
    create_encryption,
    create_key_file,
    unlock,
)
from earshot.security.errors import (
    KeyRequiredError,
    PasswordPolicyError,
    TamperedMediaError,
    WrongKeyError,
)

FAST_KDF = KdfParams(n=1 << 10, r=8, p=1)
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 5]


@pytest.fixture(scope="module")
def cipher() -> MediaCipher:
    return MediaCipher(os.urandom(32))


def _seal(cipher: MediaCipher, tmp_path: Path, data: bytes, context: str = "x") -> Path:
    sealed = tmp_path / "sealed"
    with sealed.open("wb") as out:
        size = cipher.encrypt_stream(io.BytesIO(data), out, context=context)
    assert size == len(data)
    assert sealed.stat().st_size == MediaCipher.sealed_size(len(data))
    return sealed


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_whole_and_windows(cipher: MediaCipher, tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    sealed = _seal(cipher, tmp_path, data)
    assert b"".join(cipher.iter_plain(sealed, context="x")) == data
    with cipher.open(sealed, context="x") as reader:
        assert reader.size == size
        for start in {0, size // 3, max(0, size - 7), CHUNK - 3}:
            reader.seek(start)
            assert reader.read(10) == data[start : start + 10]
        reader.seek(0)
        assert reader.read() == data
    if size >= 16:
        # Shorter plaintexts can turn up in random ciphertext by chance (a 1-byte
        # one does 1 time in ~8): only a 16-byte run is a meaningful leak check.
        assert data[: min(64, size)] not in sealed.read_bytes()


def _corrupt(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "attack",
    [
        "flip header",
        "flip first chunk",
        "flip last tag",
        "cut at chunk",
        "cut inside",
        "append",
        "swap chunks",
        "other context",
    ],
)
def test_tampering_is_detected(cipher: MediaCipher, tmp_path: Path, attack: str) -> None:
    data = os.urandom(3 * CHUNK + 100)
    sealed = _seal(cipher, tmp_path, data)
    step = CHUNK + 16
    context = "x"
    raw = sealed.read_bytes()
    if attack == "flip header":
        _corrupt(sealed, 10)
    elif attack == "flip first chunk":
        _corrupt(sealed, 16 + 5)
    elif attack == "flip last tag":
        _corrupt(sealed, len(raw) - 1)
    elif attack == "cut at chunk":
        sealed.write_bytes(raw[: 16 + 2 * step])
    elif attack == "cut inside":
        sealed.write_bytes(raw[:-50])
    elif attack == "append":
        sealed.write_bytes(raw + b"\0" * 40)
    elif attack == "swap chunks":
        first, second = raw[16 : 16 + step], raw[16 + step : 16 + 2 * step]
        sealed.write_bytes(raw[:16] + second + first + raw[16 + 2 * step :])
    else:
        context = "y"
    with pytest.raises(TamperedMediaError, match="fails authentication"):
        b"".join(cipher.iter_plain(sealed, context=context))


def test_passphrase_key_unwraps_and_wrong_one_is_refused() -> None:
    section, cipher = create_encryption(
        KeySource(passphrase="лёд и пламя 2023"), "case1", kdf=FAST_KDF
    )
    assert section["kdf"] == "scrypt" and section["n"] == FAST_KDF.n
    assert "лёд" not in repr(section) and cipher.key.hex() not in repr(section)
    assert unlock(section, "case1", KeySource(passphrase="лёд и пламя 2023")).key == cipher.key
    with pytest.raises(WrongKeyError, match="wrong passphrase"):
        unlock(section, "case1", KeySource(passphrase="лёд и пламя 2024"))
    with pytest.raises(WrongKeyError):  # the wrapped key is bound to its case
        unlock(section, "case2", KeySource(passphrase="лёд и пламя 2023"))
    with pytest.raises(KeyRequiredError, match="EARSHOT_PASSPHRASE"):
        unlock(section, "case1", None)
    with pytest.raises(PasswordPolicyError):
        create_encryption(KeySource(passphrase="short"), "case1", kdf=FAST_KDF)
    assert "лёд" not in repr(KeySource(passphrase="лёд и пламя 2023"))


def test_key_files_raw_and_hex(tmp_path: Path) -> None:
    hex_file = tmp_path / "case.key"
    create_key_file(hex_file)
    assert hex_file.stat().st_mode & 0o077 == 0
    section, cipher = create_encryption(KeySource(key_file=hex_file), "c")
    assert section["kdf"] == "key-file"
    assert unlock(section, "c", KeySource(key_file=hex_file)).key == cipher.key
    raw_file = tmp_path / "raw.key"
    raw_file.write_bytes(bytes.fromhex(hex_file.read_text().strip()))
    assert unlock(section, "c", KeySource(key_file=raw_file)).key == cipher.key
    other = tmp_path / "other.key"
    create_key_file(other)
    with pytest.raises(WrongKeyError, match="wrong key file"):
        unlock(section, "c", KeySource(key_file=other))
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(ConfigError, match="64 hex"):
        unlock(section, "c", KeySource(key_file=bad))
    with pytest.raises(KeyRequiredError):
        unlock(section, "c", KeySource(key_file=tmp_path / "missing.key"))
    with pytest.raises(ConfigError):
        create_key_file(hex_file)  # never overwrites a key
