"""Speech pipeline figures: diarization error rate, voice-matching EER, speed vs real time.

* DER (pyannote.metrics, collar 0.25 s, overlaps scored) of the `separate` stage on the
  sample corpus's synthetic two-voice mono calls (espeak-ng voices with overlaps; the truth
  is truth.json's turns).  Target: DER <= 10 %.
* EER of cross-call party voice matching (cosine of stage voiceprints; same espeak voice =
  same person) and the threshold at the EER, which is `earshot voices`' default --min-score.
* Speed of VAD + separation + voiceprints as a multiple of real time (audio seconds / wall
  seconds, models already loaded).  Target: >= 50x on the 2-core machine.
* `--whisper-large-v3-shaped`: batched faster-whisper throughput (audio-seconds per second)
  with a random-weight large-v3-shaped model whose end-of-text is suppressed, so every 30 s
  window decodes the full 448 tokens (needs a CUDA GPU; several GB are written).

Usage: python bench/speech.py [--whisper-large-v3-shaped] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.pipeline.runner import ProcessOptions, process
from earshot.store.case import Case
from earshot.store.models import Call
from earshot.store.speech_models import SpeakerTurnRow, StageRun, VoiceprintRow

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "earshot" / "data" / "sample"


def _der(case: Case, truth: dict[str, object]) -> tuple[float, list[tuple[str, float]]]:
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    per_call = []
    with case.session() as session:
        for call in truth["calls"]:  # type: ignore[attr-defined]
            if call["channels"] != 1:
                continue
            row = session.execute(select(Call).where(Call.source_file == call["file"])).scalar_one()
            reference, hypothesis = Annotation(), Annotation()
            for i, turn in enumerate(call["turns"]):
                reference[Segment(turn["start"], turn["end"]), i] = turn["party"]
            turns = session.execute(
                select(SpeakerTurnRow).where(SpeakerTurnRow.call_id == row.id)
            ).scalars()
            for i, turn in enumerate(turns):
                hypothesis[Segment(turn.start, turn.end), i] = turn.party
            per_call.append((call["file"], float(metric(reference, hypothesis))))
    return float(abs(metric)), per_call


def _eer(case: Case, truth: dict[str, object]) -> tuple[float, float, int, int]:
    voice = {
        (c["file"], label): p["voice"]
        for c in truth["calls"]  # type: ignore[attr-defined]
        for label, p in c["parties"].items()
    }
    with case.session() as session:
        files = {c.id: c.source_file for c in session.execute(select(Call)).scalars()}
        rows = [
            ((files[v.call_id], v.party), np.asarray(v.vector))
            for v in session.execute(select(VoiceprintRow)).scalars()
        ]
    positives, negatives = [], []
    for i, (a, va) in enumerate(rows):
        for b, vb in rows[i + 1 :]:
            if a[0] != b[0]:
                score = float(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))
                (positives if voice[a] == voice[b] else negatives).append(score)
    pos, neg = np.array(positives), np.array(negatives)
    thresholds = np.linspace(-1, 1, 4001)
    gaps = [abs(np.mean(pos < t) - np.mean(neg >= t)) for t in thresholds]
    best = float(thresholds[int(np.argmin(gaps))])
    eer = float((np.mean(pos < best) + np.mean(neg >= best)) / 2)
    return eer, best, len(pos), len(neg)


def _speed(case: Case) -> tuple[float, float]:
    """Re-run vad, separate and voiceprint with models loaded; audio s and wall s."""
    process(case, ProcessOptions(only=("vad",), redo=("vad",)))  # warm: load the models once
    with case.session() as session:
        audio = float(sum(c.duration for c in session.execute(select(Call)).scalars()))
    start = time.perf_counter()
    process(
        case,
        ProcessOptions(
            only=("vad", "separate", "voiceprint"), redo=("vad", "separate", "voiceprint")
        ),
    )
    return audio, time.perf_counter() - start


def _whisper(batch_size: int) -> tuple[float, float]:
    from earshot.speech.asr import get_engine
    from earshot.speech.testing import build_tiny_whisper

    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_whisper(
            Path(tmp) / "large-v3-shaped", large_v3_shaped=True, suppress_end_of_text=True
        )
        engine = get_engine(
            f"faster-whisper:{model}",
            device="cuda",
            compute_type="float16",
            batched=True,
            batch_size=batch_size,
            beam_size=1,
            temperature=0.0,
            vad_filter=False,
        )
        audio = (np.random.default_rng(0).standard_normal(16000 * 600) * 0.05).astype(np.float32)
        list(engine.transcribe(audio[: 16000 * 30], language="ru"))  # warm-up
        start = time.perf_counter()
        list(engine.transcribe(audio, language="ru"))
        return audio.size / 16000, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whisper-large-v3-shaped", action="store_true")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    console = Console()
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    table = Table(title="Speech pipeline", title_justify="left")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    with tempfile.TemporaryDirectory() as tmp, Case.init(Path(tmp) / "case") as case:
        ingest(case, [SAMPLE / "calls"], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1))
        report = process(case, ProcessOptions())
        if report.failed:
            raise SystemExit(f"processing failed: {report.failed}")
        der, per_call = _der(case, truth)
        eer, threshold, npos, nneg = _eer(case, truth)
        audio, wall = _speed(case)
        with case.session() as session:
            assert session.execute(select(StageRun)).first() is not None
    table.add_row("DER, mono calls (collar 0.25 s)", f"{der:.1%}", "<= 10%")
    for file, value in per_call:
        table.add_row(f"  {file}", f"{value:.1%}", "")
    table.add_row(f"voice EER ({npos} same / {nneg} different pairs)", f"{eer:.1%}", "")
    table.add_row("threshold at EER (--min-score)", f"{threshold:.3f}", "")
    table.add_row(
        "VAD + separation + voiceprints",
        f"{audio / wall:.0f}x real time ({audio:.0f} s audio)",
        ">= 50x",
    )
    if args.whisper_large_v3_shaped:
        seconds, took = _whisper(args.batch_size)
        table.add_row(
            "faster-whisper large-v3-shaped, batched", f"{seconds / took:.1f} audio-s/s", ""
        )
    console.print(table)


if __name__ == "__main__":
    main()
