"""What a container's header says about duration, and whether that can be trusted.

Why this matters: truncation is detected by comparing the duration a header *declares* with
what actually decodes. FFmpeg fills in a duration for every file, but for formats without a
length field (AMR, GSM, raw AAC, MP3 without a Xing/Info/VBRI frame) it is only an estimate
from file size and the first frames' bit rate. A VBR recording that starts in silence then
"declares" far more than it holds, so estimates must never be used to call a file truncated.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.container import InputContainer

__all__ = ["header_duration", "trusted_header_duration"]

# Demuxers whose duration comes from an explicit length field (sample count, data size,
# last granule position, moov/segment duration), not from a bit-rate estimate.
_EXACT_LENGTH_FORMATS = frozenset(
    {"wav", "w64", "flac", "ogg", "mov", "mp4", "m4a", "matroska", "webm", "caf", "aiff"}
)
_RIFF_MAX_CHUNKS = 64
_RIFF_SIZE_PLACEHOLDERS = frozenset({0, 0xFFFFFFFF})
_MP3_SYNC = re.compile(rb"\xff[\xe0-\xff]")
_MP3_LENGTH_TAGS = (b"Xing", b"Info", b"VBRI")
# Xing/Info sit after the side information (offset 13..36), VBRI at offset 36.
_MP3_FIRST_FRAME_WINDOW = 200
_MP3_SEARCH_BYTES = 8192


def header_duration(container: InputContainer, stream: AudioStream) -> float | None:
    """Seconds the stream (or, failing that, the container) declares; None if neither does."""
    time_base: Fraction | None = stream.time_base
    if stream.duration and time_base:
        return float(stream.duration * time_base)
    if container.duration:
        return float(container.duration) / av.time_base
    return None


def trusted_header_duration(
    container: InputContainer, stream: AudioStream, path: Path
) -> float | None:
    """The header duration when it comes from a real length field, else None."""
    seconds = header_duration(container, stream)
    if seconds is None:
        return None
    names = set(container.format.name.split(","))
    if "wav" in names:
        # FFmpeg clips a PCM WAV's length to the bytes present, hiding a cut copy;
        # the data chunk's size field still tells what the recorder wrote.
        riff = _riff_data_seconds(path)
        return max(seconds, riff) if riff is not None else seconds
    if names & _EXACT_LENGTH_FORMATS:
        return seconds
    if "mp3" in names and _mp3_declares_frame_count(path):
        return seconds
    return None


def _riff_data_seconds(path: Path) -> float | None:
    """Seconds promised by a RIFF/WAVE data chunk size (None if absent or a placeholder)."""
    byte_rate = 0
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None  # RF64 and friends keep sizes elsewhere; trust FFmpeg there
            for _ in range(_RIFF_MAX_CHUNKS):
                chunk = handle.read(8)
                if len(chunk) < 8:
                    return None
                size = int.from_bytes(chunk[4:], "little")
                if chunk[:4] == b"fmt ":
                    fmt = handle.read(size + (size & 1))
                    byte_rate = int.from_bytes(fmt[8:12], "little")  # nAvgBytesPerSec
                elif chunk[:4] == b"data":
                    # Recorders that never finished the header leave 0 or 0xFFFFFFFF.
                    if byte_rate <= 0 or size in _RIFF_SIZE_PLACEHOLDERS:
                        return None
                    return size / byte_rate
                else:
                    handle.seek(size + (size & 1), 1)
    except OSError:
        return None
    return None


def _mp3_declares_frame_count(path: Path) -> bool:
    """True if the first MPEG frame is a Xing/Info/VBRI frame carrying the frame count."""
    try:
        with path.open("rb") as handle:
            head = handle.read(10)
            start = 0
            if len(head) == 10 and head[:3] == b"ID3":
                # ID3v2 size is four 7-bit "syncsafe" bytes; flag 0x10 adds a 10-byte footer.
                size = 0
                for byte in head[6:10]:
                    size = (size << 7) | (byte & 0x7F)
                start = 10 + size + (10 if head[5] & 0x10 else 0)
            handle.seek(start)
            window = handle.read(_MP3_SEARCH_BYTES)
    except OSError:
        return False
    sync = _MP3_SYNC.search(window)
    if sync is None:
        return False
    first_frame = window[sync.start() : sync.start() + _MP3_FIRST_FRAME_WINDOW]
    return any(tag in first_frame for tag in _MP3_LENGTH_TAGS)
