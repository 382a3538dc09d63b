"""Decoding real recordings of every supported codec into 16 kHz mono working copies."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
import numpy.typing as npt
import pytest

from earshot.audio import AudioInfo, decode_to_working, probe, read_working
from earshot.audio.decode_errors import (
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    TruncatedAudioError,
    UnsupportedAudioError,
    WorkingCopyWriteError,
)
from earshot.errors import AudioDecodeError

if TYPE_CHECKING:
    from collections.abc import Callable

    from earshot.audio import WorkingCopy

    from .conftest import Recording

SECONDS = 2.0  # length of every generated fixture

FORMATS = [
    "wav_s16_stereo",
    "wav_mulaw_stereo",
    "wav_alaw_mono",
    "flac_stereo",
    "mp3_stereo",
    "opus_stereo",
    "aac_stereo",
    "amr_nb_mono",
]
# Encoder delay/padding that decoders may keep (AAC: up to one 1024-sample frame).
PADDING_SECONDS = 0.1


def dominant_frequency(samples: npt.NDArray[np.float32], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def check_decoded(rec: Recording, info: AudioInfo, copies: list[WorkingCopy], out: Path) -> None:
    assert info.container == rec.container
    assert info.codec == rec.codec
    assert info.channels == rec.channels
    assert info.sample_rate == rec.sample_rate
    assert abs(info.duration - rec.duration) <= PADDING_SECONDS
    assert [c.channel for c in copies] == list(range(rec.channels))
    assert sorted(p.name for p in out.iterdir()) == [f"ch{n}.wav" for n in range(rec.channels)]
    for copy in copies:
        assert copy.path == out / f"ch{copy.channel}.wav"
        assert copy.sample_rate == 16000
        assert abs(copy.frames - info.duration * 16000) <= 160  # resampler tail, <10 ms
        with wave.open(str(copy.path), "rb") as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
            assert wav.getnframes() == copy.frames
        samples = read_working(copy.path)
        assert samples.dtype == np.float32
        assert len(samples) == copy.frames
        assert 0.2 < float(np.max(np.abs(samples))) <= 1.0
        tone = rec.tones[copy.channel]
        assert abs(dominant_frequency(samples, 16000) - tone) < 25, f"channel {copy.channel}"


@pytest.mark.parametrize("name", FORMATS)
def test_decodes_each_format_into_per_channel_working_copies(
    recordings: dict[str, Recording], name: str, tmp_path: Path
) -> None:
    rec = recordings[name]
    info, copies = decode_to_working(rec.path, tmp_path / "work")
    check_decoded(rec, info, copies, tmp_path / "work")


def test_decodes_gsm_written_by_sox(gsm_recording: Recording, tmp_path: Path) -> None:
    info, copies = decode_to_working(gsm_recording.path, tmp_path)
    check_decoded(gsm_recording, info, copies, tmp_path)


def test_amr_wb_needs_an_encoder_we_do_not_have(
    make_encoded: Callable[..., Path], tmp_path: Path
) -> None:
    """AMR-WB decodes (FFmpeg's amrwb decoder), but no encoder ships with PyAV or sox here."""
    try:
        av.Codec("libvo_amrwbenc", "w")
    except av.codec.codec.UnknownCodecError:
        pytest.skip("no AMR-WB encoder (libvo_amrwbenc) in this FFmpeg build: no fixture")
    path = make_encoded(tmp_path / "wb.awb", "libvo_amrwbenc", 16000, 1, options={"b": "23850"})
    info, copies = decode_to_working(path, tmp_path / "work")
    assert (info.codec, info.sample_rate, len(copies)) == ("amr_wb", 16000, 1)


def test_three_channels_without_a_layout(
    make_wav: Callable[[Path, int, int, float], Recording], tmp_path: Path
) -> None:
    rec = make_wav(tmp_path / "conference.wav", 8000, 3, SECONDS)
    info, copies = decode_to_working(rec.path, tmp_path / "work")
    check_decoded(rec, info, copies, tmp_path / "work")


@pytest.mark.parametrize("name", ["wav_mulaw_stereo", "opus_stereo", "amr_nb_mono"])
def test_probe_reads_the_header(recordings: dict[str, Recording], name: str) -> None:
    rec = recordings[name]
    info = probe(rec.path)
    assert (info.container, info.codec) == (rec.container, rec.codec)
    assert (info.sample_rate, info.channels) == (rec.sample_rate, rec.channels)
    assert abs(info.duration - rec.duration) < 0.2
    assert info.bit_rate is not None and info.bit_rate > 0


def test_other_working_rate(recordings: dict[str, Recording], tmp_path: Path) -> None:
    _, copies = decode_to_working(recordings["flac_stereo"].path, tmp_path, sample_rate=8000)
    assert copies[0].sample_rate == 8000
    assert abs(copies[0].frames - SECONDS * 8000) <= 80
    with wave.open(str(copies[1].path), "rb") as wav:
        assert wav.getframerate() == 8000


def test_redecoding_replaces_copies_atomically(
    recordings: dict[str, Recording], tmp_path: Path
) -> None:
    out = tmp_path / "work"
    decode_to_working(recordings["wav_mulaw_stereo"].path, out)
    first = read_working(out / "ch1.wav")
    _, again = decode_to_working(recordings["wav_mulaw_stereo"].path, out)
    assert np.array_equal(read_working(again[1].path), first)
    # A mono original decoded into the same folder must not leave the old ch1 behind.
    decode_to_working(recordings["wav_alaw_mono"].path, out)
    assert sorted(p.name for p in out.iterdir()) == ["ch0.wav"]


def test_failed_decode_keeps_previous_copies(
    recordings: dict[str, Recording], tmp_path: Path
) -> None:
    out = tmp_path / "work"
    decode_to_working(recordings["wav_s16_stereo"].path, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = tmp_path / "broken.wav"
    data = recordings["wav_s16_stereo"].path.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedAudioError):
        decode_to_working(broken, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_read_working_window(recordings: dict[str, Recording], tmp_path: Path) -> None:
    _, copies = decode_to_working(recordings["wav_s16_stereo"].path, tmp_path)
    whole = read_working(copies[0].path)
    part = read_working(copies[0].path, offset=0.5, duration=0.25)
    assert len(part) == 4000
    assert np.array_equal(part, whole[8000:12000])
    assert len(read_working(copies[0].path, offset=SECONDS + 1)) == 0


def test_read_working_rejects_non_wav(tmp_path: Path) -> None:
    path = tmp_path / "ch0.wav"
    path.write_text("not a wave file")
    with pytest.raises(AudioDecodeError, match=r"ch0\.wav"):
        read_working(path)


# --- broken inputs: each must raise, name the file, and leave nothing in out_dir ---------


def assert_refused(
    path: Path, out: Path, error: type[AudioDecodeError], **kw: float
) -> AudioDecodeError:
    with pytest.raises(error) as caught:
        decode_to_working(path, out, **kw)  # type: ignore[arg-type]
    message = str(caught.value)
    assert path.name in message
    assert "\n" not in message
    assert not out.exists() or list(out.iterdir()) == []
    assert not isinstance(caught.value, av.error.FFmpegError)  # no raw PyAV type leaks
    return caught.value


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    error = assert_refused(path, tmp_path / "out", EmptyAudioError)
    assert "0 bytes" in str(error)
    with pytest.raises(EmptyAudioError):
        probe(path)


def test_missing_file(tmp_path: Path) -> None:
    assert_refused(tmp_path / "gone.mp3", tmp_path / "out", AudioDecodeError)


def test_random_bytes_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "random.wav"
    path.write_bytes(np.random.default_rng(42).integers(0, 256, 64_000, dtype=np.uint8).tobytes())
    assert_refused(path, tmp_path / "out", AudioDecodeError)


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "протокол.txt"
    path.write_text("Звонок 12.03, абонент «Сокол-7», разговор о доставке.\n" * 40)
    assert_refused(path, tmp_path / "out", UnsupportedAudioError)
    with pytest.raises(UnsupportedAudioError, match=r"протокол\.txt"):
        probe(path)


def test_wav_cut_in_half(recordings: dict[str, Recording], tmp_path: Path) -> None:
    data = recordings["wav_mulaw_stereo"].path.read_bytes()
    path = tmp_path / "half.wav"
    path.write_bytes(data[: len(data) // 2])
    error = assert_refused(path, tmp_path / "out", TruncatedAudioError)
    assert "2.0 s" in str(error)


def test_mp3_cut_in_half(recordings: dict[str, Recording], tmp_path: Path) -> None:
    data = recordings["mp3_stereo"].path.read_bytes()
    path = tmp_path / "half.mp3"
    path.write_bytes(data[: len(data) // 2])
    assert_refused(path, tmp_path / "out", TruncatedAudioError)


def test_flac_cut_mid_frame(recordings: dict[str, Recording], tmp_path: Path) -> None:
    data = recordings["flac_stereo"].path.read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(data[: len(data) * 2 // 3])
    assert_refused(path, tmp_path / "out", TruncatedAudioError)


@pytest.mark.parametrize("name", ["mp3_stereo", "aac_stereo", "amr_nb_mono", "opus_stereo"])
def test_corrupt_middle_bytes(recordings: dict[str, Recording], name: str, tmp_path: Path) -> None:
    source = recordings[name].path
    data = bytearray(source.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 400] = np.random.default_rng(7).integers(0, 256, 400, np.uint8).tobytes()
    path = tmp_path / f"damaged{source.suffix}"
    path.write_bytes(bytes(data))
    # Either the decoder rejects the damaged frames, or so much is lost that the header's
    # duration is no longer reached (Ogg drops pages whose checksum fails).
    assert_refused(path, tmp_path / "out", AudioDecodeError)
    with pytest.raises((CorruptAudioError, TruncatedAudioError)):
        decode_to_working(path, tmp_path / "out")


def test_container_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "screen.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), index * 40, np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    error = assert_refused(path, tmp_path / "out", UnsupportedAudioError)
    assert "no audio stream" in str(error)


def test_header_without_samples(
    make_wav: Callable[[Path, int, int, float], Recording], tmp_path: Path
) -> None:
    rec = make_wav(tmp_path / "silent.wav", 8000, 1, 0.0)
    assert_refused(rec.path, tmp_path / "out", EmptyAudioError)


def test_longer_than_limit(recordings: dict[str, Recording], tmp_path: Path) -> None:
    # The AMR header has no length field, so the limit is enforced while decoding.
    rec = recordings["amr_nb_mono"]
    assert_refused(rec.path, tmp_path / "out", AudioTooLongError, max_duration=1.0)
    # WAV declares its length: refused before decoding.
    error = assert_refused(
        recordings["wav_s16_stereo"].path, tmp_path / "out2", AudioTooLongError, max_duration=1.0
    )
    assert "header declares" in str(error)


def test_unwritable_output(recordings: dict[str, Recording], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("occupied")
    with pytest.raises(WorkingCopyWriteError, match=r"wav_alaw_mono\.wav"):
        decode_to_working(recordings["wav_alaw_mono"].path, blocker)
