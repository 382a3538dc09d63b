from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from speech_synth import PHRASES, RATE, VOICE_A, VOICE_B, SyntheticCall, noise

from earshot.speech.info import SpeechInputError
from earshot.speech.vad import SileroVad, SpeechRegion, VadOptions, default_vad, detect_speech


def test_finds_speech_between_silence_and_noise(
    tts: Callable[[str, tuple[str, int, int]], np.ndarray],
) -> None:
    first = tts(PHRASES[0], VOICE_A)
    second = tts(PHRASES[1], VOICE_B)
    pieces = [
        noise(1.5, 0.003, 1),
        first,
        np.zeros(int(2.0 * RATE), np.float32),
        second,
        noise(1.0, 0.003, 2),
    ]
    audio = np.concatenate(pieces)
    expected = [
        (1.5, 1.5 + first.size / RATE),
        (3.5 + first.size / RATE, 3.5 + (first.size + second.size) / RATE),
    ]
    regions = detect_speech(audio)
    # Short pauses inside a phrase may split it; merge regions that fall in one utterance.
    merged: list[list[float]] = []
    for region in regions:
        if merged and region.start - merged[-1][1] < 0.5:
            merged[-1][1] = region.end
        else:
            merged.append([region.start, region.end])
    assert len(merged) == 2
    for (start, end), (true_start, true_end) in zip(merged, expected, strict=True):
        assert abs(start - true_start) <= 0.2
        assert abs(end - true_end) <= 0.2


def test_silence_and_noise_alone_have_no_speech() -> None:
    audio = np.concatenate([np.zeros(RATE, np.float32), noise(3.0, 0.01, 3)])
    assert detect_speech(audio) == []
    assert detect_speech(np.zeros(0, np.float32)) == []


def test_rejects_stereo_and_integer_input() -> None:
    with pytest.raises(SpeechInputError, match="mono"):
        detect_speech(np.zeros((2, RATE), np.float32))
    with pytest.raises(SpeechInputError, match="float"):
        detect_speech(np.zeros(RATE, np.int16))


def test_info_records_options() -> None:
    options = VadOptions(threshold=0.6)
    info = default_vad().info_with(options)
    assert info.engine == "silero-vad"
    assert info.model.endswith(".onnx")
    assert info.options["threshold"] == 0.6


class _DeafAfter(SileroVad):
    """Silero as on some GSM/AMR copies: its probabilities collapse from ``deaf_at`` s on."""

    def __init__(self, deaf_at: float) -> None:
        super().__init__()
        self._deaf_frame = int(deaf_at * RATE / 512)

    def speech_probabilities(self, audio: np.ndarray) -> np.ndarray:
        probabilities = super().speech_probabilities(audio).copy()
        probabilities[self._deaf_frame :] *= 0.02
        return probabilities


def _covered(regions: list[SpeechRegion], start: float, end: float) -> float:
    """Share of [start, end] inside the regions."""
    inside = sum(max(0.0, min(end, r.end) - max(start, r.start)) for r in regions)
    return inside / (end - start)


def test_webrtc_fallback_recovers_speech_where_silero_goes_deaf(
    two_voice_call: SyntheticCall,
) -> None:
    call = two_voice_call
    deaf_at = call.seconds / 2
    vad = _DeafAfter(deaf_at)
    late = [u for u in call.utterances if u.start > deaf_at]
    assert len(late) >= 3
    without = vad.report(call.mono, VadOptions(fallback=False))
    assert all(_covered(without.regions, u.start, u.end) < 0.2 for u in late)
    report = vad.report(call.mono)
    assert report.fallback_s > 0.5 * sum(u.end - u.start for u in late)
    for u in late:
        assert _covered(report.regions, u.start, u.end) > 0.7, u
    # the pauses between the late turns stay silence
    for before, after in itertools.pairwise(late):
        if after.start - before.end > 0.35:
            assert _covered(report.regions, before.end + 0.15, after.start - 0.15) < 0.5
    # where Silero hears the speech, the fallback adds nothing
    early = vad.report(call.mono[: int(deaf_at * RATE)])
    assert early.fallback_s == 0.0


def _tones_and_noise() -> dict[str, np.ndarray]:
    t = np.arange(12 * RATE) / RATE
    rng = np.random.default_rng(5)
    bursts = np.zeros(t.size)
    for start in (1.0, 5.0, 8.5):
        first = int(start * RATE)
        bursts[first : first + 2 * RATE] = rng.standard_normal(2 * RATE) * 0.1
    return {
        "ringback 425 Hz": 0.2 * np.sin(2 * np.pi * 425 * t) * ((t % 4) < 0.8),
        "busy tone 425 Hz": 0.2 * np.sin(2 * np.pi * 425 * t) * ((t % 0.8) < 0.4),
        "noise bursts": bursts,
        "noise pulsing at 3 Hz": rng.standard_normal(t.size) * 0.05 * (1 + np.sin(6 * np.pi * t)),
    }


@pytest.mark.parametrize("name", sorted(_tones_and_noise()))
def test_fallback_ignores_tones_and_noise(name: str) -> None:
    """WebRTC alone calls all of these speech; the fused detector must not."""
    audio = _tones_and_noise()[name].astype(np.float32)
    report = default_vad().report(audio)
    assert report.regions == [], name
    assert report.fallback_s == 0.0
