"""SIGKILL in the middle of an ingest, then the same command again: the batch completes
with no duplicate and no half-written record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from earshot.security.crypto import KeySource, create_key_file
from earshot.store.case import Case
from earshot.store.custody import verify_chain
from earshot.store.models import Batch, Call, Original, Party, Sighting, WorkingCopyRow
from earshot.store.verify import verify_case

from ..conftest import write_audio

FILES = 48


def _earshot(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "earshot", *map(str, args)]


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_completes(tmp_path: Path, case_dir: Path) -> None:
    _kill_mid_ingest_then_rerun(tmp_path, case_dir)


@pytest.mark.slow
def test_sigkill_mid_ingest_of_an_encrypted_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQLCipher database and its WAL recover from the kill like a plain one."""
    key = tmp_path / "case.key"
    create_key_file(key)
    monkeypatch.setenv("EARSHOT_KEY_FILE", str(key))
    case_dir = tmp_path / "sealed"
    Case.init(case_dir, encryption=KeySource(key_file=key)).close()
    _kill_mid_ingest_then_rerun(tmp_path, case_dir)
    assert not (case_dir / "earshot.db").read_bytes().startswith(b"SQLite format 3")


def _kill_mid_ingest_then_rerun(tmp_path: Path, case_dir: Path) -> None:
    inbox = tmp_path / "inbox"
    for i in range(FILES):
        write_audio(
            inbox / f"call-{i:03d}.wav", seconds=20.0, seed=i, freqs=(300.0 + i,), codec="pcm_mulaw"
        )
    env = {**os.environ, "EARSHOT_OPERATOR": "tester"}
    proc = subprocess.Popen(
        _earshot("ingest", case_dir, inbox, "--workers", "2"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with Case.open(case_dir) as case:
        deadline = time.monotonic() + 120
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            with case.session() as session:
                done = session.execute(select(func.count()).select_from(Call)).scalar_one()
            if done >= 3:
                break
            time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 3 <= done < FILES, f"the kill did not land mid-batch ({done} of {FILES} done)"
    time.sleep(0.5)  # let orphaned workers notice their parent is gone

    rerun = subprocess.run(
        _earshot("ingest", case_dir, inbox, "--workers", "2", "--json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr

    with Case.open(case_dir) as case:
        with case.session() as session:

            def count(model: type) -> int:
                return int(session.execute(select(func.count()).select_from(model)).scalar_one())

            assert count(Call) == FILES
            assert count(Original) == FILES
            assert count(Sighting) == FILES
            assert count(Party) == 2 * FILES
            assert count(WorkingCopyRow) == FILES
            names = session.execute(select(Call.source_file)).scalars().all()
            assert len(set(names)) == FILES
            statuses = [
                b.status for b in session.execute(select(Batch).order_by(Batch.id)).scalars()
            ]
            assert statuses == ["interrupted", "done"]
            _, problems = verify_chain(session)
            assert problems == []
        assert verify_case(case).ok
        assert list(case.media.tmp.iterdir()) == []
        stored = list((case.media.root / "originals").glob("*/*/*"))
        assert len(stored) == FILES  # no stray or partial original left behind
        working = list((case.media.root / "working").glob("*/*"))
        assert len(working) == FILES
