"""Probe recordings and decode them into the working copies every later stage reads.

Originals (WAV PCM/mu-law/A-law, FLAC, MP3, Ogg/Opus, M4A/AAC, AMR-NB/WB, GSM, ...) are
stored untouched elsewhere; here PyAV (FFmpeg) turns them into one 16 kHz, 16-bit, mono WAV
per original channel, `<out_dir>/ch{n}.wav`. Channels stay separate on purpose: in a
two-channel call recording each side is one speaker, which later stages exploit.

Decoding streams packet by packet through `av.AudioResampler`, so memory stays bounded for
multi-hour files, and output is written atomically (see `working_copy`). Anything that goes
wrong becomes an `AudioDecodeError` subclass whose one-line message names the file, says
what is wrong and what to do; no PyAV exception escapes.
"""

from __future__ import annotations

import contextlib
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.audio.fifo import AudioFifo
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer

from earshot.audio.container import (
    audio_stream,
    bit_rate,
    codec_name,
    container_name,
    is_sealed,
    label,
    one_line,
    open_input,
    require_content,
    too_long,
    write_error,
)
from earshot.audio.decode_errors import (
    CorruptAudioError,
    EmptyAudioError,
    TruncatedAudioError,
    UnsupportedAudioError,
)
from earshot.audio.header import header_duration, trusted_header_duration
from earshot.audio.working_copy import ChannelWriters, WrittenChannel
from earshot.errors import AudioDecodeError, ConfigError

__all__ = [
    "MAX_CHANNELS",
    "AudioInfo",
    "WorkingCopy",
    "decode_to_working",
    "probe",
    "read_working",
]

WORKING_SAMPLE_RATE = 16000
DEFAULT_MAX_DURATION = 6 * 3600.0
# The header may promise more than decodes only by codec padding; beyond both margins the
# file lost data (cut copy, dropped Ogg pages).
_TRUNCATION_FRACTION = 0.10
_TRUNCATION_SECONDS = 0.5
# Samples queued before one resampler call (~1 s at 16 kHz).
_BATCH_SAMPLES = 16384
# FFmpeg's resampler handles at most 64 channels (SWR_CH_MAX); every channel up to that is
# split into its own working copy, never mixed down.
MAX_CHANNELS = 64


@dataclass(frozen=True)
class AudioInfo:
    """What the original recording is, as FFmpeg sees it."""

    container: str  # e.g. "wav", "ogg", "mp3", "amr", "m4a"
    codec: str  # FFmpeg codec id name, e.g. "pcm_mulaw", "opus", "amr_nb"
    sample_rate: int  # of the original stream
    channels: int
    duration: float  # seconds; decoded samples after decode, header value from probe
    bit_rate: int | None
    header_duration: float | None = None  # what the header declares (may be an estimate)


@dataclass(frozen=True)
class WorkingCopy:
    """One channel of the original as a 16-bit mono WAV."""

    channel: int  # 0-based channel of the original
    path: Path  # <out_dir>/ch{channel}.wav
    sample_rate: int
    frames: int


def probe(path: Path) -> AudioInfo:
    """Describe a recording from its header only (fast; nothing is decoded).

    `duration` is the header's value, 0.0 when the header has none; it can be an estimate.
    """
    path = Path(path)
    require_content(path)
    with open_input(path) as container:
        stream = audio_stream(container, path)
        declared = header_duration(container, stream)
        return AudioInfo(
            container=container_name(container, path),
            codec=codec_name(stream),
            sample_rate=int(stream.rate or 0),
            channels=int(stream.channels or 0),
            duration=declared or 0.0,
            bit_rate=bit_rate(container, stream),
            header_duration=declared,
        )


def decode_to_working(
    path: Path,
    out_dir: Path,
    *,
    sample_rate: int = WORKING_SAMPLE_RATE,
    max_duration: float = DEFAULT_MAX_DURATION,
) -> tuple[AudioInfo, list[WorkingCopy]]:
    """Decode `path` into `<out_dir>/ch{n}.wav`, one 16-bit mono WAV per original channel.

    Existing copies are replaced atomically, and only once everything decoded; on failure
    nothing new is left in `out_dir`. Raises an `AudioDecodeError` subclass for empty,
    unsupported, corrupt, truncated or over-long input and for unwritable output.
    """
    if sample_rate <= 0 or max_duration <= 0:
        raise ConfigError(
            f"decode_to_working: sample_rate={sample_rate} and max_duration={max_duration} "
            "must both be positive; pass the defaults (16000, 6 h) unless you need others"
        )
    path = Path(path)
    out_dir = Path(out_dir)
    require_content(path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(path, out_dir, exc) from exc
    with open_input(path) as container:
        stream = audio_stream(container, path)
        declared = trusted_header_duration(container, stream, path)
        if declared is not None and declared > max_duration:
            raise too_long(path, declared, max_duration, "its header declares")
        run = _DecodeRun(path, out_dir, sample_rate, max_duration)
        written = run.decode(container, stream, declared)
        info = AudioInfo(
            container=container_name(container, path),
            codec=codec_name(stream),
            sample_rate=run.source_rate,
            channels=len(written),
            duration=run.decoded_seconds,
            bit_rate=bit_rate(container, stream),
            header_duration=header_duration(container, stream),
        )
    copies = [
        WorkingCopy(channel=w.channel, path=w.path, sample_rate=sample_rate, frames=w.frames)
        for w in written
    ]
    return info, copies


def read_working(
    path: Path | BinaryIO, *, offset: float = 0.0, duration: float | None = None
) -> npt.NDArray[np.float32]:
    """Samples of a working copy as float32 in [-1, 1); optionally only a window (seconds).

    A window keeps memory small for later stages that work on segments of long calls.
    `path` may also be an open binary file, e.g. ``case.media.open_working(row.path)``,
    which decrypts the working copies of an encrypted case (the file is closed here).
    """
    source: str | BinaryIO
    if isinstance(path, (str, Path)):
        path = Path(path)
        source = str(path)
        if is_sealed(path):
            raise AudioDecodeError(
                f"{label(path)}: this working copy is encrypted; read it through "
                "case.media.open_working(path)"
            )
    else:
        source = path
        path = Path(getattr(path, "name", "working copy"))
    try:
        with (
            source if not isinstance(source, str) else contextlib.nullcontext(),
            wave.open(source, "rb") as wav,
        ):
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise AudioDecodeError(
                    f"{label(path)}: not an Earshot working copy ({wav.getnchannels()} "
                    f"channels, {8 * wav.getsampwidth()}-bit); regenerate it with "
                    "decode_to_working"
                )
            rate = wav.getframerate()
            total = wav.getnframes()
            start = min(total, max(0, round(offset * rate)))
            count = total - start if duration is None else max(0, round(duration * rate))
            wav.setpos(start)
            raw = wav.readframes(min(count, total - start))
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioDecodeError(
            f"{label(path)}: cannot read working copy ({one_line(exc)}); "
            "regenerate it with decode_to_working"
        ) from exc
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    samples /= 32768.0
    return samples


class _DecodeRun:
    """State of one streaming decode: channels, resampler, error bookkeeping, totals."""

    def __init__(self, path: Path, out_dir: Path, sample_rate: int, max_duration: float) -> None:
        self.path = path
        self.out_dir = out_dir
        self.sample_rate = sample_rate
        self.max_duration = max_duration
        self.source_rate = 0
        self._writers: ChannelWriters | None = None
        self._resampler: AudioResampler | None = None
        self._fifo: AudioFifo | None = None
        # Durations count whole samples per segment of constant rate: no float drift.
        self._seconds_done = 0.0
        self._segment_rate = 0
        self._segment_samples = 0
        self._segment_key: tuple[str, str, int] | None = None

    @property
    def decoded_seconds(self) -> float:
        if not self._segment_rate:
            return self._seconds_done
        return self._seconds_done + self._segment_samples / self._segment_rate

    def decode(
        self, container: InputContainer, stream: AudioStream, declared: float | None
    ) -> list[WrittenChannel]:
        try:
            try:
                self._decode_all(container, stream)
                self._finish_segment()
            except (ValueError, RuntimeError) as exc:
                # PyAV's own checks on malformed frames; never let its types escape.
                raise self._corrupt(exc) from exc
            self._check_complete(declared)
            assert self._writers is not None  # _check_complete raised otherwise
            try:
                return self._writers.commit()
            except OSError as exc:
                raise write_error(self.path, self.out_dir, exc) from exc
        finally:
            if self._writers is not None:
                self._writers.discard()

    def _decode_all(self, container: InputContainer, stream: AudioStream) -> None:
        """Decode every packet; a decoder error is corrupt unless nothing follows it."""
        codec = stream.codec_context
        pending_error: str | None = None
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as exc:
                raise self._corrupt(exc) from exc
            is_data = packet.size > 0
            try:
                frames = codec.decode(packet)
            except av.error.FFmpegError as exc:
                if pending_error is not None:
                    raise self._corrupt(pending_error) from exc
                pending_error = one_line(exc)
                continue
            if pending_error is not None and is_data:
                # Good data after a bad packet: the damage is inside the recording.
                raise self._corrupt(pending_error)
            for frame in frames:
                self._consume(frame)
        if pending_error is not None:
            raise TruncatedAudioError(
                f"{label(self.path)}: truncated: the file ends inside an audio frame after "
                f"{self.decoded_seconds:.1f} s ({pending_error}); copy the complete file "
                "again from the source device"
            )

    def _consume(self, frame: AudioFrame) -> None:
        """Queue a decoded frame; resample in batches, since codecs like AMR and GSM
        decode 160-sample frames and per-call overhead would dominate otherwise."""
        if frame.samples == 0:
            return
        frame.pts = None  # the FIFO insists on gap-free timestamps counted from 0
        fifo = self._fifo or self._reconfigure(frame)
        if frame.samples >= _BATCH_SAMPLES and not fifo.samples and self._matches(frame):
            # Big frames (WAV with 64 KiB packets) skip the FIFO copy.
            self._segment_samples += frame.samples
            self._check_length()
            self._resample(frame)
            return
        try:
            fifo.write(frame)
        except ValueError:  # sample format, layout or rate changed mid-stream
            fifo = self._reconfigure(frame)
            fifo.write(frame)
        self._segment_samples += frame.samples
        self._check_length()
        if fifo.samples >= _BATCH_SAMPLES:
            self._resample(fifo.read())

    def _check_length(self) -> None:
        if self.decoded_seconds > self.max_duration:
            raise too_long(self.path, self.decoded_seconds, self.max_duration, "already")

    def _matches(self, frame: AudioFrame) -> bool:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        return key == self._segment_key

    def _reconfigure(self, frame: AudioFrame) -> AudioFifo:
        """Start a new input segment (the first, or after a mid-stream format change)."""
        self._finish_segment()
        channels = frame.layout.nb_channels
        if channels > MAX_CHANNELS:
            raise UnsupportedAudioError(
                f"{label(self.path)}: {channels} channels; Earshot splits at most "
                f"{MAX_CHANNELS} channels into working copies; split the recording first "
                "(e.g. ffmpeg -af channelsplit) and ingest the parts"
            )
        if self._writers is None:
            self.source_rate = frame.sample_rate
            try:
                self._writers = ChannelWriters(self.out_dir, channels, self.sample_rate)
            except OSError as exc:
                raise write_error(self.path, self.out_dir, exc) from exc
        elif channels != self._writers.channels:
            raise CorruptAudioError(
                f"{label(self.path)}: the channel count changes from "
                f"{self._writers.channels} to {channels} at {self.decoded_seconds:.1f} s; "
                "split the recording into parts with a constant channel count"
            )
        # Layout is kept as decoded (also "3 channels" with no known order): one file
        # per channel needs no downmix. Packed "s16", never planar "s16p": PyAV counts a
        # planar frame's planes by walking FFmpeg's pointer array up to a NULL, which an
        # 8-channel frame does not have (it reads past it and to_ndarray() segfaults);
        # a packed frame has exactly one plane at any channel count.
        self._resampler = AudioResampler(format="s16", rate=self.sample_rate)
        self._fifo = AudioFifo()
        self._segment_rate = frame.sample_rate
        self._segment_key = (frame.format.name, frame.layout.name, frame.sample_rate)
        return self._fifo

    def _finish_segment(self) -> None:
        """Resample what is queued and flush the resampler's tail."""
        if self._fifo is not None and self._fifo.samples:
            self._resample(self._fifo.read())
        if self._resampler is not None:
            self._resample(None)
        self._seconds_done = self.decoded_seconds
        self._segment_samples = 0
        self._fifo = None
        self._resampler = None

    def _resample(self, frame: AudioFrame | None) -> None:
        assert self._resampler is not None
        try:
            converted = self._resampler.resample(frame)
        except (av.error.FFmpegError, ValueError) as exc:
            detail = ""
            if frame is not None:
                detail = (
                    f" {frame.layout.nb_channels}-channel '{frame.layout.name}' "
                    f"{frame.format.name} audio at {frame.sample_rate} Hz"
                )
            raise UnsupportedAudioError(
                f"{label(self.path)}: cannot convert{detail} to {self.sample_rate} Hz "
                f"({one_line(exc)}); convert it to WAV with another tool first"
            ) from exc
        self._write(converted)

    def _write(self, frames: list[AudioFrame]) -> None:
        assert self._writers is not None
        for frame in frames:
            channels = frame.layout.nb_channels
            packed = cast(npt.NDArray[np.int16], frame.to_ndarray())  # (1, samples*channels)
            planes = packed.reshape(-1, channels).T  # interleaved -> (channels, samples)
            try:
                self._writers.write(planes)
            except OSError as exc:
                raise write_error(self.path, self.out_dir, exc) from exc

    def _check_complete(self, declared: float | None) -> None:
        if self._writers is None or self._writers.frames == 0:
            raise EmptyAudioError(
                f"{label(self.path)}: no audio samples decode from this file; the "
                "recording is empty or its audio stream is damaged; check the original"
            )
        if declared is None:
            return
        missing = declared - self.decoded_seconds
        if missing > _TRUNCATION_SECONDS and missing > _TRUNCATION_FRACTION * declared:
            raise TruncatedAudioError(
                f"{label(self.path)}: truncated or damaged: the header declares "
                f"{declared:.1f} s but only {self.decoded_seconds:.1f} s decode; copy the "
                "complete file again from the source device"
            )

    def _corrupt(self, cause: BaseException | str) -> CorruptAudioError:
        detail = cause if isinstance(cause, str) else one_line(cause)
        if self.decoded_seconds == 0:
            where = "from the start (it may not be audio in the format it claims)"
        else:
            where = f"at {self.decoded_seconds:.1f} s"
        return CorruptAudioError(
            f"{label(self.path)}: corrupt audio data {where} ({detail}); copy the original "
            "again, or repair it with a dedicated tool and ingest the repaired file"
        )
