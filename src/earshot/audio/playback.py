"""Playback of a call's working copies: one WAV stream with HTTP Range, and peaks.

In the audio layer (not the web) so that every front end draws the same waveform: the
call page's player and its boundary handles read :func:`call_peaks` through a JSON
route; the peaks of a working copy are computed once per size and kept in memory.

Working copies are one 16 kHz mono WAV per channel. The browser gets a single
virtual WAV that interleaves them, built on the fly for the requested byte range,
so a stereo call plays as stereo, seeking fetches only what it needs, and nothing
is written to disk. Files are found by the call's id through the database and must
resolve inside the case's media directory; no client-supplied path is ever opened.
"""

from __future__ import annotations

import re
import struct
import threading
import wave
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from ..errors import AudioUnavailableError, RangeNotSatisfiableError
from ..store.working import call_working_copies

__all__ = [
    "AudioUnavailableError",
    "ByteRange",
    "CallPeaks",
    "PlaybackSource",
    "RangeNotSatisfiableError",
    "call_peaks",
    "parse_range",
    "peaks",
    "playback_source",
]

HEADER_BYTES = 44
SAMPLE_BYTES = 2
CHUNK_FRAMES = 32768


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class PlaybackSource:
    """The channel files of one call, in channel order, all of one rate and length."""

    paths: tuple[Path, ...]
    sample_rate: int
    frames: int

    @property
    def channels(self) -> int:
        return len(self.paths)

    @property
    def size(self) -> int:
        return HEADER_BYTES + self.frames * self.channels * SAMPLE_BYTES

    def header(self) -> bytes:
        data = self.frames * self.channels * SAMPLE_BYTES
        block = self.channels * SAMPLE_BYTES
        return (
            b"RIFF"
            + struct.pack("<I", 36 + data)
            + b"WAVEfmt "
            + struct.pack(
                "<IHHIIHH",
                16,
                1,
                self.channels,
                self.sample_rate,
                self.sample_rate * block,
                block,
                16,
            )
            + b"data"
            + struct.pack("<I", data)
        )

    def iter_bytes(self, byte_range: ByteRange) -> Iterator[bytes]:
        """The bytes of the virtual WAV in `byte_range`, in chunks."""
        pos, end = byte_range.start, byte_range.end + 1
        if pos < HEADER_BYTES:
            head = self.header()[pos : min(end, HEADER_BYTES)]
            yield head
            pos += len(head)
        if pos >= end:
            return
        block = self.channels * SAMPLE_BYTES
        first = (pos - HEADER_BYTES) // block
        last = (end - 1 - HEADER_BYTES) // block  # inclusive
        skip = (pos - HEADER_BYTES) - first * block
        readers = [wave.open(str(p), "rb") for p in self.paths]  # noqa: SIM115
        try:
            for r in readers:
                r.setpos(first)
            frame = first
            while frame <= last:
                n = min(CHUNK_FRAMES, last - frame + 1)
                chans = [np.frombuffer(r.readframes(n), dtype="<i2") for r in readers]
                got = min(len(c) for c in chans)
                mixed = np.zeros((n, self.channels), dtype="<i2")
                for i, c in enumerate(chans):
                    mixed[:got, i] = c[:got]
                raw = mixed.tobytes()
                if frame == first and skip:
                    raw = raw[skip:]
                if frame + n - 1 == last:
                    tail = (end - HEADER_BYTES) - (last + 1) * block
                    if tail < 0:
                        raw = raw[:tail]
                yield raw
                frame += n
        finally:
            for r in readers:
                r.close()


def playback_source(session: Session, media_root: Path, call_id: int) -> PlaybackSource:
    """The working copies of `call_id`, checked to lie inside `media_root`."""
    rows = call_working_copies(session, call_id)
    if rows is None:
        raise AudioUnavailableError(f"call {call_id} does not exist")
    if not rows:
        raise AudioUnavailableError(
            f"call {call_id} has no working copy yet; run `earshot ingest` again to decode it"
        )
    root = media_root.resolve()
    paths = []
    for row in rows:
        path = (root / row.path).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise AudioUnavailableError(
                f"call {call_id}: working copy of channel {row.channel} is missing or lies "
                f"outside the case media; run `earshot verify` on the case"
            )
        paths.append(path)
    return PlaybackSource(tuple(paths), rows[0].sample_rate, min(row.frames for row in rows))


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range asked for, None for the whole file.

    Multi-range requests are answered with the whole file (allowed by RFC 9110);
    browsers never send them for media.
    """
    if not header or "," in header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiableError(f"range {header!r} is outside 0-{size - 1}")
    return ByteRange(start, end)


_PEAKS: OrderedDict[tuple[Path, int], list[list[float]]] = OrderedDict()
_PEAKS_LOCK = threading.Lock()


def peaks(source: PlaybackSource, buckets: int) -> list[list[float]]:
    """Per-channel peak amplitudes (0..1) in `buckets` slices, for drawing the waveform.

    Computed server-side so the browser never has to download and decode a long
    call before showing its waveform; cached per file.
    """
    buckets = max(1, min(buckets, source.frames or 1))
    out: list[list[float]] = []
    for path in source.paths:
        key = (path, buckets)
        with _PEAKS_LOCK:
            cached = _PEAKS.get(key)
        if cached is None:
            cached = [_channel_peaks(path, source.frames, buckets)]
            with _PEAKS_LOCK:
                _PEAKS[key] = cached
                while len(_PEAKS) > 64:
                    _PEAKS.popitem(last=False)
        out.append(cached[0])
    return out


def _channel_peaks(path: Path, frames: int, buckets: int) -> list[float]:
    result = np.zeros(buckets, dtype=np.float32)
    edges = np.linspace(0, frames, buckets + 1).astype(np.int64)
    with wave.open(str(path), "rb") as reader:
        pos = 0
        while pos < frames:
            n = min(CHUNK_FRAMES * 8, frames - pos)
            data = np.abs(np.frombuffer(reader.readframes(n), dtype="<i2").astype(np.int32))
            if data.size == 0:
                break
            idx = np.searchsorted(edges, np.arange(pos, pos + data.size), side="right") - 1
            idx = np.clip(idx, 0, buckets - 1)
            np.maximum.at(result, idx, data.astype(np.float32))
            pos += data.size
    return [round(float(v) / 32768.0, 4) for v in result]


@dataclass(frozen=True)
class CallPeaks:
    """A call's waveform: its length, channels, and per channel the peak amplitude
    (0..1) of each of `len(peaks[0])` equal slices."""

    duration: float
    channels: int
    peaks: list[list[float]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def call_peaks(
    session: Session,
    media_root: Path,
    call_id: int,
    *,
    per_second: float = 50.0,
    max_buckets: int = 20_000,
    min_buckets: int = 200,
) -> CallPeaks:
    """The waveform of `call_id` from its working copies: `per_second` slices per
    second of audio (at least `min_buckets`, at most `max_buckets`), cached per file.
    Raises :class:`~earshot.errors.AudioUnavailableError` when there is nothing to draw."""
    source = playback_source(session, media_root, call_id)
    duration = source.frames / source.sample_rate
    buckets = min(max_buckets, max(min_buckets, int(duration * per_second)))
    return CallPeaks(duration, source.channels, peaks(source, buckets))
