"""Recordings with many channels: every channel split into its own working copy.

8 channels used to crash the process: PyAV counted one plane too many on an 8-channel
planar frame and read past it. These files are real WAVs (and FLAC), decoded for real.
"""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from earshot.audio import decode_to_working, read_working
from earshot.audio.decode import MAX_CHANNELS
from earshot.audio.decode_errors import UnsupportedAudioError

RATE = 8000
SECONDS = 1.0


def tone(channel: int) -> float:
    """A distinct tone per channel, all below the 4 kHz Nyquist of the 8 kHz source."""
    return 100.0 + 55.0 * channel


def tones(channels: int, rate: int = RATE) -> npt.NDArray[np.int16]:
    """(channels, samples) int16, one tone per channel."""
    t = np.arange(round(SECONDS * rate)) / rate
    rows = [0.4 * np.sin(2 * np.pi * tone(ch) * t) for ch in range(channels)]
    return (np.stack(rows) * 32767).astype(np.int16)


def write_wav(path: Path, channels: int) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(tones(channels).T.astype("<i2").tobytes())
    return path


def encode(path: Path, codec: str, layout: str, fmt: str, container: str) -> Path:
    """A file with a real channel layout (WAV with a channel mask, FLAC) through FFmpeg."""
    samples = tones(av.AudioLayout(layout).nb_channels)
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=RATE, layout=layout)
        step = 1024
        for start in range(0, samples.shape[1], step):
            block = np.ascontiguousarray(samples[:, start : start + step].T.reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(block, format=fmt, layout=layout)
            frame.sample_rate = RATE
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def dominant(samples: npt.NDArray[np.float32], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def check_split(path: Path, channels: int, out: Path) -> None:
    info, copies = decode_to_working(path, out)
    assert info.channels == channels
    assert [c.channel for c in copies] == list(range(channels))
    assert sorted(p.name for p in out.iterdir()) == sorted(f"ch{n}.wav" for n in range(channels))
    for copy in copies:
        samples = read_working(copy.path)
        assert len(samples) == pytest.approx(16000 * SECONDS, abs=32)
        # Each working copy holds its own channel, not a neighbour's or a mix.
        assert dominant(samples, 16000) == pytest.approx(tone(copy.channel), abs=3)


@pytest.mark.parametrize("channels", [8, 12, 16])
def test_plain_wav_with_many_channels(channels: int, tmp_path: Path) -> None:
    path = write_wav(tmp_path / f"intercept-{channels}ch.wav", channels)
    check_split(path, channels, tmp_path / "work")


def test_wav_with_a_7_1_channel_mask(tmp_path: Path) -> None:
    path = encode(tmp_path / "surround.wav", "pcm_s16le", "7.1", "s16", "wav")
    check_split(path, 8, tmp_path / "work")


def test_flac_with_8_channels(tmp_path: Path) -> None:
    path = encode(tmp_path / "eight.flac", "flac", "7.1", "s16", "flac")
    check_split(path, 8, tmp_path / "work")


def test_the_channel_limit_is_decoded_and_beyond_it_refused(tmp_path: Path) -> None:
    check_split(write_wav(tmp_path / "max.wav", MAX_CHANNELS), MAX_CHANNELS, tmp_path / "max")
    too_many = write_wav(tmp_path / "too-many.wav", MAX_CHANNELS + 1)
    with pytest.raises(UnsupportedAudioError) as caught:
        decode_to_working(too_many, tmp_path / "out")
    assert "too-many.wav" in str(caught.value)
    assert f"at most {MAX_CHANNELS} channels" in str(caught.value)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
