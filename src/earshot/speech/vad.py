"""Voice activity detection with Silero VAD, run from the ONNX model shipped in its wheel.

We use the package's *sequence* ONNX export (``silero_vad_16k_sequence.onnx``) through its own
torch-free wrapper: it computes the same per-frame probabilities as the streaming model but in
one ONNX call per ~16 s block instead of one call per 32 ms frame, which is what makes VAD a
negligible part of the 50x-real-time budget on a 2-core machine.  No weights are downloaded.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

import numpy as np

from earshot.speech.info import SAMPLE_RATE, EngineInfo, check_audio, package_version

__all__ = ["SileroVad", "SpeechRegion", "VadOptions", "default_vad", "detect_speech"]

_MODEL_FILE = "silero_vad_16k_sequence.onnx"


@dataclass(frozen=True)
class SpeechRegion:
    """A stretch of speech, in seconds from the start of the channel."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class VadOptions:
    """Silero's own parameters; defaults suit telephone speech with short pauses."""

    threshold: float = 0.5
    min_speech_ms: int = 250
    min_silence_ms: int = 200
    speech_pad_ms: int = 30
    max_speech_s: float = math.inf


class SileroVad:
    """One loaded Silero VAD session (single-threaded, as the wheel configures it)."""

    def __init__(self) -> None:
        from silero_vad.sequence_vad import SileroVADSequence  # type: ignore[import-untyped, unused-ignore]

        model_path = resources.files("silero_vad.data").joinpath(_MODEL_FILE)
        self._model = SileroVADSequence(str(model_path), sampling_rate=SAMPLE_RATE)
        self.info = EngineInfo(
            engine="silero-vad",
            model=_MODEL_FILE,
            version=package_version("silero-vad"),
            options={},
        )

    def speech_probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Speech probability of each 32 ms frame (512 samples)."""
        samples = check_audio(audio)
        probabilities: np.ndarray = self._model.audio_forward(samples, sampling_rate=SAMPLE_RATE)
        return probabilities

    def detect(self, audio: np.ndarray, options: VadOptions | None = None) -> list[SpeechRegion]:
        """Speech regions of one channel, sorted and non-overlapping."""
        from silero_vad.utils_vad import get_speech_timestamps_from_probs  # type: ignore[import-untyped, unused-ignore]

        opts = options or VadOptions()
        samples = check_audio(audio)
        if samples.size == 0:
            return []
        stamps = get_speech_timestamps_from_probs(
            self.speech_probabilities(samples),
            sampling_rate=SAMPLE_RATE,
            threshold=opts.threshold,
            min_speech_duration_ms=opts.min_speech_ms,
            max_speech_duration_s=opts.max_speech_s,
            min_silence_duration_ms=opts.min_silence_ms,
            speech_pad_ms=opts.speech_pad_ms,
            audio_length_samples=samples.size,
        )
        return [
            SpeechRegion(start=s["start"] / SAMPLE_RATE, end=s["end"] / SAMPLE_RATE) for s in stamps
        ]

    def info_with(self, options: VadOptions) -> EngineInfo:
        """Provenance record including the options a run used."""
        return EngineInfo(self.info.engine, self.info.model, self.info.version, asdict(options))


@cache
def default_vad() -> SileroVad:
    """A process-wide VAD session (loading takes ~0.1 s; sessions are reusable)."""
    return SileroVad()


def detect_speech(audio: np.ndarray, options: VadOptions | None = None) -> list[SpeechRegion]:
    """Speech regions of a 16 kHz mono channel with the shared Silero session."""
    return default_vad().detect(audio, options)
