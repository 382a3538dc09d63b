"""Signal work for published clips: covering intervals, voice disguise, writing the file.

Kept apart from :mod:`earshot.publish.clip` (which decides *what* to cover) so each
step is a pure function of samples that a test can measure.

Voice disguise uses the WORLD vocoder (``pyworld``): the recording is analysed into
F0 (pitch), spectral envelope (formants, the shape of the vocal tract) and
aperiodicity, the F0 is scaled by the pitch shift and the envelope is warped along
the frequency axis by the formant ratio, then the voice is resynthesised with the
same frame times, so the duration and every timestamp stay as they were. A pitch
shift alone is undone by shifting back; moving the formants as well changes the
apparent speaker far more. It is NOT anonymisation against a determined analyst:
the words, the speaking rate, the rhythm, accent and idiolect survive, and someone
who knows the voice, or has a sample of it, may still recognise it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt

from ..errors import ClipAudioError

__all__ = [
    "AUDIO_SUFFIXES",
    "BLEEP_DBFS",
    "BLEEP_HZ",
    "FADE_SECONDS",
    "ClipAudioError",
    "Disguise",
    "cover_intervals",
    "disguise_voice",
    "write_clip_audio",
]

Samples = npt.NDArray[np.float32]

BLEEP_HZ = 1000.0
BLEEP_DBFS = -12.0
FADE_SECONDS = 0.020
# Output suffix -> (container format, codec, sample rate forced by the codec or None).
AUDIO_SUFFIXES: dict[str, tuple[str, str, int | None]] = {
    ".wav": ("wav", "pcm_s16le", None),
    ".flac": ("flac", "flac", None),
    ".mp3": ("mp3", "libmp3lame", None),
    ".ogg": ("ogg", "libopus", 48000),
    ".opus": ("ogg", "libopus", 48000),
}


@dataclass(frozen=True)
class Disguise:
    """Voice disguise: pitch shift in semitones and formant (envelope) scale factor.

    The defaults lower the pitch by four semitones and move the formants up by 12 %,
    which moves the voice away from the speaker in two independent directions
    (a plain pitch shift keeps the formants and sounds like the same person).
    """

    pitch_semitones: float = -4.0
    formant_ratio: float = 1.12

    def __post_init__(self) -> None:
        if not -12.0 <= self.pitch_semitones <= 12.0:
            raise ClipAudioError(
                f"pitch shift {self.pitch_semitones} semitones is out of range; use -12 to 12"
            )
        if not 0.7 <= self.formant_ratio <= 1.4:
            raise ClipAudioError(
                f"formant ratio {self.formant_ratio} is out of range; use 0.7 to 1.4 "
                "(1.0 leaves the formants where they are)"
            )

    def as_dict(self) -> dict[str, float | str]:
        return {
            "method": "WORLD vocoder (pyworld): F0 scaled, spectral envelope warped",
            "pitch_semitones": self.pitch_semitones,
            "formant_ratio": self.formant_ratio,
        }


def _envelope(n: int, rate: int, intervals: Sequence[tuple[float, float]]) -> Samples:
    """1 inside every interval, ramping from 0 over FADE_SECONDS *outside* it.

    The ramps lie outside the interval so nothing of a covered word leaks through a
    fade: the interval itself is covered completely.
    """
    t = np.arange(n, dtype=np.float64) / rate
    mask = np.zeros(n, dtype=np.float64)
    for start, end in intervals:
        rise = np.clip((t - (start - FADE_SECONDS)) / FADE_SECONDS, 0.0, 1.0)
        fall = np.clip(((end + FADE_SECONDS) - t) / FADE_SECONDS, 0.0, 1.0)
        mask = np.maximum(mask, np.minimum(rise, fall))
    return mask.astype(np.float32)


def cover_intervals(
    samples: Samples, rate: int, intervals: Sequence[tuple[float, float]], *, mode: str = "bleep"
) -> Samples:
    """`samples` (channels x frames) with every interval (seconds) bleeped or silenced.

    A bleep is a 1 kHz sine at -12 dBFS, in phase across channels; silence is zeros.
    Outside the intervals and their 20 ms fades the samples are untouched.
    """
    if mode not in ("bleep", "silence"):
        raise ClipAudioError(f"unknown redaction mode {mode!r}; use bleep or silence")
    frames = samples.shape[-1]
    mask = _envelope(frames, rate, intervals)
    if mode == "silence":
        cover = np.zeros(frames, dtype=np.float32)
    else:
        amplitude = 10.0 ** (BLEEP_DBFS / 20.0)
        t = np.arange(frames, dtype=np.float64) / rate
        cover = (amplitude * np.sin(2.0 * np.pi * BLEEP_HZ * t)).astype(np.float32)
    out: Samples = (samples * (1.0 - mask) + cover * mask).astype(np.float32)
    return out


def _warp_envelope(envelope: npt.NDArray[np.float64], ratio: float) -> npt.NDArray[np.float64]:
    """Move every formant from f to f * ratio (interpolating the envelope's bins)."""
    bins = envelope.shape[1]
    source = np.arange(bins, dtype=np.float64) / ratio
    warped = np.empty_like(envelope)
    for i, frame in enumerate(envelope):
        warped[i] = np.interp(source, np.arange(bins), frame, right=frame[-1])
    return warped


def disguise_voice(samples: Samples, rate: int, disguise: Disguise) -> Samples:
    """One channel with its pitch and formants shifted (same length, same timing)."""
    import pyworld

    if samples.size < rate // 10:
        return samples.copy()
    x = samples.astype(np.float64)
    # Harvest, not DIO: telephone audio lacks the fundamental (300 Hz high-pass) and
    # DIO then reports a harmonic as the pitch; Harvest finds the true F0.
    f0, times = pyworld.harvest(x, rate, f0_floor=60.0, f0_ceil=500.0, frame_period=5.0)
    envelope = pyworld.cheaptrick(x, f0, times, rate)
    aperiodicity = pyworld.d4c(x, f0, times, rate)
    shifted_f0 = f0 * 2.0 ** (disguise.pitch_semitones / 12.0)
    warped = _warp_envelope(envelope, disguise.formant_ratio)
    y = pyworld.synthesize(shifted_f0, warped, aperiodicity, rate, frame_period=5.0)
    out = np.zeros(samples.size, dtype=np.float32)
    n = min(out.size, y.size)
    out[:n] = y[:n]
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 0.99:  # resynthesis can overshoot; never clip
        out *= 0.99 / peak
    return out


_BITEXACT = {"fflags": "+bitexact"}
_NEUTRAL = {"mp3": {**_BITEXACT, "id3v2_version": "0", "write_xing": "0"}}


def write_clip_audio(path: Path, samples: Samples, rate: int) -> None:
    """Write channels x frames float samples to `path`, format chosen by its suffix.

    WAV (16-bit PCM), FLAC, MP3 (LAME) and OGG (Opus, resampled to 48 kHz), with
    PyAV; nothing but the audio: "bitexact" keeps FFmpeg from writing its name and
    version as a tag, MP3 gets no ID3 tag and no Xing/LAME header, and only what a
    format requires stays (FLAC's and Opus's vendor field).
    """
    import av
    from av.audio.stream import AudioStream

    suffix = path.suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        raise ClipAudioError(
            f"{path.name}: cannot tell the audio format from {suffix or 'no suffix'!r}; "
            f"name the output *{', *'.join(AUDIO_SUFFIXES)}"
        )
    fmt, codec, forced_rate = AUDIO_SUFFIXES[suffix]
    channels = samples.shape[0]
    layout = "mono" if channels == 1 else "stereo"
    out_rate = forced_rate or rate
    pcm = np.ascontiguousarray((np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16))
    try:
        with av.open(
            str(path), mode="w", format=fmt, options=_NEUTRAL.get(fmt, _BITEXACT)
        ) as container:
            stream = cast(
                "AudioStream",
                container.add_stream(
                    codec, rate=out_rate, layout=layout, options={"flags": "+bitexact"}
                ),
            )
            resampler = av.AudioResampler(format=stream.format, layout=layout, rate=out_rate)
            block = 4096
            for begin in range(0, pcm.shape[1], block):
                chunk = pcm[:, begin : begin + block]
                frame = av.AudioFrame.from_ndarray(
                    chunk.T.reshape(1, -1).copy(), format="s16", layout=layout
                )
                frame.sample_rate = rate
                for resampled in resampler.resample(frame):
                    for packet in stream.encode(resampled):
                        container.mux(packet)
            for resampled in resampler.resample(None):
                for packet in stream.encode(resampled):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    except (OSError, av.FFmpegError, ValueError) as exc:
        path.unlink(missing_ok=True)
        raise ClipAudioError(f"{path}: cannot write the clip ({exc}); check the folder") from exc
