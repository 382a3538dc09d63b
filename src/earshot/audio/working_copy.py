"""Atomic writer of per-channel 16-bit mono WAV working copies.

Why a class of its own: every later stage trusts that a `ch{n}.wav` it finds is complete.
So samples go to hidden temporary files inside the output folder (same file system, so the
final `os.replace` is atomic) and are renamed into place only once the whole recording
decoded. Any failure, including Ctrl-C, removes the temporaries and leaves earlier complete
copies untouched. The stdlib `wave` module writes the files: nothing else is needed for PCM.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

__all__ = ["CHANNEL_FILE", "ChannelWriters", "WrittenChannel", "channel_path"]

CHANNEL_FILE = "ch{channel}.wav"
_CHANNEL_FILE_RE = re.compile(r"^ch(\d+)\.wav$")
_WRITE_BUFFER = 1 << 20


def channel_path(out_dir: Path, channel: int) -> Path:
    """Final path of one channel's working copy."""
    return out_dir / CHANNEL_FILE.format(channel=channel)


@dataclass(frozen=True)
class WrittenChannel:
    """One committed working copy."""

    channel: int
    path: Path
    frames: int


class ChannelWriters:
    """Temporary WAV writers for `channels` channels; `commit()` renames them into place.

    Use as a context manager: leaving the block without `commit()` (an exception) deletes
    the temporaries. Raises `OSError` on disk problems; the caller turns it into a typed
    error because only it knows which original was being decoded.
    """

    def __init__(self, out_dir: Path, channels: int, sample_rate: int) -> None:
        self._out_dir = out_dir
        self._sample_rate = sample_rate
        self._temps: list[Path] = []
        self._files: list[BinaryIO] = []
        self._wavs: list[wave.Wave_write] = []
        self._frames = 0
        self._committed = False
        try:
            for channel in range(channels):
                fd, name = tempfile.mkstemp(
                    dir=out_dir, prefix=f".ch{channel}.", suffix=".wav.part"
                )
                self._temps.append(Path(name))
                handle = os.fdopen(fd, "wb", buffering=_WRITE_BUFFER)
                self._files.append(handle)
                # Kept open across write() calls and closed by commit()/discard().
                wav = wave.open(handle, "wb")  # noqa: SIM115
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(sample_rate)
                self._wavs.append(wav)
        except BaseException:
            self.discard()
            raise

    @property
    def channels(self) -> int:
        return len(self._wavs)

    @property
    def frames(self) -> int:
        """Samples written per channel so far."""
        return self._frames

    def write(self, planes: npt.NDArray[np.int16]) -> None:
        """Append a (channels, samples) block of native-endian int16 samples."""
        for wav, plane in zip(self._wavs, planes, strict=True):
            # writeframesraw: `writeframes` would seek back and patch the header every call.
            wav.writeframesraw(np.ascontiguousarray(plane).data)
        self._frames += int(planes.shape[1])

    def commit(self) -> list[WrittenChannel]:
        """Finish the headers, rename every channel into place, drop stale extra channels."""
        self._close_all()
        written: list[WrittenChannel] = []
        try:
            for channel, temp in enumerate(self._temps):
                final = channel_path(self._out_dir, channel)
                temp.replace(final)
                written.append(WrittenChannel(channel=channel, path=final, frames=self._frames))
        except OSError:
            # Never leave a mix of new and old channels: drop the ones already renamed.
            for done in written:
                done.path.unlink(missing_ok=True)
            raise
        self._committed = True
        self._temps = []
        # A previous decode with more channels (e.g. a different original) would leave
        # ch2.wav next to fresh ch0/ch1: remove it so the folder describes one recording.
        for entry in self._out_dir.iterdir():
            match = _CHANNEL_FILE_RE.match(entry.name)
            if match and int(match.group(1)) >= len(written):
                entry.unlink(missing_ok=True)
        return written

    def discard(self) -> None:
        """Close and delete every temporary; safe to call more than once."""
        # The files are deleted next, so a failing close changes nothing.
        with contextlib.suppress(OSError):
            self._close_all()
        for temp in self._temps:
            temp.unlink(missing_ok=True)
        self._temps = []

    def _close_all(self) -> None:
        wavs, files = self._wavs, self._files
        self._wavs, self._files = [], []
        first_error: OSError | None = None
        for wav, handle in zip(wavs, files, strict=False):
            try:
                wav.close()
                handle.close()
            except OSError as exc:
                first_error = first_error or exc
                handle.close()
        for handle in files[len(wavs) :]:
            handle.close()
        if first_error is not None:
            raise first_error

    def __enter__(self) -> ChannelWriters:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.discard()
