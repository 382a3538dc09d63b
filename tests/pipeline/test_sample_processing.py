"""The speech stages on the sample corpus: idempotence, provenance, speaker labels."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import srt
from sample_truth import SAMPLE, truth_call, truth_sidecars
from sqlalchemy import func, select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.pipeline.runner import ProcessOptions, ProcessReport, process
from earshot.store.case import Case
from earshot.store.models import Call, Segment, Transcript
from earshot.store.speech_models import SpeakerTurnRow, StageRun, VoiceprintRow

BUILTIN = ("decode", "vad", "separate", "transcript", "voiceprint")


def _party_accuracy(case: Case, file: str) -> tuple[int, int]:
    truth = truth_call(file)["turns"]
    with case.session() as session:
        call = session.execute(select(Call).where(Call.source_file == file)).scalar_one()
        transcript = next(t for t in call.transcripts if t.source == "sidecar")
        segments = list(transcript.segments)
    assert len(segments) == len(truth)
    right = 0
    for segment, turn in zip(segments, truth, strict=True):
        assert abs((segment.start or 0) - turn["start"]) < 0.05
        right += segment.party == turn["party"]
    return right, len(truth)


def test_every_call_processed_once(processed_sample: tuple[Path, ProcessReport]) -> None:
    path, report = processed_sample
    assert not report.failed, report.failed
    assert set(BUILTIN) <= set(report.stages)
    assert report.stages.index("vad") < report.stages.index("separate")
    assert report.stages.index("separate") < report.stages.index("voiceprint")
    with Case.open(path) as case, case.session() as session:
        calls = session.execute(select(func.count(Call.id))).scalar_one()
        runs = session.execute(select(StageRun.call_id, StageRun.stage, StageRun.status)).all()
        per_stage = Counter(stage for _, stage, status in runs if status in ("done", "skipped"))
        assert all(per_stage[s] == calls for s in BUILTIN), per_stage
        assert len(runs) == len({(c, s) for c, s, _ in runs})
        for run in session.execute(select(StageRun)).scalars():
            assert run.info["engine"] and run.info["version"] and run.info["key"] == run.info_key
        prints = list(session.execute(select(VoiceprintRow)).scalars())
        assert len(prints) == 2 * calls  # every sample call has two audible parties
        assert all(len(p.vector) == 256 and p.seconds > 1 for p in prints)
        # calls without a timed sidecar and no --asr say why the transcript was skipped
        skipped = [r for r in runs if r[1] == "transcript" and r[2] == "skipped"]
        assert len(skipped) == 3  # call07 (untimed TXT), call08, call11 (none)


def test_rerun_does_nothing(sample_copy: Path) -> None:
    with Case.open(sample_copy) as case:
        with case.session() as session:
            before = session.execute(select(func.count(SpeakerTurnRow.id))).scalar_one()
        report = process(case, ProcessOptions())
        assert set(report.counts()) == {"unchanged"}
        report = process(case, ProcessOptions(only=("voiceprint",), redo=("voiceprint",)))
        assert report.counts() == {"done": 12}
        with case.session() as session:
            assert session.execute(select(func.count(SpeakerTurnRow.id))).scalar_one() == before
            assert session.execute(select(func.count(VoiceprintRow.id))).scalar_one() == 24


def test_srt_sidecars_get_parties_from_diarization(
    processed_sample: tuple[Path, ProcessReport],
) -> None:
    """Mono calls whose SRT has no speaker labels: >= 90% of segments on the right party."""
    files = [c["file"] for c in truth_sidecars("srt")]
    assert files
    with Case.open(processed_sample[0]) as case:
        scores = [_party_accuracy(case, f) for f in files]
        with case.session() as session:
            bases = {
                t.engine["party_assignment"]["basis"]
                for t in session.execute(select(Transcript)).scalars()
                if "party_assignment" in t.engine
            }
    assert bases == {"diarization"}
    for (right, total), file in zip(scores, files, strict=True):
        assert right / total >= 0.75, (file, right, total)
    assert sum(r for r, _ in scores) / sum(t for _, t in scores) >= 0.9


def test_stereo_srt_without_labels_uses_channel_energy(tmp_path: Path) -> None:
    """Stereo calls delivered with an SRT that has no speaker labels."""
    stereo = [c for c in truth_sidecars("vtt") if c["channels"] == 2][:2]
    folder = tmp_path / "in"
    folder.mkdir()
    for call in stereo:
        audio = SAMPLE / str(call["path"])
        (folder / audio.name).write_bytes(audio.read_bytes())
        cues = [
            srt.Subtitle(i + 1, _delta(t["start"]), _delta(t["end"]), t["text"])
            for i, t in enumerate(call["turns"])  # type: ignore[attr-defined]
        ]
        (folder / f"{audio.stem}.srt").write_text(srt.compose(cues), encoding="utf-8")
    with Case.init(tmp_path / "case") as case:
        ingest(case, [folder], IngestOptions(workers=1))
        report = process(case, ProcessOptions(only=("decode", "vad", "separate", "transcript")))
        assert not report.failed
        scores = [_party_accuracy(case, str(c["file"])) for c in stereo]
        with case.session() as session:
            unlabelled = session.execute(
                select(func.count(Segment.id)).where(Segment.party.is_(None))
            ).scalar_one()
    assert unlabelled == 0
    assert sum(r for r, _ in scores) / sum(t for _, t in scores) >= 0.9


def _delta(seconds: float):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(seconds=seconds)
