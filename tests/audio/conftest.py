"""Real recordings for the audio tests, encoded once per session with PyAV (and sox for GSM).

Each channel carries its own tone (channel 0: 600 Hz, channel 1: 1400 Hz, channel 2:
2200 Hz) over a quiet shared chirp, so a test can tell the channels apart after a lossy
codec and resampling by their dominant frequency.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

SECONDS = 2.0
CHANNEL_TONES = (600.0, 1400.0, 2200.0)


@dataclass(frozen=True)
class Recording:
    """A generated fixture file and what decoding it must give back."""

    path: Path
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration: float = SECONDS

    @property
    def tones(self) -> tuple[float, ...]:
        """Dominant frequency of each channel."""
        return CHANNEL_TONES[: self.channels]


def signal(rate: int, channels: int, seconds: float = SECONDS) -> npt.NDArray[np.int16]:
    """(channels, samples) int16: one tone per channel plus a shared 200-3000 Hz chirp."""
    t = np.arange(round(seconds * rate)) / rate
    sweep = 2800 / (2 * seconds) if seconds else 0.0
    chirp = 0.08 * np.sin(2 * np.pi * (200 * t + sweep * t**2))
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.05)  # no clicks at the ends
    rows = [
        (0.5 * np.sin(2 * np.pi * CHANNEL_TONES[ch] * t) + chirp) * fade for ch in range(channels)
    ]
    return (np.stack(rows) * 32767 * 0.8).astype(np.int16)


def encode(
    path: Path,
    codec: str,
    rate: int,
    channels: int,
    *,
    container_format: str | None = None,
    options: dict[str, str] | None = None,
    seconds: float = SECONDS,
) -> Path:
    """Encode `signal()` with a real FFmpeg encoder through PyAV."""
    layout = {1: "mono", 2: "stereo"}[channels]
    samples = signal(rate, channels, seconds)
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout, options=options or {})
        step = 1024
        for start in range(0, samples.shape[1], step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, start : start + step]), format="s16p", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_plain_wav(path: Path, rate: int, channels: int, seconds: float = SECONDS) -> Recording:
    """A PCM WAV written by the stdlib: for >2 channels it carries no channel mask."""
    samples = signal(rate, channels, seconds)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.T.astype("<i2").tobytes())
    return Recording(path, "wav", "pcm_s16le", rate, channels, seconds)


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    folder = tmp_path_factory.mktemp("originals")
    made: dict[str, Recording] = {}

    def add(
        name: str,
        suffix: str,
        codec: str,
        rate: int,
        channels: int,
        *,
        codec_name: str | None = None,
        container_format: str | None = None,
        options: dict[str, str] | None = None,
    ) -> None:
        path = folder / f"{name}.{suffix}"
        encode(path, codec, rate, channels, container_format=container_format, options=options)
        made[name] = Recording(path, suffix, codec_name or codec, rate, channels)

    add("wav_s16_stereo", "wav", "pcm_s16le", 8000, 2)
    add("wav_mulaw_stereo", "wav", "pcm_mulaw", 8000, 2)
    add("wav_alaw_mono", "wav", "pcm_alaw", 8000, 1)
    add("flac_stereo", "flac", "flac", 8000, 2)
    add("mp3_stereo", "mp3", "libmp3lame", 16000, 2, codec_name="mp3")
    add("opus_stereo", "ogg", "libopus", 48000, 2, codec_name="opus")
    add("aac_stereo", "m4a", "aac", 16000, 2, container_format="ipod")
    add(
        "amr_nb_mono",
        "amr",
        "libopencore_amrnb",
        8000,
        1,
        codec_name="amr_nb",
        options={"b": "12200"},
    )
    return made


@pytest.fixture(scope="session")
def gsm_recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """GSM 06.10 full rate, written by sox (FFmpeg has no GSM encoder)."""
    sox = shutil.which("sox")
    if sox is None:
        pytest.skip("sox is not installed: no GSM encoder available (apt-get install sox)")
    folder = tmp_path_factory.mktemp("gsm")
    source = write_plain_wav(folder / "source.wav", 8000, 1).path
    target = folder / "call.gsm"
    subprocess.run([sox, str(source), str(target)], check=True, capture_output=True)
    return Recording(target, "gsm", "gsm", 8000, 1)


@pytest.fixture
def make_wav() -> Callable[[Path, int, int, float], Recording]:
    """Writes a plain PCM WAV (any channel count, no channel mask)."""
    return write_plain_wav


@pytest.fixture
def make_encoded() -> Callable[..., Path]:
    """Encodes the test signal with any PyAV encoder."""
    return encode
