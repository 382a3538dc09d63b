"""Provenance of every speech result: which engine, which model, which version, which options.

Investigations are re-checked months later; a transcript or a speaker label is only as good as
the record of what produced it, so every engine exposes one of these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import SpeechInputError
from ..versions import package_version

__all__ = [
    "SAMPLE_RATE",
    "EngineDescription",
    "EngineInfo",
    "RunInfo",
    "SpeechInputError",
    "check_audio",
    "package_version",
]

SAMPLE_RATE = 16_000
"""Every speech function takes 16 kHz float32 mono working copies."""


@dataclass(frozen=True)
class EngineInfo:
    """What produced a speech result, for the provenance record."""

    engine: str
    model: str
    version: str
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineDescription:
    """What an engine is, known without loading any model: for `earshot engines`, the
    registry and a runner deciding where a stage can run.

    Every engine module provides ``describe() -> EngineDescription`` beside its
    ``create(model, **options)`` factory.
    """

    name: str
    version: str  # the engine library's installed version ("unknown" when absent)
    needs_gpu: bool  # True only when it cannot run on a CPU at all
    description: str

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "needs_gpu": self.needs_gpu,
            "description": self.description,
        }


@dataclass(frozen=True)
class RunInfo:
    """One run of an engine on one recording: the engine's provenance plus what the run
    found out, such as the language detected when asked for "auto" (faster-whisper's
    ``TranscriptionInfo``). Engines keep the latest in ``last_run``."""

    engine: EngineInfo
    language: str | None = None
    language_probability: float | None = None
    duration: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "engine": self.engine.engine,
            "model": self.engine.model,
            "version": self.engine.version,
            "language": self.language,
            "language_probability": self.language_probability,
            "duration": self.duration,
        }


def check_audio(audio: np.ndarray, what: str = "audio") -> np.ndarray:
    """Return ``audio`` as contiguous float32 1-D, or raise :class:`SpeechInputError`."""
    if not isinstance(audio, np.ndarray):
        raise SpeechInputError(
            f"{what} must be a numpy array of 16 kHz samples, got {type(audio).__name__}; "
            "decode files with earshot.audio.read_working first"
        )
    if audio.ndim != 1:
        raise SpeechInputError(
            f"{what} must be one mono channel (1-D), got shape {audio.shape}; "
            "pass each channel of a stereo call separately"
        )
    if not np.issubdtype(audio.dtype, np.floating):
        raise SpeechInputError(
            f"{what} must hold float samples in [-1, 1], got dtype {audio.dtype}; "
            "convert integer PCM by dividing by 32768"
        )
    samples = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.all(np.isfinite(samples)):
        raise SpeechInputError(f"{what} contains NaN or infinite samples; re-decode the file")
    return samples
