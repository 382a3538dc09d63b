"""A decoder that dies (segfault) on one file costs that file, never the batch.

The crash is real: the worker process kills itself with SIGSEGV (hook
EARSHOT_TEST_CRASH_FILE) after storing the file, where FFmpeg would run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from earshot.ingest.isolated import CRASH_HOOK_ENV
from earshot.ingest.runner import IngestOptions, ingest
from earshot.store.case import Case
from earshot.store.custody import verify_chain
from earshot.store.failures import list_failures
from earshot.store.models import Batch, Call, CustodyEntry, WorkingCopyRow

from ..conftest import write_audio

GOOD = 6


def _inbox(root: Path) -> Path:
    inbox = root / "inbox"
    for i in range(GOOD):
        write_audio(inbox / f"call-{i:02d}.wav", seconds=1.0, seed=i, freqs=(300.0 + 40 * i,))
    write_audio(inbox / "crash-me.wav", seconds=1.0, seed=99)
    # The file that used to segfault PyAV: a plain 8-channel PCM WAV.
    t = np.arange(8000) / 8000
    pcm = np.stack([0.3 * np.sin(2 * np.pi * (200 + 60 * c) * t) for c in range(8)])
    with wave.open(str(inbox / "eight-channels.wav"), "wb") as wav:
        wav.setnchannels(8)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes((pcm.T * 32767).astype("<i2").tobytes())
    return inbox


def _check_case(case: Case) -> None:
    with case.session() as session:
        calls = {c.source_file: c for c in session.execute(select(Call)).scalars()}
        assert sorted(calls) == sorted(
            [f"call-{i:02d}.wav" for i in range(GOOD)] + ["eight-channels.wav"]
        )
        assert calls["eight-channels.wav"].channels == 8
        copies = session.execute(
            select(WorkingCopyRow).where(
                WorkingCopyRow.sha256 == calls["eight-channels.wav"].sha256
            )
        ).scalars()
        assert len(list(copies)) == 8
        failures = list_failures(session)
        assert [Path(f.path).name for f in failures] == ["crash-me.wav"]
        assert "decoder crashed" in failures[0].message
        assert "SIGSEGV" in failures[0].message
        assert failures[0].sha256 is not None  # stored before the crash: custody knows it
        failed = session.execute(
            select(CustodyEntry).where(CustodyEntry.action == "ingest-failed")
        ).scalars()
        assert [Path(e.path or "").name for e in failed] == ["crash-me.wav"]
        assert {b.status for b in session.execute(select(Batch)).scalars()} == {"done"}
        assert verify_chain(session)[1] == []


@pytest.mark.parametrize("workers", [1, 2])
def test_a_decoder_crash_is_that_files_failure(
    tmp_path: Path, case: Case, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    from earshot.ingest import runner

    monkeypatch.setattr(runner, "POOL_MIN_BYTES", 0)  # really use `workers` processes
    monkeypatch.setenv(CRASH_HOOK_ENV, "crash-me.wav")
    inbox = _inbox(tmp_path)
    report = ingest(case, [inbox], IngestOptions(workers=workers))
    assert report.count("new") == GOOD + 1
    assert report.count("failed") == 1
    # Results keep the input order whatever process finished first.
    assert [Path(f.path).name for f in report.files] == sorted(p.name for p in inbox.iterdir())
    _check_case(case)

    again = ingest(case, [inbox], IngestOptions(workers=workers))  # crashes again, still ends
    assert again.count("unchanged") == GOOD + 1 and again.count("failed") == 1
    _check_case(case)


def test_the_cli_batch_survives_the_crash(tmp_path: Path, case_dir: Path) -> None:
    inbox = _inbox(tmp_path)
    env = {**os.environ, CRASH_HOOK_ENV: "crash-me.wav", "EARSHOT_OPERATOR": "tester"}
    done = subprocess.run(
        [sys.executable, "-m", "earshot", "ingest", str(case_dir), str(inbox), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != -11, done.stderr  # the command itself did not segfault
    report = json.loads(done.stdout)
    assert report["counts"]["new"] == GOOD + 1 and report["counts"]["failed"] == 1
    with Case.open(case_dir) as case:
        _check_case(case)


def test_a_decoder_that_hangs_is_stopped(
    tmp_path: Path, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    from earshot.ingest import isolated

    monkeypatch.setattr(isolated, "FILE_TIME_LIMIT", 3.0)
    monkeypatch.setenv(isolated.HANG_HOOK_ENV, "crash-me.wav")
    report = ingest(case, [_inbox(tmp_path)])
    assert report.count("new") == GOOD + 1 and report.count("failed") == 1
    with case.session() as session:
        (failure,) = list_failures(session)
    assert Path(failure.path).name == "crash-me.wav"
    assert "still busy with this file after 3 s and was stopped" in failure.message
