"""The ONNX speaker-embedding engine (WeSpeaker / ReDimNet / CAM++ layout) on a tiny model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from speech_synth import PHRASES, VOICE_A, VOICE_B

from earshot.errors import ConfigError, ModelMissingError
from earshot.speech.embeddings_onnx import OnnxSpeakerEncoder, encoder_for
from earshot.speech.testing_onnx import build_tiny_gigaam_v3_ctc
from earshot.speech.testing_speaker import build_tiny_wespeaker
from earshot.speech.vad import SpeechRegion
from earshot.speech.voiceprint import VoiceEncoder, similarity

Render = Callable[[str, tuple[str, int, int]], np.ndarray]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> OnnxSpeakerEncoder:
    folder = build_tiny_wespeaker(tmp_path_factory.mktemp("speaker"))
    return OnnxSpeakerEncoder(folder)


def test_windows_inside_regions(encoder: OnnxSpeakerEncoder, tts: Render) -> None:
    speech = tts(PHRASES[0], VOICE_A)
    audio = np.concatenate([np.zeros(16_000, np.float32), speech, np.zeros(8_000, np.float32)])
    region = SpeechRegion(1.0, 1.0 + speech.size / 16_000)
    windows = encoder.windows(audio, [region])
    assert windows and all(
        region.start - 1e-6 <= w.start < w.end <= region.end + 1e-6 for w in windows
    )
    assert all(abs(float(np.linalg.norm(w.vector)) - 1.0) < 1e-4 for w in windows)
    print_ = encoder.embed(audio, [region])
    assert print_.vector.shape == (32,) and print_.seconds == pytest.approx(
        region.duration, abs=1e-3
    )
    assert encoder.embed(audio, []).seconds == 0.0
    assert encoder.info.engine == "onnx-speaker" and len(str(encoder.info.options["sha256"])) == 64


def test_same_voice_closer_than_another(encoder: OnnxSpeakerEncoder, tts: Render) -> None:
    def voiceprint(text: str, voice: tuple[str, int, int]) -> np.ndarray:
        speech = tts(text, voice)
        return encoder.embed(speech, [SpeechRegion(0.0, speech.size / 16_000)]).vector

    a1, a2 = voiceprint(PHRASES[0], VOICE_A), voiceprint(PHRASES[2], VOICE_A)
    b1 = voiceprint(PHRASES[1], VOICE_B)
    assert similarity(a1, a2) > similarity(a1, b1)


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="voiceprint_engine"):
        OnnxSpeakerEncoder(tmp_path / "nothing.onnx")
    wrong = build_tiny_gigaam_v3_ctc(tmp_path / "asr")
    with pytest.raises(ConfigError, match="not a WeSpeaker-style export"):
        OnnxSpeakerEncoder(wrong / "v3_ctc.onnx")
    with pytest.raises(ConfigError, match="unknown"):
        encoder_for("ecapa:/x")
    assert isinstance(encoder_for("resemblyzer"), VoiceEncoder)
