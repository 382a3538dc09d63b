"""The shipped sample corpus agrees with its truth.json, and its generator is deterministic.

Every later layer's tests lean on truth.json, so a corpus that drifted from it (a sidecar
with a missing cue, a stereo call with the voices swapped, a number that no longer
normalizes) would make their failures meaningless.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import itertools
import json
import re
import shutil
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import av
import numpy as np
import pytest
import srt
import webvtt

import earshot
from earshot.phones import normalize_phone

SAMPLE = Path(earshot.__file__).parent / "data" / "sample"
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
CALLS: list[dict[str, Any]] = TRUTH["calls"]
CALL_IDS = [c["file"] for c in CALLS]
RATE = 8000


def decode(path: Path) -> tuple[np.ndarray, str, int]:
    """Samples × channels at 8 kHz, FFmpeg's codec id name, and the channel count."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        channels = stream.codec_context.layout.nb_channels
        layout = "stereo" if channels == 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=RATE)
        parts = [f.to_ndarray() for fr in container.decode(stream) for f in resampler.resample(fr)]
        parts += [f.to_ndarray() for f in resampler.resample(None)]
        codec = stream.codec_context.codec.canonical_name  # "amr_nb", not decoder "amrnb"
    samples: np.ndarray = np.concatenate(parts, axis=1).T
    return samples, str(codec), int(channels)


@pytest.fixture(scope="module")
def decoded() -> dict[str, tuple[np.ndarray, str, int]]:
    return {c["file"]: decode(SAMPLE / c["path"]) for c in CALLS}


def rms(samples: np.ndarray) -> np.ndarray:
    level: np.ndarray = np.sqrt(np.mean(np.square(samples), axis=0))
    return level


# ------------------------------------------------------------------ audio


@pytest.mark.parametrize("name", CALL_IDS)
def test_audio_decodes_to_declared_channels_duration_and_codec(
    name: str, decoded: dict[str, tuple[np.ndarray, str, int]]
) -> None:
    call = next(c for c in CALLS if c["file"] == name)
    samples, codec, channels = decoded[name]
    assert channels == call["channels"]
    assert codec == call["codec"]
    duration = samples.shape[0] / RATE
    assert abs(duration - call["duration"]) <= 0.5
    assert 20.0 <= duration <= 50.0
    assert call["turns"][-1]["end"] <= duration


def test_calls_folder_holds_only_audio_and_sidecars() -> None:
    """`earshot demo` ingests the calls folder as is; nothing else may sit in it."""
    expected = {c["path"] for c in CALLS} | {c["sidecar"] for c in CALLS if c["sidecar"]}
    present = {p.relative_to(SAMPLE).as_posix() for p in (SAMPLE / "calls").iterdir()}
    assert present == expected


def test_codecs_and_layouts_are_mixed() -> None:
    codecs = {c["codec"] for c in CALLS}
    assert {"pcm_s16le", "pcm_mulaw", "pcm_alaw", "flac", "mp3", "opus", "aac"} <= codecs
    assert {"amr_nb", "gsm", "gsm_ms"} <= codecs
    layouts = [c["channels"] for c in CALLS]
    assert layouts.count(1) >= 3 and layouts.count(2) >= 3
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 4.2 * 1024 * 1024


@pytest.mark.parametrize("name", [c["file"] for c in CALLS if c["channels"] == 2])
def test_stereo_speaker_is_on_own_channel_at_each_turn(
    name: str, decoded: dict[str, tuple[np.ndarray, str, int]]
) -> None:
    call = next(c for c in CALLS if c["file"] == name)
    samples = decoded[name][0]
    for turn in call["turns"]:
        seg = samples[int(turn["start"] * RATE) : int(turn["end"] * RATE)]
        level = rms(seg)
        own = 0 if turn["party"] == "A" else 1
        assert level[own] > 5 * level[1 - own], (turn, level)


@pytest.mark.parametrize("name", CALL_IDS)
def test_speech_is_where_the_truth_says(
    name: str, decoded: dict[str, tuple[np.ndarray, str, int]]
) -> None:
    """Turns are loud, the gaps between them (and before the first) are near silence."""
    call = next(c for c in CALLS if c["file"] == name)
    mono = decoded[name][0].sum(axis=1)
    speech = np.zeros(mono.size, dtype=bool)
    for turn in call["turns"]:
        speech[int(turn["start"] * RATE) : int(turn["end"] * RATE)] = True
    quiet = ~speech
    quiet[: int(call["turns"][0]["start"] * RATE) // 2] = False  # codec start-up
    guard = int(0.05 * RATE)  # tolerate 50 ms around each edge
    edges = np.flatnonzero(np.diff(speech.astype(np.int8)))
    for edge in edges:
        quiet[max(0, edge - guard) : edge + guard] = False
    assert quiet.sum() > RATE * 1.0
    speech_level = float(np.sqrt(np.mean(mono[speech] ** 2)))
    gap_level = float(np.sqrt(np.mean(mono[quiet] ** 2)))
    assert speech_level > 30 * gap_level, (speech_level, gap_level)


# ------------------------------------------------------------------ sidecars


def _close(seconds: float, expected: float) -> bool:
    return abs(seconds - expected) <= 0.002


@pytest.mark.parametrize("name", CALL_IDS)
def test_sidecar_matches_truth(name: str) -> None:
    call = next(c for c in CALLS if c["file"] == name)
    stem = Path(name).stem
    turns = call["turns"]
    kind = call["sidecar_format"]
    if kind is None:
        for ext in ("vtt", "srt", "txt"):
            assert not (SAMPLE / "calls" / f"{stem}.{ext}").exists()
        return
    path = SAMPLE / call["sidecar"]
    assert path == SAMPLE / "calls" / f"{stem}.{kind}"
    if kind == "vtt":
        cues = webvtt.read(str(path)).captions
        assert len(cues) == len(turns)
        for cue, turn in zip(cues, turns, strict=True):
            assert cue.voice == turn["party"]
            assert cue.text == turn["text"]
            assert _close(_vtt_seconds(cue.start), turn["start"])
            assert _close(_vtt_seconds(cue.end), turn["end"])
    elif kind == "srt":
        subs = list(srt.parse(path.read_text(encoding="utf-8")))
        assert len(subs) == len(turns)
        for sub, turn in zip(subs, turns, strict=True):
            assert sub.content == turn["text"]
            assert not re.match(r"^\s*(<v|[AB]:)", sub.content)
            assert _close(sub.start.total_seconds(), turn["start"])
            assert _close(sub.end.total_seconds(), turn["end"])
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines == [f"{t['party']}: {t['text']}" for t in turns]


def test_sidecar_kinds_are_mixed() -> None:
    kinds = [c["sidecar_format"] for c in CALLS]
    assert kinds.count("vtt") >= 3 and kinds.count("srt") >= 3
    assert kinds.count("txt") == 1 and kinds.count(None) >= 2


@pytest.mark.parametrize("name", CALL_IDS)
def test_english_translation_has_same_cues_and_voices(name: str) -> None:
    call = next(c for c in CALLS if c["file"] == name)
    path = SAMPLE / call["translation"]
    assert path == SAMPLE / "translations" / f"{Path(name).stem}.en.vtt"
    cues = webvtt.read(str(path)).captions
    assert len(cues) == len(call["turns"])
    for cue, turn in zip(cues, call["turns"], strict=True):
        assert cue.voice == turn["party"]
        assert _close(_vtt_seconds(cue.start), turn["start"])
        assert _close(_vtt_seconds(cue.end), turn["end"])
        assert not re.search("[а-яё]", cue.text, re.IGNORECASE), cue.text


def _vtt_seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


# ------------------------------------------------------------------ records


def test_calls_csv_refers_to_files_and_numbers_normalize() -> None:
    with (SAMPLE / "calls.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [
            "file", "started_at", "caller", "callee", "caller_name", "callee_name",
            "location", "notes", "intercept_id",
        ]  # fmt: skip
        rows = list(reader)
    assert [r["file"] for r in rows] == CALL_IDS
    zones: set[bool] = set()
    shapes: set[str] = set()
    for row, call in zip(rows, CALLS, strict=True):
        assert (SAMPLE / "calls" / row["file"]).is_file()
        assert normalize_phone(row["caller"]) == call["caller"]
        assert normalize_phone(row["callee"]) == call["callee"]
        shapes.update(re.sub(r"\d", "9", row[k]) for k in ("caller", "callee"))
        started = datetime.fromisoformat(row["started_at"])
        zones.add(started.tzinfo is not None)
        assert datetime(2022, 10, 1) <= started.replace(tzinfo=None) <= datetime(2023, 4, 30)
        assert row["started_at"] == call["started_at"]
        assert re.fullmatch(r"INT-\d\d-\d{4}-\d{4}", row["intercept_id"])
    assert zones == {True, False}
    assert len(shapes) >= 4


# ------------------------------------------------------------------ cast and content


def test_each_person_has_one_voice_and_voices_differ() -> None:
    cast = {p["person_id"]: p for p in TRUTH["cast"]}
    assert len({p["voice"] for p in cast.values()}) == len(cast)
    for call in CALLS:
        for party in ("A", "B"):
            entry = call["parties"][party]
            assert entry["voice"] == cast[entry["person_id"]]["voice"]
        assert call["caller"] in cast[call["parties"]["A"]["person_id"]]["phones"]
        assert call["callee"] in cast[call["parties"]["B"]["person_id"]]["phones"]


def test_a_soldier_uses_two_numbers_and_relatives_share_a_phone() -> None:
    roles = {p["person_id"]: p["role"] for p in TRUTH["cast"]}
    callers: dict[str, set[str]] = {}
    users: dict[str, set[str]] = {}
    for call in CALLS:
        a, b = call["parties"]["A"]["person_id"], call["parties"]["B"]["person_id"]
        callers.setdefault(a, set()).add(call["caller"])
        users.setdefault(call["callee"], set()).add(b)
    assert any(len(n) >= 2 and roles[p] == "soldier" for p, n in callers.items())
    assert any(len(ids) >= 2 and all(roles[i] == "relative" for i in ids) for ids in users.values())


def test_planted_terms_occur_in_their_turns() -> None:
    kinds: set[str] = set()
    for call in CALLS:
        for item in call["planted"]:
            kinds.add(item["kind"])
            assert item["turns"]
            for index in item["turns"]:
                word = rf"(?<!\w){re.escape(item['text'])}(?!\w)"
                assert re.search(word, call["turns"][index]["text"])
    expected = {"slang", "diminutive", "name", "phone", "unit", "address", "date_of_birth"}
    assert expected | {"place", "public_figure"} <= kinds


def test_turns_are_ordered_short_and_overlap_only_in_mono() -> None:
    for call in CALLS:
        turns = call["turns"]
        overlaps = 0
        for prev, turn in itertools.pairwise(turns):
            assert turn["start"] > prev["start"]
            overlaps += turn["start"] < prev["end"]
        assert all(0.5 <= t["end"] - t["start"] <= 8.0 for t in turns)
        assert {t["party"] for t in turns} == {"A", "B"}
        if call["channels"] == 2:
            assert overlaps == 0
        else:
            assert 1 <= overlaps <= 2, call["file"]


def test_share_of_wanting_out_grows() -> None:
    ordered = sorted(CALLS, key=lambda c: c["started_at"][:10])
    half = len(ordered) // 2
    early = sum(c["wants_out"] for c in ordered[:half]) / half
    late = sum(c["wants_out"] for c in ordered[half:]) / (len(ordered) - half)
    assert late > early


# ------------------------------------------------------------------ generator


def test_every_screenplay_entry_is_in_the_truth() -> None:
    """An edited screenplay without a regenerated corpus fails here."""
    play = _load_script("sample_screenplay")
    assert [c.id for c in play.CALLS] == [Path(c["file"]).stem for c in CALLS]
    assert [p["person_id"] for p in TRUTH["cast"]] == list(play.CAST)
    for call, truth in zip(play.CALLS, CALLS, strict=True):
        assert [t.ru for t in call.turns] == [t["text"] for t in truth["turns"]]
        assert [t.party for t in call.turns] == [t["party"] for t in truth["turns"]]
        assert [call.a, call.b] == [truth["parties"][p]["person_id"] for p in ("A", "B")]
        assert [list(p) for p in call.planted] == [[p["kind"], p["text"]] for p in truth["planted"]]
        assert call.wants_out == truth["wants_out"]


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("  stereo: true\n", "  stereo: true\n  colour: red\n", "unknown keys ['colour']"),
        ("  b: galina_selezneva\n", "  b: galina\n", "no person 'galina'"),
        ("  stereo: true\n", "  stereo: 'yes'\n", "wrong type"),
        ("  format: flac\n", "  format: wma\n", "'wma' not in"),
        ("- {diminutive: Андрюша}", "- {nickname: Андрюша}", "planted"),
    ],
)
def test_screenplay_validation_rejects_mistakes(
    tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    play = _load_script("sample_screenplay")
    text = (SCRIPTS / "sample_screenplay.yaml").read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "play.yaml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(play.ScreenplayError, match=re.escape(complaint)):
        play.load_screenplay(broken)


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="the generator needs espeak-ng and sox",
)
def test_generator_is_deterministic(tmp_path: Path) -> None:
    gen = _load_script("make_sample_corpus")
    call = next(c for c in gen.CALLS if c.id == "call10")
    digests = []
    for run in ("one", "two"):
        entry, pcm_hash = gen.build_call(call, tmp_path / run)
        audio = (tmp_path / run / entry["path"]).read_bytes()
        digests.append((pcm_hash, hashlib.sha256(audio).hexdigest(), entry["turns"]))
    assert digests[0] == digests[1]
    truth_call = next(c for c in CALLS if c["file"] == "call10.flac")
    assert digests[0][2] == truth_call["turns"]
    if TRUTH["espeak_ng"] == gen.espeak_version():
        assert digests[0][0] == TRUTH["pcm_sha256"]["call10"]
