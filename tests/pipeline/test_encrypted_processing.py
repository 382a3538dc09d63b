"""`earshot process` on an encrypted case: same turns as on a plain case, and the decode stage
repairs lost working copies sealed, through ingest's code path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sample_truth import SAMPLE
from sqlalchemy import select

from earshot.pipeline.runner import ProcessOptions, process
from earshot.security.crypto import KeySource, create_key_file, is_encrypted_file
from earshot.store.case import Case
from earshot.store.models import Call, WorkingCopyRow
from earshot.store.speech_models import SpeakerTurnRow

# One mono call (clustered separation) and one stereo call (per-channel VAD).
CALLS = ("call04.mp3", "call04.srt", "call09.wav", "call09.vtt")
STAGES = ("--only", "decode,vad,separate,voiceprint")


def _turns(case: Case) -> dict[str, list[tuple[int | None, float, float, str]]]:
    with case.session() as session:
        files = {c.id: c.source_file for c in session.execute(select(Call)).scalars()}
        rows = session.execute(
            select(SpeakerTurnRow).order_by(SpeakerTurnRow.call_id, SpeakerTurnRow.start)
        ).scalars()
        turns: dict[str, list[tuple[int | None, float, float, str]]] = {}
        for row in rows:
            turns.setdefault(files[row.call_id], []).append(
                (row.channel, row.start, row.end, row.party)
            )
    return turns


def _make_case(tmp_path: Path, name: str, run_cli: Any, inbox: Path, key: Path | None) -> Path:
    case_dir = tmp_path / name
    init = ["init", str(case_dir)] + (["--encrypt", "--key-file", str(key)] if key else [])
    run_cli(*init)
    run_cli("ingest", str(case_dir), str(inbox), "--metadata", str(SAMPLE / "calls.csv"))
    return case_dir


def test_encrypted_case_gives_the_same_turns(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EARSHOT_PASSPHRASE", raising=False)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in CALLS:
        shutil.copy(SAMPLE / "calls" / name, inbox / name)
    key = tmp_path / "case.key"
    create_key_file(key)

    plain_dir = _make_case(tmp_path, "plain", run_cli, inbox, None)
    run_cli("process", str(plain_dir), *STAGES, "--json")
    monkeypatch.setenv("EARSHOT_KEY_FILE", str(key))
    sealed_dir = _make_case(tmp_path, "sealed", run_cli, inbox, key)
    report = json.loads(run_cli("process", str(sealed_dir), *STAGES, "--json").stdout)
    assert not report.get("failed"), report

    with Case.open(plain_dir) as plain, Case.open(sealed_dir, key=KeySource(key_file=key)) as case:
        expected = _turns(plain)
        assert set(expected) == {"call04.mp3", "call09.wav"}
        assert _turns(case) == expected
        with case.session() as session:
            copies = [r.path for r in session.execute(select(WorkingCopyRow)).scalars()]
        # Lose every working copy: the decode stage makes them again, sealed.
        for path in copies:
            (case.media.root / path).unlink()
        assert not any((case.media.root / p).exists() for p in copies)

    # Library use with the key given in code, none in the environment: the worker
    # processes get the data key from their parent (in memory) and open the case with it.
    monkeypatch.delenv("EARSHOT_KEY_FILE")
    with Case.open(sealed_dir, key=KeySource(key_file=key)) as case:
        again = process(
            case,
            ProcessOptions(only=tuple(STAGES[1].split(",")), redo=("decode", "vad"), workers=2),
        )
        assert not again.failed and again.calls == 2, again.as_dict()
        assert again.counts().get("done", 0) >= 4, again.as_dict()
    with Case.open(sealed_dir, key=KeySource(key_file=key)) as case:
        assert all(is_encrypted_file(case.media.root / p) for p in copies)
        assert _turns(case) == expected
        plain_files = [p for p in (case.path / "tmp").rglob("*") if p.is_file()]
        assert plain_files == []  # no decrypted staging left behind
