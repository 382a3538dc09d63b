"""A call never seen before, processed end to end through the onnx-asr engine on a tiny model:
timed segments per party, provenance with the model hash, the default engine choice."""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.signal import resample_poly  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.speech.testing_onnx import ONNX_BUILDERS
from earshot.store.case import Case
from earshot.store.models import Call, Segment, Transcript

RATE = 16_000
ESPEAK = shutil.which("espeak-ng")
# Fictional lines, written for this test.
CALLER = "Мам, это я, у нас тихо, связь только вечером"
CALLEE = "Сынок, слава богу, отец передаёт привет, береги себя"


def _speak(text: str, voice: str, tmp: Path) -> np.ndarray:
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp / f"{voice.replace('+', '_')}.wav"
    subprocess.run([ESPEAK, "-v", voice, "-w", str(out), text], check=True, capture_output=True)
    with wave.open(str(out)) as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    samples = resample_poly(pcm.astype(np.float32) / 32768.0, RATE, rate).astype(np.float32)
    loud = np.flatnonzero(np.abs(samples) > 0.001)
    return samples[loud[0] : loud[-1] + 1]


def _stereo_call(
    path: Path, tmp: Path, echo: float = 0.1
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Caller on the left from 0.5 s, callee on the right 0.8 s after, each leaking into the
    other channel at ``echo`` (-20 dB: a telephone hybrid's crosstalk); returns both spans."""
    caller, callee = _speak(CALLER, "ru+m3", tmp), _speak(CALLEE, "ru+f2", tmp)
    a = (0.5, 0.5 + caller.size / RATE)
    b = (a[1] + 0.8, a[1] + 0.8 + callee.size / RATE)
    total = int((b[1] + 1.0) * RATE)
    rng = np.random.default_rng(3)
    left, right = (3e-4 * rng.standard_normal((2, total))).astype(np.float32)
    for own, other, speech, span in ((left, right, caller, a), (right, left, callee, b)):
        start = int(span[0] * RATE)
        own[start : start + speech.size] += speech
        other[start : start + speech.size] += echo * speech
    pcm = (np.clip(np.stack([left, right], axis=1), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())
    return a, b


def _mono_of(stereo_path: Path, path: Path) -> Path:
    """The two channels mixed into one, as a call recorded on one line."""
    with wave.open(str(stereo_path)) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes((stereo.astype(np.int32).sum(axis=1) // 2).astype("<i2").tobytes())
    return path


def _segments(case: Case) -> tuple[Transcript, list[Segment]]:
    with case.session() as session:
        [transcript] = session.execute(
            select(Transcript).where(Transcript.source == "asr")
        ).scalars()
        segments = list(
            session.execute(
                select(Segment).where(Segment.transcript_id == transcript.id).order_by(Segment.idx)
            ).scalars()
        )
        session.expunge_all()
    return transcript, segments


@pytest.mark.slow
def test_held_out_call_through_onnx_asr(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    ONNX_BUILDERS["gigaam-v3-rnnt"](models / "gigaam-v3-rnnt")
    monkeypatch.setenv("EARSHOT_MODELS_DIR", str(models))
    incoming = tmp_path / "in"
    incoming.mkdir()
    caller_span, callee_span = _stereo_call(incoming / "2026-11-02_0712.wav", tmp_path)
    path = tmp_path / "case"
    Case.init(path).close()
    with Case.open(path) as case:
        ingest(case, [incoming], IngestOptions(workers=1))
    only = ["--only", "decode,vad,separate,transcript"]
    # a bare model name, found in the models directory
    data = json.loads(run_cli("process", path, "--json", "--asr", "gigaam-v3-rnnt", *only).stdout)
    assert {r["stage"]: r["status"] for r in data["results"]} == dict.fromkeys(
        ("decode", "vad", "separate", "transcript"), "done"
    )
    with Case.open(path) as case:
        transcript, segments = _segments(case)
        with case.session() as session:
            [call] = session.execute(select(Call)).scalars()
            duration = call.duration
    assert transcript.engine["engine"] == "onnx-asr"
    assert transcript.engine["party_basis"] == "channel"
    options = transcript.engine["engine_info"]["options"]
    assert len(options["model_sha256"]) == 64 and options["onnx_asr_name"] == "gigaam-v3-rnnt"
    parties = {s.party for s in segments}
    assert parties == {"A", "B"}, [(s.party, s.start, s.end, s.text) for s in segments]
    for segment in segments:
        span = caller_span if segment.party == "A" else callee_span
        assert span[0] - 0.6 <= segment.start < segment.end <= span[1] + 0.6
        assert segment.text and segment.words
        assert all(segment.start <= w["start"] <= w["end"] <= segment.end for w in segment.words)
        assert segment.end <= (duration or 0) + 1e-6


@pytest.mark.slow
def test_default_engine_is_the_best_installed(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    ONNX_BUILDERS["t-one"](models / "t-one")
    ONNX_BUILDERS["gigaam-v3-ctc"](models / "gigaam-v3-ctc")
    monkeypatch.setenv("EARSHOT_MODELS_DIR", str(models))
    incoming = tmp_path / "in"
    incoming.mkdir()
    _stereo_call(incoming / "call.wav", tmp_path)
    path = tmp_path / "case"
    Case.init(path).close()
    with Case.open(path) as case:
        ingest(case, [incoming], IngestOptions(workers=1))
    result = run_cli("process", path, "--json", "--only", "decode,vad,separate,transcript")
    assert "gigaam-v3-ctc" in result.stderr and "best installed" in result.stderr
    chosen = json.loads(result.stdout)["asr_default"]
    assert chosen["spec"].startswith("onnx-asr:gigaam-v3-ctc:") and "18.6" in chosen["reason"]
    with Case.open(path) as case:
        transcript, segments = _segments(case)
    assert transcript.engine["engine"] == "onnx-asr"
    assert transcript.engine["model"] == "gigaam-v3-ctc"
    assert "best installed model" in transcript.engine["chosen_because"]
    assert segments and {s.party for s in segments} <= {"A", "B"}


def _add_transcript(case: Case, call_id: int, source: str, lines: list[tuple[str, str]]) -> None:
    with case.session() as session:
        transcript = Transcript(
            call_id=call_id,
            source=source,
            kind="verbatim",
            language="ru",
            engine={"engine": "onnx-asr", "model": "stand-in"} if source == "asr" else {},
        )
        session.add(transcript)
        session.flush()
        for idx, (party, text) in enumerate(lines):
            session.add(
                Segment(
                    transcript_id=transcript.id,
                    call_id=call_id,
                    idx=idx,
                    start=float(idx),
                    end=idx + 0.9,
                    party=party,
                    text=text,
                )
            )


@pytest.mark.slow
def test_asr_eval_per_call_channel_and_total(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    ONNX_BUILDERS["gigaam-v3-ctc"](models / "gigaam-v3-ctc")
    monkeypatch.setenv("EARSHOT_MODELS_DIR", str(models))
    incoming = tmp_path / "in"
    incoming.mkdir()
    _stereo_call(incoming / "call.wav", tmp_path)
    path = tmp_path / "case"
    Case.init(path).close()
    with Case.open(path) as case:
        ingest(case, [incoming], IngestOptions(workers=1))
        with case.session() as session:
            [call_id] = session.execute(select(Call.id)).scalars()
        _add_transcript(
            case,
            call_id,
            "human",
            [("A", "Мам, привет! Нас двести человек тут."), ("B", "Ёлки, береги себя.")],
        )
        _add_transcript(
            case, call_id, "asr", [("A", "мам привет нас 200 человек"), ("B", "елки береги сибя")]
        )
    data = json.loads(run_cli("asr-eval", path, "--json").stdout)
    rows = {(r["channel"], r["engine"]): r for r in data["rows"]}
    # hand counts: A loses "тут" (1 of 6 words), B has "сибя" for "себя" (1 of 3)
    assert rows[("all", "onnx-asr:stand-in")]["wer"] == pytest.approx(2 / 9)
    assert rows[("0", "onnx-asr:stand-in")]["wer"] == pytest.approx(1 / 6)
    assert rows[("1", "onnx-asr:stand-in")]["wer"] == pytest.approx(1 / 3)
    assert rows[("0", "onnx-asr:stand-in")]["cer"] == pytest.approx(4 / 30)
    assert data["totals"][0]["word_errors"] == 2 and data["totals"][0]["rtf"] is None
    table = run_cli("asr-eval", path).stdout
    assert "22.2" in table and "total" in table

    # an engine run now, on the same calls: timed, scored against the same reference
    run_cli("process", path, "--only", "decode,vad")
    data = json.loads(run_cli("asr-eval", path, "--engine", "gigaam-v3-ctc", "--json").stdout)
    [engine] = data["engines"]
    assert engine.startswith("onnx-asr:gigaam-v3-ctc:")
    channels = sorted(r["channel"] for r in data["rows"])
    assert channels == ["0", "1", "all"]
    [total] = data["totals"]
    assert total["reference_words"] == 9 and total["word_errors"] >= 1
    assert total["rtf"] is not None and total["rtf"] > 0


@pytest.mark.slow
def test_transcribe_loose_files(tmp_path: Path, run_cli: Any) -> None:
    import srt

    model = ONNX_BUILDERS["gigaam-v3-rnnt"](tmp_path / "models" / "gigaam-v3-rnnt")
    recording = tmp_path / "call.wav"
    caller_span, callee_span = _stereo_call(recording, tmp_path)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    out_dir = tmp_path / "out"
    spec = f"onnx-asr:gigaam-v3-rnnt:{model}"
    result = run_cli(
        "transcribe", recording, broken, "--asr", spec, "-f", "srt", "-o", out_dir, code=1
    )
    assert "broken.wav" in result.stderr
    cues = list(srt.parse((out_dir / "call.srt").read_text("utf-8")))
    assert cues and {c.content.split(":")[0] for c in cues} == {"A", "B"}
    for cue in cues:
        span = caller_span if cue.content.startswith("A:") else callee_span
        assert span[0] - 0.6 <= cue.start.total_seconds() < cue.end.total_seconds() <= span[1] + 0.6
    data = json.loads(run_cli("transcribe", recording, "--asr", spec, "--json").stdout)
    [only] = data
    assert only["channels"] == 2 and only["engine"]["engine"] == "onnx-asr"
    assert {s["party"] for s in only["segments"]} == {"A", "B"}
    vtt = run_cli("transcribe", recording, "--asr", spec, "-f", "vtt").stdout
    assert vtt.startswith("WEBVTT") and "<v A>" in vtt

    # a mono recording: parties by voice (Resemblyzer), or none with --speakers 1
    mono_path = _mono_of(recording, tmp_path / "mono.wav")
    [alone] = json.loads(
        run_cli("transcribe", mono_path, "--asr", spec, "--speakers", "1", "--json").stdout
    )
    assert alone["channels"] == 1 and alone["segments"]
    assert {s["party"] for s in alone["segments"]} == {None}
    [split] = json.loads(run_cli("transcribe", mono_path, "--asr", spec, "--json").stdout)
    assert {s["party"] for s in split["segments"]} <= {"A", "B", None}
    assert [s["start"] for s in split["segments"]] == [s["start"] for s in alone["segments"]]


@pytest.mark.slow
def test_case_chooses_an_onnx_speaker_model(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from earshot.speech.testing_speaker import build_tiny_wespeaker
    from earshot.store.speech_models import VoiceprintRow

    model = build_tiny_wespeaker(tmp_path / "speaker") / "wespeaker-tiny.onnx"
    incoming = tmp_path / "in"
    incoming.mkdir()
    _stereo_call(incoming / "call.wav", tmp_path)
    path = tmp_path / "case"
    Case.init(path, case_settings={"voiceprint_engine": f"onnx:{model}"}).close()
    with Case.open(path) as case:
        ingest(case, [incoming], IngestOptions(workers=1))
    run_cli("process", path, "--only", "decode,vad,separate,voiceprint")
    with Case.open(path) as case, case.session() as session:
        rows = list(session.execute(select(VoiceprintRow)).scalars())
        assert {r.party for r in rows} == {"A", "B"}
        assert all(r.engine["engine"] == "onnx-speaker" and len(r.vector) == 32 for r in rows)
        assert all(str(model.name) in r.engine["model"] for r in rows)


class _LanguageEngine:
    """A chunked engine that reports a language per segment (Ukrainian on channel B's)."""

    max_chunk_s = 10.0

    def __init__(self, model: str | None, **options: object) -> None:
        from earshot.speech.info import EngineInfo

        self._info = EngineInfo("lang-echo", model or "none", "1", {})
        self.calls = 0
        self.last_run = None

    @property
    def info(self) -> Any:
        return self._info

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> Any:
        raise AssertionError("the stage must hand a chunked engine the VAD regions")

    def transcribe_chunks(self, audio: np.ndarray, chunks: Any, *, language: str | None) -> Any:
        from earshot.speech.asr import AsrSegment

        self.calls += 1
        code = "uk" if self.calls == 2 else "ru"  # channel 1 is transcribed second
        for start, end in chunks:
            yield AsrSegment(start, end, f"{code} слово", language=code)


@pytest.mark.slow
def test_language_per_segment_is_recorded(tmp_path: Path, run_cli: Any) -> None:
    from earshot.speech.asr import register_engine, unregister_engine

    incoming = tmp_path / "in"
    incoming.mkdir()
    _stereo_call(incoming / "call.wav", tmp_path)
    path = tmp_path / "case"
    Case.init(path).close()
    with Case.open(path) as case:
        ingest(case, [incoming], IngestOptions(workers=1))
    register_engine("lang-echo", _LanguageEngine)
    try:
        run_cli("process", path, "--asr", "lang-echo:x", "--only", "decode,vad,separate,transcript")
    finally:
        unregister_engine("lang-echo")
    with Case.open(path) as case:
        transcript, segments = _segments(case)
    languages = transcript.engine["segment_languages"]
    assert languages and {segments[int(i)].party for i in languages} == {"B"}
    assert set(languages.values()) == {"uk"}


@pytest.mark.slow
def test_mono_call_parties_from_diarization(tmp_path: Path, run_cli: Any) -> None:
    model = ONNX_BUILDERS["gigaam-v3-ctc"](tmp_path / "models" / "gigaam-v3-ctc")
    incoming = tmp_path / "in"
    incoming.mkdir()
    caller_span, callee_span = _stereo_call(tmp_path / "stereo.wav", tmp_path, echo=0.0)
    _mono_of(tmp_path / "stereo.wav", incoming / "one-line.wav")
    path = tmp_path / "case"
    Case.init(path).close()
    with Case.open(path) as case:
        ingest(case, [incoming], IngestOptions(workers=1))
    spec = f"onnx-asr:gigaam-v3-ctc:{model}"
    run_cli("process", path, "--asr", spec, "--only", "decode,vad,separate,transcript")
    with Case.open(path) as case:
        transcript, segments = _segments(case)
    assert transcript.engine["party_basis"] == "diarization"
    assert segments and {s.party for s in segments} <= {"A", "B", None}
    for segment in segments:  # chunks are the mono VAD regions: inside one of the two turns
        inside = [
            span[0] - 0.6 <= segment.start and segment.end <= span[1] + 0.6
            for span in (caller_span, callee_span)
        ]
        assert any(inside), (segment.start, segment.end)
