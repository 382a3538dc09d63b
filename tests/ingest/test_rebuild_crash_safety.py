"""SIGKILL in the middle of `earshot verify --rebuild-working`, then the same command again:
every altered working copy is rebuilt, none twice, rows and files agree, verify passes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from earshot.ingest.runner import ingest
from earshot.store.case import Case
from earshot.store.models import CustodyEntry, WorkingCopyRow
from earshot.store.verify import verify_case

from ..conftest import write_audio

FILES = 24


@pytest.mark.slow
def test_sigkill_mid_rebuild_then_rerun(tmp_path: Path, case_dir: Path) -> None:
    inbox = tmp_path / "inbox"
    for i in range(FILES):
        write_audio(inbox / f"call-{i:02d}.wav", seconds=20.0, seed=i, freqs=(300.0 + i,))
    with Case.open(case_dir) as case:
        ingest(case, [inbox])
        with case.session() as session:
            rows = list(session.execute(select(WorkingCopyRow)).scalars())
        for row in rows:  # silence 4 s of every working copy
            path = case.media.root / row.path
            data = bytearray(path.read_bytes())
            data[44 + 32000 : 44 + 32000 + 128000] = bytes(128000)
            path.write_bytes(bytes(data))
        assert len(verify_case(case).working_altered) == FILES

    command = [sys.executable, "-m", "earshot", "verify", str(case_dir), "--rebuild-working"]
    env = {**os.environ, "EARSHOT_OPERATOR": "tester"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rebuilt = 0
    with Case.open(case_dir) as case:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with case.session() as session:
                rebuilt = session.execute(
                    select(func.count())
                    .select_from(CustodyEntry)
                    .where(CustodyEntry.action == "working-rebuilt")
                ).scalar_one()
            if rebuilt >= 3:
                break
            time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert 3 <= rebuilt < FILES, f"the kill did not land mid-rebuild ({rebuilt} of {FILES})"
    time.sleep(0.5)

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    with Case.open(case_dir) as case:
        report = verify_case(case)
        assert report.ok and report.working_problems == []
        with case.session() as session:
            assert session.execute(
                select(func.count()).select_from(WorkingCopyRow)
            ).scalar_one() == len(rows)
            entries = list(
                session.execute(
                    select(CustodyEntry.sha256).where(CustodyEntry.action == "working-rebuilt")
                ).scalars()
            )
    # Each original rebuilt once; one whose copies were put back in the instant before the
    # kill, and so match their hash again, needs no second rebuild (its entry is lost).
    assert len(entries) == len(set(entries))
    assert set(entries) <= {r.sha256 for r in rows}
    assert len(entries) >= FILES - 1
