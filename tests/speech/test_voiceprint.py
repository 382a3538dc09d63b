from __future__ import annotations

from collections.abc import Callable

import numpy as np
from speech_synth import PHRASES, VOICE_A, VOICE_B

from earshot.speech.vad import detect_speech
from earshot.speech.voiceprint import EMBEDDING_SIZE, embed, similarity


def test_same_voice_is_closer_than_different_voices(
    tts: Callable[[str, tuple[str, int, int]], np.ndarray],
) -> None:
    prints = {}
    for name, text, voice in [
        ("a1", PHRASES[0], VOICE_A),
        ("a2", PHRASES[2], VOICE_A),
        ("b1", PHRASES[1], VOICE_B),
        ("b2", PHRASES[3], VOICE_B),
    ]:
        audio = tts(text, voice)
        prints[name] = embed(audio, detect_speech(audio))
    for voiceprint in prints.values():
        assert voiceprint.vector.shape == (EMBEDDING_SIZE,)
        assert abs(float(np.linalg.norm(voiceprint.vector)) - 1.0) < 1e-4
        assert voiceprint.seconds > 1.0
    same = min(similarity(prints["a1"], prints["a2"]), similarity(prints["b1"], prints["b2"]))
    different = max(
        similarity(prints["a1"], prints["b1"]),
        similarity(prints["a1"], prints["b2"]),
        similarity(prints["a2"], prints["b1"]),
        similarity(prints["a2"], prints["b2"]),
    )
    assert same > different


def test_no_speech_gives_empty_voiceprint() -> None:
    voiceprint = embed(np.zeros(16_000, np.float32), [])
    assert voiceprint.seconds == 0.0
    assert similarity(voiceprint, voiceprint) == 0.0
