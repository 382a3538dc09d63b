"""Speech pipeline figures: diarization error rate, voice-matching EER, speed vs real time.

* DER (pyannote.metrics, collar 0.25 s, overlaps scored) of the `separate` stage on
  synthetic two-voice mono calls with overlaps, in three sets: the sample corpus's mono calls
  (truth.json's turns), a tuning set of generated calls (seeds 0-7), a held-out set
  (seeds 100-107) that no option was chosen on, and a fresh held-out set (seeds 200-207)
  first generated after the VAD fallback was designed.  Generated calls use espeak-ng voices that
  are not in the sample cast, phrases of the sample screenplay, and the corpus codecs
  (scripts/make_sample_corpus.py renders and encodes them).  Target: DER <= 10 %.
* EER of cross-call party voice matching (cosine of stage voiceprints; same espeak voice =
  same person) and the threshold at the EER, which is `earshot voices`' default --min-score.
* Speed of VAD + separation + voiceprints as a multiple of real time (audio seconds / wall
  seconds, models already loaded).  Target: >= 50x on the 2-core machine.
* `--whisper-large-v3-shaped`: batched faster-whisper throughput (audio-seconds per second)
  with a random-weight large-v3-shaped model whose end-of-text is suppressed, so every 30 s
  window decodes the full 448 tokens (needs a CUDA GPU; several GB are written).

* `--asr SPEC` (e.g. `gigaam-v3-rnnt`, `onnx-asr:t-one:/models/t-one`, or `tiny:gigaam-v3-rnnt`
  for a generated random-weight model): the transcript stage's real-time factor on the sample
  corpus beside the engine alone on the same audio and speech regions (models loaded, VAD
  stored), and the pipeline's overhead (target: <= 10 %).  Repeatable.
  `--asr-option device=cuda --asr-option batch_size=32` runs the same measurement batched on a
  GPU (onnxruntime-gpu) for the large models.
* `--speaker-model PATH` (repeatable; `tiny` for a generated WeSpeaker-layout model): the voice
  EER of each ONNX speaker-embedding engine on the same pairs as Resemblyzer's.
* `--skip-der`: leave out the DER sets of generated calls (minutes of espeak and diarization).

Usage: python bench/speech.py [--asr SPEC]... [--speaker-model PATH]... [--skip-der]
       [--whisper-large-v3-shaped] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.pipeline.runner import ProcessOptions, process
from earshot.store.case import Case
from earshot.store.models import Call
from earshot.store.speech_models import SpeakerTurnRow, StageRun, VoiceprintRow

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "src" / "earshot" / "data" / "sample"
sys.path.insert(0, str(REPO / "scripts"))  # the sample corpus generator renders the calls
TUNING_SEEDS = tuple(range(8))
HELD_OUT_SEEDS = tuple(range(100, 108))
# Seeds 100-107 were only scored, but their VAD failures were looked at while the WebRTC
# fallback was designed; 200-207 were generated for the first time to measure it.
FRESH_SEEDS = tuple(range(200, 208))

# --------------------------------------------------------------------------- synthetic calls

# Voices of the synthetic calls: none of them is a voice of the sample corpus's cast.  Pairs
# of two male voices are the hard case (call04 of the sample corpus is one).
SYNTH_VOICES = (
    ("ru+m4", 35, 145),
    ("ru+m6", 50, 160),
    ("ru+m5", 28, 138),
    ("ru+m8", 55, 170),
    ("ru+f1", 70, 150),
    ("ru+f5", 60, 158),
    ("ru+m2", 30, 132),
    ("ru+f3", 85, 172),
)
SYNTH_FORMATS = ("wav_mulaw", "mp3", "m4a", "amr", "gsm", "flac", "opus", "wav_alaw")


@dataclass(frozen=True)
class SyntheticCall:
    """One generated mono call: the encoded file and its turns (party, start, end)."""

    path: Path
    voices: tuple[str, str]
    turns: tuple[tuple[str, float, float], ...]


def _person(voice: tuple[str, int, int]) -> Any:
    from sample_screenplay import Person, Voice  # type: ignore[import-not-found, unused-ignore]

    variant, pitch, speed = voice
    return Person("synthetic", "", "", "", "", (), (), "", (), Voice(variant, pitch, speed, 0.55))


def synthetic_call(seed: int, out: Path) -> SyntheticCall:
    """A mono call of 8–10 alternating turns between two espeak-ng voices, one or two of
    them overlapping the turn before, telephone band, encoded in one of the corpus codecs.

    Phrases come from the sample screenplay, voices and codecs from the lists above; the
    seed picks everything, so the same seed gives the same call."""
    from make_sample_corpus import (  # type: ignore[import-not-found, unused-ignore]
        FORMATS,
        SAMPLE_RATE,
        codec_delay,
        decode_audio,
        encode_audio,
        speak,
    )
    from sample_screenplay import CALLS  # type: ignore[import-not-found, unused-ignore]

    rng = random.Random(seed)
    first, second = rng.sample(range(len(SYNTH_VOICES)), 2)
    if seed % 2 == 0:  # every other call: two male voices
        males = [i for i, v in enumerate(SYNTH_VOICES) if "+m" in v[0]]
        first, second = rng.sample(males, 2)
    voices = {"A": SYNTH_VOICES[first], "B": SYNTH_VOICES[second]}
    phrases = [t.say or t.ru for c in CALLS for t in c.turns]
    count = rng.randint(8, 10)
    overlapping = set(rng.sample(range(2, count), rng.randint(1, 2)))
    cursor, prev_end = rng.uniform(0.4, 0.9), 0.0
    pieces: list[tuple[str, float, np.ndarray]] = []
    for index in range(count):
        party = "AB"[index % 2]
        clip = speak(rng.choice(phrases), _person(voices[party]))
        start = prev_end - rng.uniform(0.3, 0.6) if index in overlapping else cursor
        start = round(start * SAMPLE_RATE) / SAMPLE_RATE
        pieces.append((party, start, clip))
        prev_end = max(prev_end, start + clip.size / SAMPLE_RATE)
        cursor = prev_end + rng.uniform(0.25, 0.7)
    total = int((prev_end + 0.7) * SAMPLE_RATE)
    total += -total % 320  # whole GSM-in-WAV blocks (two 160-sample frames each)
    mix = np.random.default_rng(seed).normal(0.0, 4.0, (total, 1)).astype(np.float32)
    for _party, start, clip in pieces:
        first_sample = round(start * SAMPLE_RATE)
        mix[first_sample : first_sample + clip.size, 0] += clip
    pcm = np.clip(np.rint(mix), -32768, 32767).astype(np.int16)
    fmt = FORMATS[SYNTH_FORMATS[seed % len(SYNTH_FORMATS)]]
    path = out / f"synth{seed:03d}.{fmt.ext}"
    encode_audio(pcm, path, fmt)
    delay = max(0.0, codec_delay(pcm, decode_audio(path)[0]))
    turns = tuple(
        (party, round(start + delay, 3), round(start + delay + clip.size / SAMPLE_RATE, 3))
        for party, start, clip in pieces
    )
    labels = (":".join(map(str, voices["A"])), ":".join(map(str, voices["B"])))
    return SyntheticCall(path, labels, turns)


@dataclass(frozen=True)
class CallDer:
    file: str
    der: float
    missed: float
    false_alarm: float
    confusion: float
    total: float


def _der(case: Case, calls: list[tuple[str, list[tuple[str, float, float]]]]) -> list[CallDer]:
    """DER of the stored turns of each (file, truth turns) mono call."""
    from pyannote.core import Annotation, Segment  # type: ignore[import-untyped, unused-ignore]
    from pyannote.metrics.diarization import DiarizationErrorRate  # type: ignore[import-untyped, unused-ignore]

    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    result = []
    with case.session() as session:
        for file, truth_turns in calls:
            row = session.execute(select(Call).where(Call.source_file == file)).scalar_one()
            reference, hypothesis = Annotation(), Annotation()
            for i, (party, start, end) in enumerate(truth_turns):
                reference[Segment(start, end), i] = party
            turns = session.execute(
                select(SpeakerTurnRow).where(SpeakerTurnRow.call_id == row.id)
            ).scalars()
            for i, turn in enumerate(turns):
                hypothesis[Segment(turn.start, turn.end), i] = turn.party
            d = metric(reference, hypothesis, detailed=True)
            result.append(
                CallDer(
                    file,
                    d["diarization error rate"],
                    d["missed detection"],
                    d["false alarm"],
                    d["confusion"],
                    d["total"],
                )
            )
    return result


def _overall(calls: list[CallDer]) -> CallDer:
    total = sum(c.total for c in calls)
    missed = sum(c.missed for c in calls)
    false_alarm = sum(c.false_alarm for c in calls)
    confusion = sum(c.confusion for c in calls)
    der = (missed + false_alarm + confusion) / total if total else 0.0
    return CallDer("all", der, missed, false_alarm, confusion, total)


def _sample_mono(truth: dict[str, Any]) -> list[tuple[str, list[tuple[str, float, float]]]]:
    return [
        (c["file"], [(t["party"], t["start"], t["end"]) for t in c["turns"]])
        for c in truth["calls"]
        if c["channels"] == 1
    ]


def _synthetic_der(seeds: tuple[int, ...], workdir: Path) -> list[CallDer]:
    """Generate the calls of ``seeds``, ingest and separate them, and score them."""
    inbox = workdir / "inbox"
    inbox.mkdir(parents=True)
    calls = [synthetic_call(seed, inbox) for seed in seeds]
    with Case.init(workdir / "case") as case:
        ingest(case, [inbox], IngestOptions(workers=1))
        report = process(case, ProcessOptions(only=("decode", "vad", "separate")))
        if report.failed:
            raise SystemExit(f"processing failed: {report.failed}")
        return _der(case, [(c.path.name, list(c.turns)) for c in calls])


def _eer(
    case: Case, truth: dict[str, object], engine: str = "resemblyzer"
) -> tuple[float, float, int, int]:
    voice = {
        (c["file"], label): p["voice"]
        for c in truth["calls"]  # type: ignore[attr-defined]
        for label, p in c["parties"].items()
    }
    with case.session() as session:
        files = {c.id: c.source_file for c in session.execute(select(Call)).scalars()}
        newest: dict[tuple[str, str], np.ndarray] = {}
        for v in session.execute(select(VoiceprintRow).order_by(VoiceprintRow.id)).scalars():
            if v.engine.get("engine") == engine:
                newest[(files[v.call_id], v.party)] = np.asarray(v.vector)
        rows = list(newest.items())
    positives: list[float] = []
    negatives: list[float] = []
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


def _asr_spec(spec: str, workdir: Path) -> str:
    """A generated random-weight model for `tiny:NAME`, else the spec resolved as the CLI does."""
    from earshot.settings import Settings
    from earshot.speech.asr import available_engines
    from earshot.speech.models import resolve_asr_spec
    from earshot.speech.testing_onnx import build_tiny_onnx_asr

    if spec.startswith("tiny:"):
        name = spec.removeprefix("tiny:")
        return f"onnx-asr:{name}:{build_tiny_onnx_asr(name, workdir / name)}"
    models_dir = Settings().with_environment().models_dir
    return resolve_asr_spec(spec, models_dir, available_engines())


def _asr_overhead(
    case: Case, spec: str, options: dict[str, Any]
) -> tuple[float, float, float, int]:
    """Audio seconds, engine-alone seconds and transcript-stage seconds on the case's calls.

    Both run with the model loaded and the VAD stage's regions stored; the stage adds reading
    the working copies, the run bookkeeping, party assignment and writing segments."""
    from earshot.pipeline.audio import load_channels
    from earshot.pipeline.transcript_stage import _engine, speech_chunks
    from earshot.speech.recognise import recognise_channels

    engine = _engine(spec, options)  # the stage's own cached instance: loaded once for both
    stage = ProcessOptions(
        only=("transcript",),
        redo=("transcript",),
        stage_options={"transcript": {"asr": spec, "language": "ru", "asr_options": options}},
    )
    process(case, stage)  # warm-up
    with case.session() as session:
        calls = list(session.execute(select(Call)).scalars())
        audio = float(sum(c.duration for c in calls))
        ids = [c.id for c in calls]
        regions = {c.id: speech_chunks(session, c.id, c.channels >= 2) for c in calls}
    channels = {call_id: load_channels(case, call_id) for call_id in ids}
    alone_runs, pipeline_runs = [], []
    for _ in range(3):  # alternate, keep the best of each: the machine is shared
        start = time.perf_counter()
        for call_id in ids:
            recognise_channels(engine, channels[call_id], language="ru", regions=regions[call_id])
        alone_runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = process(case, stage)
        pipeline_runs.append(time.perf_counter() - start)
        if report.failed:
            raise SystemExit(f"transcript stage failed: {report.failed}")
    return audio, min(alone_runs), min(pipeline_runs), len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whisper-large-v3-shaped", action="store_true")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--asr", action="append", default=[], metavar="SPEC")
    parser.add_argument(
        "--asr-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="engine option for --asr, e.g. device=cuda batch_size=32 (the GPU benchmark)",
    )
    parser.add_argument("--speaker-model", action="append", default=[], metavar="PATH")
    parser.add_argument("--skip-der", action="store_true")
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
        sets = {"sample corpus mono calls": _der(case, _sample_mono(truth))}
        eer, threshold, npos, nneg = _eer(case, truth)
        load_before = os.getloadavg()[0]
        audio, wall = _speed(case)
        load_after = os.getloadavg()[0]
        with case.session() as session:
            assert session.execute(select(StageRun)).first() is not None
        speaker_eers = []
        for model in args.speaker_model:
            if model == "tiny":
                from earshot.speech.testing_speaker import build_tiny_wespeaker

                model = str(build_tiny_wespeaker(Path(tmp) / "speaker") / "wespeaker-tiny.onnx")
            process(
                case,
                ProcessOptions(
                    only=("voiceprint",),
                    redo=("voiceprint",),
                    stage_options={"voiceprint": {"engine": f"onnx:{model}"}},
                ),
            )
            speaker_eers.append((Path(model).name, *_eer(case, truth, "onnx-speaker")))
        asr_rows = []
        for spec in args.asr:
            resolved = _asr_spec(spec, Path(tmp) / "asr-models")
            options = {
                k: json.loads(v) if v[:1].isdigit() or v in ("true", "false") else v
                for k, _, v in (o.partition("=") for o in args.asr_option)
            }
            asr_rows.append((spec, *_asr_overhead(case, resolved, options)))
        if not args.skip_der:
            sets["generated, tuning (seeds 0-7)"] = _synthetic_der(TUNING_SEEDS, Path(tmp) / "tune")
            sets["generated, held out (seeds 100-107)"] = _synthetic_der(
                HELD_OUT_SEEDS, Path(tmp) / "held"
            )
            sets["generated, fresh held out (seeds 200-207)"] = _synthetic_der(
                FRESH_SEEDS, Path(tmp) / "fresh"
            )
    for name, calls in sets.items():
        overall = _overall(calls)
        table.add_row(
            f"DER, {name} (collar 0.25 s)",
            f"{overall.der:.1%} (missed {overall.missed:.1f} s, false alarm "
            f"{overall.false_alarm:.1f} s, confusion {overall.confusion:.1f} s of "
            f"{overall.total:.0f} s)",
            "<= 10%",
        )
        for c in calls:
            table.add_row(
                f"  {c.file}",
                f"{c.der:.1%} (miss {c.missed:.2f}, fa {c.false_alarm:.2f}, "
                f"conf {c.confusion:.2f})",
                "",
            )
    table.add_row(
        f"voice EER, resemblyzer ({npos} same / {nneg} different pairs)", f"{eer:.1%}", ""
    )
    table.add_row("threshold at EER (--min-score)", f"{threshold:.3f}", "")
    for name, s_eer, s_threshold, s_pos, s_neg in speaker_eers:
        table.add_row(
            f"voice EER, onnx-speaker {name} ({s_pos} same / {s_neg} different pairs)",
            f"{s_eer:.1%} (threshold {s_threshold:.3f})",
            "",
        )
    for spec, audio_s, alone, pipeline, calls in asr_rows:
        overhead = pipeline / alone - 1 if alone else float("nan")
        extra = pipeline - alone
        table.add_row(
            f"ASR {spec}: engine alone / transcript stage",
            f"{audio_s / alone:.0f}x / {audio_s / pipeline:.0f}x real time ({alone:.2f} s / "
            f"{pipeline:.2f} s for {audio_s:.0f} s, {calls} calls); stage adds {overhead:+.0%} "
            f"({extra / calls:.2f} s per call)",
            "<= +10%",
        )
        for speed in (26, 43, 59):
            engine_s = audio_s / speed
            table.add_row(
                f"  projected for a model at {speed}x real time",
                f"stage adds {extra / engine_s:+.0%} on these calls "
                f"(mean {audio_s / calls:.0f} s); {extra / calls / (300 / speed):+.0%} on "
                "5-minute calls",
                "<= +10%",
            )
    table.add_row(
        "VAD + separation + voiceprints",
        f"{audio / wall:.0f}x real time ({audio:.0f} s audio in {wall:.1f} s; load average "
        f"{load_before:.1f} before, {load_after:.1f} after)",
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
