"""Provenance of every speech result: which engine, which model, which version, which options.

Investigations are re-checked months later; a transcript or a speaker label is only as good as
the record of what produced it, so every engine exposes one of these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np

from ..errors import SpeechInputError

__all__ = ["SAMPLE_RATE", "EngineInfo", "SpeechInputError", "check_audio", "package_version"]

SAMPLE_RATE = 16_000
"""Every speech function takes 16 kHz float32 mono working copies."""


@dataclass(frozen=True)
class EngineInfo:
    """What produced a speech result, for the provenance record."""

    engine: str
    model: str
    version: str
    options: Mapping[str, object] = field(default_factory=dict)


def package_version(distribution: str) -> str:
    """Installed version of ``distribution``, or "unknown" when it has no metadata."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


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
