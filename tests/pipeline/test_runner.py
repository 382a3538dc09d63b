"""Runner behaviour: failures recorded and resolved, human edits kept, ASR versions, --only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sample_truth import SAMPLE
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from earshot.errors import ConfigError
from earshot.ingest.runner import IngestOptions, ingest
from earshot.pipeline.runner import ProcessOptions, process
from earshot.speech.testing import build_tiny_whisper
from earshot.stages import StageInfo, StageOutcome, register_stage, unregister_stage
from earshot.store.case import Case
from earshot.store.failures import list_failures
from earshot.store.models import Call, Original, Segment, Transcript, WorkingCopyRow
from earshot.store.speech_models import StageRun

FAST = {"beam_size": 1, "temperature": 0.0, "max_new_tokens": 16, "vad_filter": False}


def _ingest(case: Case, tmp_path: Path, *names: str) -> dict[str, int]:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(SAMPLE / "calls" / name, folder / name)
    ingest(case, [folder], IngestOptions(workers=1))
    with case.session() as session:
        return {c.source_file: c.id for c in session.execute(select(Call)).scalars()}


def test_failing_call_is_recorded_and_others_go_on(case: Case, tmp_path: Path) -> None:
    """Runs on SQLite and PostgreSQL."""
    ids = _ingest(case, tmp_path, "call03.wav", "call08.gsm")
    broken = ids["call08.gsm"]
    with case.session() as session:
        call = session.get(Call, broken)
        assert call is not None
        original = case.media.original_path(call.sha256)
        rows = session.execute(
            select(WorkingCopyRow).where(WorkingCopyRow.sha256 == call.sha256)
        ).scalars()
        copies = [case.media.root / r.path for r in rows]
    saved = original.read_bytes()
    original.chmod(0o600)
    original.write_bytes(b"")  # the stored original is gone bad, so decode cannot repair
    for copy in copies:
        copy.unlink()
    report = process(case, ProcessOptions(only=("decode", "vad", "separate")))
    failed = report.failed
    assert [(r.call_id, r.stage) for r in failed] == [(broken, "decode")]
    assert failed[0].message and "call08.gsm" in failed[0].message
    assert {(r.call_id, r.status) for r in report.results if r.stage == "separate"} == {
        (ids["call03.wav"], "done"),
        (broken, "blocked"),
    }
    with case.session() as session:
        assert [f.stage for f in list_failures(session)] == ["decode"]
    original.write_bytes(saved)  # restored: the re-run repairs the working copies
    report = process(case, ProcessOptions(only=("decode", "vad", "separate")))
    assert not report.failed
    assert all(c.is_file() for c in copies)
    with case.session() as session:
        assert list_failures(session) == []
        statuses = session.execute(
            select(StageRun.status).where(StageRun.call_id == broken, StageRun.stage == "decode")
        ).scalars()
        assert list(statuses) == ["done"]


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("models") / "tiny-whisper")


def _asr(case: Case) -> list[Transcript]:
    with case.session() as session:
        return list(session.execute(select(Transcript).where(Transcript.source == "asr")).scalars())


def test_asr_versions_and_human_edits(tmp_path: Path, tiny_whisper: Path, run_cli: Any) -> None:
    path = tmp_path / "case"
    Case.init(path).close()
    with Case.open(path) as case:
        ids = _ingest(case, tmp_path, "call08.gsm")
    args = ["process", path, "--json", "--asr", f"faster-whisper:{tiny_whisper}"]
    fast = [x for k, v in FAST.items() for x in ("--asr-option", f"{k}={json.dumps(v)}")]
    data = json.loads(run_cli(*args, *fast).stdout)
    builtin = ("decode", "vad", "separate", "transcript", "voiceprint")
    assert {
        r["stage"]: r["status"] for r in data["results"] if r["stage"] in builtin
    } == dict.fromkeys(builtin, "done")
    with Case.open(path) as case:
        [first] = _asr(case)
        assert first.engine["engine"] == "faster-whisper" and first.engine["version"]
        with case.session() as session:
            segments = list(
                session.execute(select(Segment).where(Segment.transcript_id == first.id)).scalars()
            )
        assert segments and all(s.start is not None and s.end is not None for s in segments)
        assert any(s.words for s in segments)
        # random-weight text may fall outside every turn (party unknown), but not all of it
        assert {s.party for s in segments} <= {"A", "B", None}
        assert any(s.party for s in segments)
    assert set(json.loads(run_cli(*args, *fast).stdout)["counts"]) == {"unchanged"}
    run_cli(*args, *fast, "--redo", "transcript")  # same engine version: replaced, not added
    with Case.open(path) as case:
        assert len(_asr(case)) == 1
    run_cli(*args, *fast[:-2], "--asr-option", "max_new_tokens=8")  # another version: added
    with Case.open(path) as case:
        assert len(_asr(case)) == 2
        with case.session() as session:
            human = Transcript(call_id=ids["call08.gsm"], source="human", kind="verbatim")
            session.add(human)
            session.flush()
            session.add(
                Segment(
                    transcript_id=human.id,
                    call_id=human.call_id,
                    idx=0,
                    start=0.0,
                    end=1.0,
                    party="A",
                    text="правка редактора",
                )
            )
    data = json.loads(run_cli(*args, "--redo", "transcript").stdout)
    assert {r["message"] for r in data["results"] if r["stage"] == "transcript"} == {
        "human transcript present"
    }
    with Case.open(path) as case:
        assert len(_asr(case)) == 2
        with case.session() as session:
            assert (
                session.execute(
                    select(func.count(Segment.id)).where(Segment.text == "правка редактора")
                ).scalar_one()
                == 1
            )


def test_auto_language_keeps_what_whisper_detected(
    tmp_path: Path, tiny_whisper: Path, run_cli: Any
) -> None:
    """With --language auto the transcript records the language the engine detected (its
    run info, faster-whisper's TranscriptionInfo), not "auto" or nothing."""
    path = tmp_path / "case"
    Case.init(path).close()
    with Case.open(path) as case:
        _ingest(case, tmp_path, "call08.gsm")
    fast = [x for k, v in FAST.items() for x in ("--asr-option", f"{k}={json.dumps(v)}")]
    run_cli(
        "process", path, "--json", "--asr", f"faster-whisper:{tiny_whisper}",
        "--language", "auto", *fast,
    )  # fmt: skip
    with Case.open(path) as case:
        [transcript] = _asr(case)
        run = transcript.engine["engine_info"]["run"]
        assert run["language"] and run["language"] != "auto"
        assert 0.0 <= run["language_probability"] <= 1.0 and run["duration"] > 0
        assert transcript.language == run["language"]


def test_missing_model_is_a_failure_with_advice(tmp_path: Path, run_cli: Any) -> None:
    path = tmp_path / "case"
    Case.init(path).close()
    with Case.open(path) as case:
        _ingest(case, tmp_path, "call08.gsm")
    result = run_cli("process", path, "--json", "--asr", f"faster-whisper:{tmp_path}/nope", code=1)
    data = json.loads(result.stdout)
    [failure] = [r for r in data["results"] if r["status"] == "failed"]
    assert failure["stage"] == "transcript" and "download" in failure["message"]


class _CountingStage:
    """A third-party stage (as the language layer registers one) reading transcripts."""

    name = "wordcount"
    after: tuple[str, ...] = ("transcript",)
    wants_gpu = False

    def info(self) -> StageInfo:
        return StageInfo("wordcount", "test", "1")

    def inputs(self, session: Session, call_id: int) -> str:
        count = session.execute(
            select(func.count(Segment.id)).where(Segment.call_id == call_id)
        ).scalar_one()
        return str(count)

    def run(self, case: Case, call_id: int) -> StageOutcome:
        with case.session() as session:
            texts = session.execute(select(Segment.text).where(Segment.call_id == call_id))
            return StageOutcome("done", {"words": sum(len(t.split()) for (t,) in texts)})


def test_only_a_registered_third_party_stage(sample_copy: Path) -> None:
    register_stage("wordcount", _CountingStage)
    try:
        with Case.open(sample_copy) as case:
            report = process(case, ProcessOptions(only=("wordcount",)))
            assert report.stages == ["wordcount"]
            assert report.counts() == {"done": 12}
            assert process(case, ProcessOptions(only=("wordcount",))).counts() == {"unchanged": 12}
            report = process(case, ProcessOptions())
            assert report.stages[-1] in ("wordcount", "voiceprint", "language")
            assert report.stages.index("wordcount") > report.stages.index("transcript")
            with case.session() as session:
                details = session.execute(
                    select(StageRun.detail).where(StageRun.stage == "wordcount")
                ).scalars()
                assert all(d["words"] >= 0 for d in details)
            with pytest.raises(ConfigError, match="unknown stage"):
                process(case, ProcessOptions(only=("nonesuch",)))
            with pytest.raises(ConfigError, match="--only leaves out"):
                process(case, ProcessOptions(only=("vad",), redo=("separate",)))
    finally:
        unregister_stage("wordcount")


def test_original_table_untouched(sample_copy: Path) -> None:
    with Case.open(sample_copy) as case, case.session() as session:
        assert session.execute(select(func.count(Original.sha256))).scalar_one() > 12
