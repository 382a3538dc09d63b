"""A SIGKILL mid-run then a re-run leaves no duplicates; the Ray backend equals the local one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sample_truth import SAMPLE
from sqlalchemy import func, select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.pipeline.runner import ProcessOptions, process
from earshot.store.case import Case
from earshot.store.models import Call
from earshot.store.speech_models import SpeakerTurnRow, SpeechRegionRow, StageRun, VoiceprintRow

STAGES = "decode,vad,separate,voiceprint"


def _count(case_dir: Path) -> int:
    with Case.open(case_dir) as case, case.session() as session:
        return int(session.execute(select(func.count(StageRun.id))).scalar_one())


@pytest.mark.slow
def test_sigkill_then_rerun_has_no_duplicates(case_dir: Path) -> None:
    """On SQLite and PostgreSQL."""
    with Case.open(case_dir) as case:
        ingest(case, [SAMPLE / "calls"], IngestOptions(workers=1))
    command = [sys.executable, "-m", "earshot", "process", str(case_dir), "--only", STAGES]
    env = {**os.environ, "EARSHOT_OPERATOR": "tester"}
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _count(case_dir) < 6 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.1)
    assert child.poll() is None, "the run ended before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    killed_at = _count(case_dir)
    assert 0 < killed_at < 48
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with Case.open(case_dir) as case, case.session() as session:
        calls = session.execute(select(func.count(Call.id))).scalar_one()
        runs = session.execute(select(StageRun.call_id, StageRun.stage, StageRun.status)).all()
        assert len(runs) == len({(c, s) for c, s, _ in runs}) == 4 * calls
        assert {status for _, _, status in runs} == {"done"}
        prints = session.execute(select(VoiceprintRow.call_id, VoiceprintRow.party)).all()
        assert len(prints) == len(set(prints)) == 2 * calls
        # every output row belongs to a run that exists: nothing half-written survived
        for table in (SpeechRegionRow, SpeakerTurnRow, VoiceprintRow):
            orphans = session.execute(
                select(func.count(table.id)).where(table.run_id.not_in(select(StageRun.id)))
            ).scalar_one()
            assert orphans == 0


def _outputs(case_dir: Path) -> dict[str, object]:
    with Case.open(case_dir) as case, case.session() as session:
        files = {c.id: c.source_file for c in session.execute(select(Call)).scalars()}
        turns = sorted(
            (files[t.call_id], t.channel, t.start, t.end, t.party)
            for t in session.execute(select(SpeakerTurnRow)).scalars()
        )
        prints = {
            (files[v.call_id], v.party): np.asarray(v.vector)
            for v in session.execute(select(VoiceprintRow)).scalars()
        }
    return {"turns": turns, "prints": prints}


@pytest.mark.slow
def test_ray_backend_matches_local(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("call01.wav", "call03.wav"):  # one stereo, one mono
        shutil.copy(SAMPLE / "calls" / name, folder / name)
    options = ProcessOptions(only=tuple(STAGES.split(",")))
    outputs = {}
    for backend in ("local", "ray"):
        path = tmp_path / backend
        with Case.init(path) as case:
            ingest(case, [folder], IngestOptions(workers=1))
            if backend == "ray":
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                try:
                    report = process(case, ProcessOptions(only=options.only, backend="ray"))
                finally:
                    ray.shutdown()
            else:
                report = process(case, options)
            assert report.counts() == {"done": 8}, report.results
        outputs[backend] = _outputs(path)
    local, remote = outputs["local"], outputs["ray"]
    assert local["turns"] and local["turns"] == remote["turns"]
    assert local["prints"].keys() == remote["prints"].keys()  # type: ignore[attr-defined]
    for key, vector in local["prints"].items():  # type: ignore[attr-defined]
        assert np.allclose(vector, remote["prints"][key], atol=1e-5)  # type: ignore[index]
