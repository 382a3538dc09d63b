"""An encrypted case: no audio and no transcript in the clear, verify, wrong and missing keys."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from earshot.audio import read_working
from earshot.errors import AudioDecodeError, CaseError
from earshot.ingest.runner import IngestOptions, ingest
from earshot.security.crypto import KeySource, create_key_file, is_encrypted_file
from earshot.security.errors import KeyRequiredError, TamperedMediaError, WrongKeyError
from earshot.store.case import Case
from earshot.store.models import (
    CustodyEntry,
    Original,
    Phone,
    Segment,
    Sighting,
    WorkingCopyRow,
)
from earshot.store.verify import verify_case

SAMPLE = Path(str(files("earshot") / "data" / "sample"))
CALLS = ["call01.wav", "call01.vtt", "call02.flac", "call04.mp3", "call04.srt"]


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A case made with --encrypt and a key file, holding a few sample calls."""
    root = tmp_path_factory.mktemp("enc")
    key = root / "case.key"
    create_key_file(key)
    inbox = root / "inbox"
    inbox.mkdir()
    for name in CALLS:
        (inbox / name).write_bytes((SAMPLE / "calls" / name).read_bytes())
    with Case.init(root / "case", encryption=KeySource(key_file=key)) as case:
        report = ingest(case, [inbox], IngestOptions(metadata=SAMPLE / "calls.csv", workers=2))
    assert report.as_dict()["counts"]["new"] == 3, report.errors
    yield root / "case", key


def _open(case_dir: Path, key: Path) -> Case:
    return Case.open(case_dir, key=KeySource(key_file=key))


def _media_files(case_dir: Path) -> list[Path]:
    return [p for p in (case_dir / "media").rglob("*") if p.is_file()]


def _windows(data: bytes, count: int = 6, size: int = 64) -> list[bytes]:
    step = max(1, (len(data) - size) // count)
    return [data[i : i + size] for i in range(step // 2, len(data) - size, step)][:count]


def test_no_audio_in_the_clear(encrypted: tuple[Path, Path]) -> None:
    case_dir, key = encrypted
    probes: list[bytes] = []
    for name in CALLS:
        probes += _windows((SAMPLE / "calls" / name).read_bytes())
    with _open(case_dir, key) as case, case.session() as session:
        rows = list(session.execute(select(WorkingCopyRow)).scalars())
        assert len(rows) >= 3
        for row in rows:
            with case.media.open_working(row.path) as fh:
                pcm = fh.read()
            assert pcm[:4] == b"RIFF"
            probes += _windows(pcm[44:])
    assert len(probes) > 40 and all(len(p) == 64 for p in probes)
    media = _media_files(case_dir)
    stored = [p for p in media if p.name != "info.json"]
    assert stored and all(is_encrypted_file(p) for p in stored)
    for path in media:
        blob = path.read_bytes()
        assert not any(p in blob for p in probes), f"{path} holds audio in the clear"
    assert list((case_dir / "tmp").iterdir()) == []


def test_decrypting_read_paths(encrypted: tuple[Path, Path]) -> None:
    case_dir, key = encrypted
    with _open(case_dir, key) as case, case.session() as session:
        row = session.execute(select(WorkingCopyRow).order_by(WorkingCopyRow.id)).scalars().first()
        assert row is not None
        samples = read_working(case.media.open_working(row.path))
        assert len(samples) == row.frames and float(np.abs(samples).max()) > 0.05
        window = read_working(case.media.open_working(row.path), offset=1.0, duration=0.5)
        assert np.array_equal(window, samples[16000:24000])
        with pytest.raises(AudioDecodeError, match="open_working"):
            read_working(case.media.root / row.path)
        original = session.execute(select(Original).where(Original.kind == "audio")).scalars()
        first = next(iter(original))
        with case.media.open_original(first.sha256) as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == first.sha256
        # Sidecars were decrypted for parsing: their transcripts are in the database.
        assert session.execute(select(func.count(Segment.id))).scalar_one() > 5


def test_verify_with_key_passes_and_wrong_key_writes_nothing(
    encrypted: tuple[Path, Path], tmp_path: Path
) -> None:
    case_dir, key = encrypted
    with _open(case_dir, key) as case:
        report = verify_case(case)
    assert report.ok and report.checked >= 5
    wrong = tmp_path / "wrong.key"
    create_key_file(wrong)
    before = {
        p: (p.stat().st_mtime_ns, p.stat().st_size) for p in case_dir.rglob("*") if p.is_file()
    }
    with pytest.raises(WrongKeyError, match="wrong key file"):
        _open(case_dir, wrong)
    after = {
        p: (p.stat().st_mtime_ns, p.stat().st_size) for p in case_dir.rglob("*") if p.is_file()
    }
    assert before == after


def test_without_a_key_the_case_does_not_open(
    encrypted: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    case_dir, _key = encrypted
    monkeypatch.delenv("EARSHOT_PASSPHRASE", raising=False)
    monkeypatch.delenv("EARSHOT_KEY_FILE", raising=False)
    with pytest.raises(KeyRequiredError, match="set EARSHOT_KEY_FILE to open it"):
        Case.open(case_dir)


def test_database_holds_nothing_in_the_clear(encrypted: tuple[Path, Path]) -> None:
    """Transcript words, names and phone numbers are in the case, but in no file of it."""
    case_dir, key = encrypted
    with _open(case_dir, key) as case, case.session() as session:
        texts = [s.text for s in session.execute(select(Segment)).scalars()]
        numbers = list(session.execute(select(Phone.e164)).scalars())
        files_in = list(session.execute(select(Sighting.original_path)).scalars())
    words = {w for t in texts for w in t.split() if len(w) >= 6}
    probes = [w.encode() for w in sorted(words)[:40]] + [n.encode() for n in numbers]
    probes += [Path(f).name.encode() for f in files_in]
    assert len(probes) > 20 and numbers
    stored = [p for p in case_dir.rglob("*") if p.is_file() and p.name != "earshot.toml"]
    database = [p for p in stored if p.name.startswith("earshot.db")]
    assert database and not database[0].read_bytes().startswith(b"SQLite format 3")
    for path in stored:
        blob = path.read_bytes()
        leaked = [p for p in probes if p in blob]
        assert not leaked, f"{path.name} holds {leaked[:3]} in the clear"


def test_a_case_encrypted_before_database_encryption_still_opens(tmp_path: Path) -> None:
    """Media-only encryption (no ``database`` in [encryption]): metadata opens keyless."""
    import tomllib

    import tomli_w

    from earshot.security.crypto import create_encryption

    key = tmp_path / "k"
    create_key_file(key)
    with Case.init(tmp_path / "case") as case:
        case_id = case.case_id
    config_file = tmp_path / "case" / "earshot.toml"
    config = tomllib.loads(config_file.read_text(encoding="utf-8"))
    config["encryption"], _ = create_encryption(KeySource(key_file=key), case_id)
    assert "database" not in config["encryption"]
    config_file.write_text(tomli_w.dumps(config), encoding="utf-8")
    with Case.open(tmp_path / "case") as case, case.session() as session:
        assert session.execute(select(func.count(CustodyEntry.id))).scalar_one() >= 1
        with pytest.raises(KeyRequiredError):
            case.media.unlock()
    with Case.open(tmp_path / "case", key=KeySource(key_file=key)) as case:
        case.media.unlock()


def test_tampered_ciphertext_byte_is_caught(tmp_path: Path) -> None:
    key = tmp_path / "k"
    create_key_file(key)
    with Case.init(tmp_path / "case", encryption=KeySource(key_file=key)) as case:
        ingest(case, [SAMPLE / "calls" / "call01.wav"], IngestOptions(workers=1))
        with case.session() as session:
            original = session.execute(select(Original)).scalars().one()
            wc = session.execute(select(WorkingCopyRow)).scalars().first()
        assert wc is not None
        path = case.media.original_path(original.sha256)
        path.chmod(0o644)
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x40
        path.write_bytes(bytes(raw))
        report = verify_case(case)
        assert [p.problem for p in report.problems] == ["altered"]
        # A working copy moved to another path fails too (the path is bound in).
        moved = case.media.root / "working" / "moved.wav"
        os.link(case.media.root / wc.path, moved)
        with pytest.raises(TamperedMediaError):
            case.media.open_working("working/moved.wav").read()
        with pytest.raises(CaseError, match="not a file of this case"):
            case.media.open_working("../earshot.toml")


def test_passphrase_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARSHOT_PASSPHRASE", "четыре слова для ключа")
    with Case.init(tmp_path / "case", encryption=KeySource(passphrase="четыре слова для ключа")):
        pass
    config = (tmp_path / "case" / "earshot.toml").read_text(encoding="utf-8")
    assert "[encryption]" in config and "четыре" not in config
    with Case.open(tmp_path / "case") as case:
        case.media.unlock()
    monkeypatch.setenv("EARSHOT_PASSPHRASE", "пять слов для другого ключа")
    with pytest.raises(WrongKeyError, match="wrong passphrase"):
        Case.open(tmp_path / "case")
