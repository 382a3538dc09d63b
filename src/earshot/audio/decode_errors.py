"""Precise kinds of `AudioDecodeError`, so ingest can report *why* a recording was refused.

All of them subclass `earshot.errors.AudioDecodeError`: callers that only care that a file
could not be taken in catch that; the ingest report and the tests can tell the cases apart.
Messages are one line: the file, what is wrong, what to do next.
"""

from __future__ import annotations

from earshot.errors import AudioDecodeError

__all__ = [
    "AudioTooLongError",
    "CorruptAudioError",
    "EmptyAudioError",
    "TruncatedAudioError",
    "UnsupportedAudioError",
    "WorkingCopyWriteError",
]


class EmptyAudioError(AudioDecodeError):
    """The file has 0 bytes, or not a single audio sample decodes from it."""


class UnsupportedAudioError(AudioDecodeError):
    """The file is not audio FFmpeg can open, has no audio stream, or its codec is unknown."""


class CorruptAudioError(AudioDecodeError):
    """The decoder rejected audio data in the middle of the recording."""


class TruncatedAudioError(AudioDecodeError):
    """The recording ends early: its header promises more, or it stops inside a frame."""


class AudioTooLongError(AudioDecodeError):
    """The recording is longer than the configured limit (protects disk and time)."""


class WorkingCopyWriteError(AudioDecodeError):
    """The original is fine but the working copies could not be written (disk, permissions)."""
