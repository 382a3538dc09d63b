from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from speech_synth import PHRASES, RATE, VOICE_A, VOICE_B, noise

from earshot.speech.info import SpeechInputError
from earshot.speech.vad import VadOptions, default_vad, detect_speech


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
