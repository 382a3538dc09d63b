"""Opening recordings with PyAV, and the one-line messages decoding problems turn into.

Split from :mod:`earshot.audio.decode`: these helpers know the container and the file
(is it there, is it WAV, which stream, what to call it in a message); decode.py knows
decoding and resampling.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import av.error
from av.audio.stream import AudioStream
from av.container import InputContainer

from earshot.audio.decode_errors import (
    AudioTooLongError,
    EmptyAudioError,
    UnsupportedAudioError,
    WorkingCopyWriteError,
)
from earshot.errors import AudioDecodeError

__all__ = [
    "audio_stream",
    "bit_rate",
    "codec_name",
    "container_name",
    "is_sealed",
    "label",
    "one_line",
    "open_input",
    "require_content",
    "too_long",
    "write_error",
]

# The WAV demuxer hands out 4 KiB packets by default: ~56,000 Python-level frames per hour
# of 8 kHz mu-law, which costs more than the decoding itself. 64 KiB packets cut that 16x.
# With such packets FFmpeg's stream probing reads far more than a WAV header needs
# (~100 ms per stereo file), so the probe is capped too; both only for RIFF/WAVE input,
# whose header alone describes the stream. Other formats keep FFmpeg's defaults (an MP3
# with large ID3 tags needs the full probe).
WAV_OPEN_OPTIONS = {"max_size": "65536", "probesize": "32768"}


def require_content(path: Path) -> None:
    """Fail early, with a clear reason, on missing, non-regular or empty files."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioDecodeError(
            f"{label(path)}: cannot read the file ({one_line(exc)}); check the path "
            "and its permissions"
        ) from exc
    if not path.is_file():
        raise UnsupportedAudioError(
            f"{label(path)}: not a regular file; give the path of an audio recording"
        )
    if size == 0:
        raise EmptyAudioError(
            f"{label(path)}: the file is empty (0 bytes); the copy probably failed, copy "
            "it again from the source device"
        )


def open_options(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return {}
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return dict(WAV_OPEN_OPTIONS)
    return {}


@contextmanager
def open_input(path: Path) -> Iterator[InputContainer]:
    try:
        container = av.open(str(path), mode="r", options=open_options(path))
    except av.error.FFmpegError as exc:
        raise UnsupportedAudioError(
            f"{label(path)}: not a readable audio file ({one_line(exc)}); it is not audio, "
            "in an unsupported format, or cut short before its index; check the original"
        ) from exc
    except (OSError, ValueError, UnicodeError) as exc:
        raise UnsupportedAudioError(
            f"{label(path)}: cannot open as audio ({one_line(exc)}); check the original"
        ) from exc
    try:
        yield container
    finally:
        container.close()


def audio_stream(container: InputContainer, path: Path) -> AudioStream:
    stream = container.streams.best("audio")
    if not isinstance(stream, AudioStream):
        raise UnsupportedAudioError(
            f"{label(path)}: the {container.format.name} file holds no audio stream; "
            "check that this is the recording and not another document"
        )
    if stream.codec_context is None:
        raise UnsupportedAudioError(
            f"{label(path)}: its audio codec is not supported by the bundled FFmpeg; "
            "convert it to WAV or FLAC with another tool first"
        )
    return stream


def container_name(container: InputContainer, path: Path) -> str:
    """One short name: FFmpeg's demuxer lists aliases ("mov,mp4,m4a,...")."""
    names = container.format.name.split(",")
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in names else names[0]


def codec_name(stream: AudioStream) -> str:
    """FFmpeg's codec id name ("amr_nb"), not the decoder's ("amrnb", "mp3float")."""
    return str(stream.codec_context.codec.canonical_name)


def bit_rate(container: InputContainer, stream: AudioStream) -> int | None:
    rate = stream.bit_rate or container.bit_rate
    return int(rate) if rate else None


def too_long(path: Path, seconds: float, limit: float, how: str) -> AudioTooLongError:
    return AudioTooLongError(
        f"{label(path)}: longer than the {limit / 3600:.2f} h limit ({how} "
        f"{seconds / 3600:.2f} h); split the recording or raise max_duration"
    )


def write_error(path: Path, out_dir: Path, exc: OSError) -> WorkingCopyWriteError:
    return WorkingCopyWriteError(
        f"{label(path)}: cannot write working copies to {label(out_dir)} "
        f"({one_line(exc)}); check free disk space and permissions, then retry"
    )


def one_line(exc: BaseException | str) -> str:
    if isinstance(exc, av.error.FFmpegError):
        text = exc.strerror or str(exc)
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def is_sealed(path: Path) -> bool:
    """Whether `path` starts with Earshot's encrypted-media header (see security.crypto)."""
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"ESENC"
    except OSError:
        return False  # wave.open reports the problem with its own message


def label(path: Path) -> str:
    """The path as one printable line (file names can hold newlines); Cyrillic stays."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(path))
