"""Precise kinds of `AudioDecodeError`, so ingest can report *why* a recording was refused.

All of them subclass `earshot.errors.AudioDecodeError`: callers that only care that a file
could not be taken in catch that; the ingest report and the tests can tell the cases apart.
Messages are one line: the file, what is wrong, what to do next.
"""

from __future__ import annotations

from ..errors import (
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    TruncatedAudioError,
    UnsupportedAudioError,
    WorkingCopyWriteError,
)

__all__ = [
    "AudioTooLongError",
    "CorruptAudioError",
    "EmptyAudioError",
    "TruncatedAudioError",
    "UnsupportedAudioError",
    "WorkingCopyWriteError",
]
