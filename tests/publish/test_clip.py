"""Redacted audio clips of the sample corpus: names bleeped or silenced, the rest untouched."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from sqlalchemy import select

from earshot.audio.decode import read_working
from earshot.language.analysis import current_transcript
from earshot.publish.clip import ClipError, ClipOptions, clip_call, sidecar_path, word_intervals
from earshot.publish.clip_audio import (
    BLEEP_DBFS,
    FADE_SECONDS,
    ClipAudioError,
    Disguise,
    disguise_voice,
)
from earshot.publish.export import ExportRefusedError
from earshot.publish.leakguard import LeakDetectedError
from earshot.publish.redaction import TextSpan
from earshot.store.case import Case
from earshot.store.models import Call, CustodyEntry, Segment, WorkingCopyRow

CaseFixture = tuple[Case, dict[str, int]]
RATE = 16000


def _call(case: Case, name: str) -> Call:
    with case.session() as session:
        call = session.scalar(select(Call).where(Call.source_file == name))
        assert call is not None
        session.expunge(call)
        return call


def _decode(path: Path) -> np.ndarray[Any, Any]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = []
        for frame in container.decode(stream):
            data = frame.to_ndarray()
            if frame.format.is_packed:  # interleaved: (1, frames * channels)
                data = data.reshape(-1, len(frame.layout.channels)).T
            chunks.append(data)
    data = np.concatenate(chunks, axis=-1).astype(np.float64)
    return data / 32768.0 if np.abs(data).max() > 2 else data


def _source_mix(case: Case, call: Call, start: float, end: float) -> np.ndarray[Any, Any]:
    with case.session() as session:
        rows = session.scalars(
            select(WorkingCopyRow).where(WorkingCopyRow.sha256 == call.sha256)
        ).all()
        paths = [r.path for r in sorted(rows, key=lambda r: r.channel)]
    channels = []
    for path in paths:
        with case.media.open_working(path) as handle:
            channels.append(read_working(handle, offset=start, duration=end - start))
    n = min(len(c) for c in channels)
    mix: np.ndarray[Any, Any] = np.mean([c[:n] for c in channels], axis=0)
    return mix


def _dominant_hz(x: np.ndarray[Any, Any]) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs: np.ndarray[Any, Any] = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(freqs[int(np.argmax(spectrum))])


def _rms_db(x: np.ndarray[Any, Any]) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12))


def _outside(n: int, intervals: list[dict[str, Any]]) -> np.ndarray[Any, Any]:
    t = np.arange(n) / RATE
    keep = np.ones(n, dtype=bool)
    for iv in intervals:
        keep &= (t < iv["clip_start"] - FADE_SECONDS - 0.002) | (
            t > iv["clip_end"] + FADE_SECONDS + 0.002
        )
    return keep


def test_a_named_segment_is_bleeped_and_the_rest_is_the_source(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    call = _call(case, "call01.wav")  # turn 1 (3.8-8.5 s): "Андрюша! Сынок, слышу..."
    out = tmp_path / "clip.wav"
    result = clip_call(case, call.id, out, ClipOptions(start=1.0, end=12.0, operator="ed"))
    meta = json.loads(result.sidecar.read_text(encoding="utf-8"))
    assert meta == json.loads(json.dumps(result.provenance))
    person = [iv for iv in meta["redactions"] if iv["category"] == "person"]
    assert person and all(iv["basis"] == "segment" for iv in meta["redactions"])
    first = person[0]
    assert first["start"] <= 3.816 and first["end"] >= 8.538
    clip = _decode(out)[0]
    assert abs(len(clip) - 11.0 * RATE) <= 2 and meta["channels"] == 1
    inside = clip[int((first["clip_start"] + 0.05) * RATE) : int((first["clip_end"] - 0.05) * RATE)]
    assert abs(_dominant_hz(inside) - 1000.0) < 5
    assert abs(_rms_db(inside) - (BLEEP_DBFS - 3.01)) < 0.3  # a sine's RMS is 3 dB below peak
    source = _source_mix(case, call, 1.0, 12.0)[: len(clip)]
    keep = _outside(len(clip), meta["redactions"])
    assert keep.sum() > 2 * RATE
    assert np.corrcoef(clip[keep], source[keep])[0, 1] > 0.999
    assert np.max(np.abs(clip[keep] - source[keep])) < 2e-4  # 16-bit rounding only
    # Provenance: hashes, window, operator, version; never the words.
    assert meta["original_sha256"] == call.sha256 and len(meta["working_copies"]) == 2
    assert meta["start"] == 1.0 and meta["end"] == 12.0 and meta["operator"] == "ed"
    assert meta["earshot_version"] and meta["created_at"].endswith("+00:00")
    assert "Андрюш" not in result.sidecar.read_text(encoding="utf-8")
    assert result.sidecar.name == "clip.wav.INTERNAL-provenance.json"
    # who speaks, as the library attributes the sides now (never a phone's owner)
    with case.session() as session:
        parties = {p.label: p.person_id for p in session.get(Call, call.id).parties}  # type: ignore[union-attr]
    for side in meta["sides"]:
        assert (side["state"] == "current") == (parties[side["side"]] is not None)
        assert side["published_as"].startswith("Unknown speaker") or side["state"] == "current"
    assert result.sidecar.parent == case.path / "internal" / "clips" != out.parent
    with case.session() as session:
        entry = session.scalars(select(CustodyEntry).order_by(CustodyEntry.id.desc())).first()
        assert entry is not None and entry.action == "clip-exported"
        assert entry.sha256 == call.sha256


def test_silence_mode_and_stereo_flac(sample_case: CaseFixture, tmp_path: Path) -> None:
    case, _ = sample_case
    call = _call(case, "call01.wav")
    out = tmp_path / "clip.flac"
    options = ClipOptions(start=0.0, end=10.0, mode="silence", stereo=True, operator="ed")
    meta = clip_call(case, call.id, out, options).provenance
    clip = _decode(out)
    assert clip.shape[0] == 2 and meta["channels"] == 2
    for iv in meta["redactions"]:
        a, b = int((iv["clip_start"] + 0.001) * RATE), int(iv["clip_end"] * RATE)
        assert np.max(np.abs(clip[:, a:b])) == 0.0
    keep = _outside(clip.shape[1], meta["redactions"])
    assert _rms_db(clip[0, keep]) > -45  # the speech outside is still there


def test_word_timestamps_cover_only_the_name(sample_case: CaseFixture, tmp_path: Path) -> None:
    case, _ = sample_case
    call = _call(case, "call01.wav")
    with case.session() as session:
        transcript = current_transcript(session, call.id)
        assert transcript is not None
        seg = transcript.segments[1]
        assert seg.text.startswith("Андрюша!") and seg.start is not None and seg.end is not None
        span = (seg.end - seg.start) / len(seg.text.split())
        seg.words = [
            {"start": seg.start + i * span, "end": seg.start + (i + 1) * span, "word": " " + w}
            for i, w in enumerate(seg.text.split())
        ]
        name_end = seg.start + span
        seg_id, seg_start, seg_end = seg.id, seg.start, seg.end
    try:
        out = tmp_path / "words.wav"
        meta = clip_call(case, call.id, out, ClipOptions(start=3.0, end=9.0, margin=0.0)).provenance
        by_words = [iv for iv in meta["redactions"] if iv["basis"] == "words"]
        assert len(by_words) == 1 and by_words[0]["category"] == "person"
        assert by_words[0]["start"] == pytest.approx(seg_start, abs=1e-3)
        assert by_words[0]["end"] == pytest.approx(name_end, abs=1e-3)
        clip = _decode(out)[0]
        rest = clip[int((name_end - 3.0 + 0.05) * RATE) : int((seg_end - 3.0) * RATE)]
        assert abs(_dominant_hz(rest) - 1000.0) > 20  # the rest of the turn is speech
    finally:
        with case.session() as session:
            row = session.get(Segment, seg_id)
            assert row is not None
            row.words = []


def test_word_intervals_maps_character_spans_to_words() -> None:
    text = "Привет, Андрюша, как ты?"
    words = [
        {"start": 0.0, "end": 0.4, "word": " Привет,"},
        {"start": 0.5, "end": 1.1, "word": " Андрюша,"},
        {"start": 1.2, "end": 1.4, "word": " как"},
        {"start": 1.5, "end": 1.7, "word": " ты?"},
    ]
    span = TextSpan(8, 15, "person", "Soldier 1")
    assert word_intervals(text, words, [span]) == [(0.5, 1.1, "person")]
    assert word_intervals(text, words, []) == []
    assert word_intervals("Совсем другой текст", words, [span]) is None  # edited by hand


def test_disguise_shifts_pitch_and_formants_and_keeps_duration(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    import pyworld

    case, _ = sample_case
    call = _call(case, "call01.wav")
    plain, masked = tmp_path / "plain.wav", tmp_path / "masked.wav"
    window = {"start": 8.6, "end": 11.6, "redact": False, "identifying": True, "operator": "ed"}
    clip_call(case, call.id, plain, ClipOptions(**window))  # type: ignore[arg-type]
    meta = clip_call(
        case,
        call.id,
        masked,
        ClipOptions(**window, disguise=Disguise()),  # type: ignore[arg-type]
    ).provenance
    a, b = _decode(plain)[0], _decode(masked)[0]
    assert len(a) == len(b) and meta["duration"] == pytest.approx(3.0, abs=1e-3)
    assert meta["disguise"]["formant_ratio"] == 1.12 and meta["redacted"] is False
    assert np.corrcoef(a, b)[0, 1] < 0.5  # not the same waveform any more

    def median_f0(x: np.ndarray[Any, Any]) -> float:
        # The sample calls are band-limited to 300-3400 Hz (no fundamental): Harvest
        # with a low floor still finds the ~100 Hz pitch of the voice.
        f0, _ = pyworld.harvest(x.astype(np.float64), RATE, f0_floor=60.0)
        return float(np.median(f0[f0 > 0]))

    def centroid(x: np.ndarray[Any, Any]) -> float:
        spectrum = np.abs(np.fft.rfft(x))
        freqs = np.fft.rfftfreq(len(x), 1 / RATE)
        return float((spectrum * freqs).sum() / spectrum.sum())

    source = a.astype(np.float32)
    lower = disguise_voice(source, RATE, Disguise(pitch_semitones=-4.0, formant_ratio=1.0))
    assert median_f0(lower) / median_f0(a) == pytest.approx(2 ** (-4 / 12), rel=0.05)
    assert len(lower) == len(a)
    formants = disguise_voice(source, RATE, Disguise(pitch_semitones=0.0, formant_ratio=1.15))
    assert median_f0(formants) == pytest.approx(median_f0(a), rel=0.05)  # pitch kept
    assert centroid(formants) > centroid(a) * 1.05  # the envelope moved up
    with pytest.raises(ClipAudioError):
        Disguise(pitch_semitones=30.0)


def test_refusals_write_nothing(sample_case: CaseFixture, tmp_path: Path) -> None:
    case, _ = sample_case
    out = tmp_path / "no.wav"
    call = _call(case, "call01.wav")
    with pytest.raises(ExportRefusedError):
        clip_call(case, call.id, out, ClipOptions(start=0, end=5, redact=False))
    untranscribed = _call(case, "call08.gsm")
    with pytest.raises(ClipError, match="no transcript"):
        clip_call(case, untranscribed.id, out, ClipOptions(start=0, end=5))
    with pytest.raises(ClipError, match="empty"):
        clip_call(case, call.id, out, ClipOptions(start=5, end=5))
    with pytest.raises(ClipError, match="no call"):
        clip_call(case, 9999, out, ClipOptions(start=0, end=5))
    assert not out.exists() and not sidecar_path(out, case.path / "internal" / "clips").exists()
    with pytest.raises(ClipError, match="internal"):  # never beside the publishable clip
        clip_call(case, call.id, out, ClipOptions(start=0, end=5, provenance_dir=tmp_path))
    assert not out.exists()


def test_a_name_the_redactor_misses_is_caught_by_the_guard(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    import yaml

    from earshot.publish.policy import parse_policy

    case, _ = sample_case
    policy_file = files("earshot.publish") / "data" / "redaction_policy.yaml"
    raw = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
    raw["categories"]["person"]["redact"] = False
    weak = parse_policy(raw, "weakened")
    out = tmp_path / "leak.wav"
    call = _call(case, "call01.wav")
    with pytest.raises(LeakDetectedError, match="redacted clip"):
        clip_call(case, call.id, out, ClipOptions(start=0, end=10, policy=weak))
    assert not out.exists()


def test_clip_command(sample_case: CaseFixture, tmp_path: Path, run_cli: Any) -> None:
    case, _ = sample_case
    call = _call(case, "call01.wav")
    out = tmp_path / "cli.mp3"
    result = run_cli(
        "clip", case.path, str(call.id), "--start", "1", "--end", "3", "--disguise",
        "-o", out, "--json",
    )  # fmt: skip
    data = json.loads(result.stdout)
    assert data["disguise"]["pitch_semitones"] == -4.0 and out.stat().st_size > 1000
    assert Path(data["sidecar"]).exists()
    refused = run_cli("clip", case.path, str(call.id), "--start", "1", "--end", "6",
                      "--no-redact", "-o", tmp_path / "x.wav", code=None)  # fmt: skip
    assert refused.exit_code != 0 and "--identifying" in refused.stderr
