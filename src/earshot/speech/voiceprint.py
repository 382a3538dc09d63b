"""Speaker embeddings with Resemblyzer's ``VoiceEncoder`` (weights ship in its wheel, CPU).

Why our own windows rather than ``embed_utterance`` per region: one mel spectrogram of the whole
channel is computed once, 1.6 s windows (the encoder's training length) are cut from it inside
speech regions only, and all windows go through the LSTM in one batch.  That is what keeps
voiceprints and diarization together far above 50x real time on two cores; the per-utterance
API would recompute spectrograms and run tiny batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache

import numpy as np

from earshot.speech.info import SAMPLE_RATE, EngineInfo, check_audio, package_version
from earshot.speech.vad import SpeechRegion

__all__ = [
    "EMBEDDING_SIZE",
    "SpeakerWindow",
    "VoiceEncoder",
    "Voiceprint",
    "VoiceprintOptions",
    "default_encoder",
    "embed",
    "similarity",
]

EMBEDDING_SIZE = 256
_FRAME_S = 0.01  # mel hop of the encoder
_WINDOW_FRAMES = 160  # 1.6 s, the encoder's partial-utterance length
_TARGET_DBFS = -30.0  # Resemblyzer's preprocessing level (its mel is not logarithmic)


@dataclass(frozen=True)
class Voiceprint:
    """A unit-length speaker embedding and how many seconds of speech it summarises."""

    vector: np.ndarray
    seconds: float


@dataclass(frozen=True)
class SpeakerWindow:
    """The embedding of one encoder window, placed in the channel's time line."""

    start: float
    end: float
    vector: np.ndarray

    @property
    def centre(self) -> float:
        return (self.start + self.end) / 2


@dataclass(frozen=True)
class VoiceprintOptions:
    """``hop_s``: distance between windows inside a region (smaller = finer turns, more work);
    ``min_region_s``: regions shorter than this are too short to say anything about a voice."""

    hop_s: float = 0.5
    min_region_s: float = 0.4
    batch_size: int = 64


def similarity(a: Voiceprint | np.ndarray, b: Voiceprint | np.ndarray) -> float:
    """Cosine similarity of two voiceprints (1.0 = same direction)."""
    va = a.vector if isinstance(a, Voiceprint) else a
    vb = b.vector if isinstance(b, Voiceprint) else b
    denominator = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(np.dot(va, vb) / denominator) if denominator else 0.0


def _window_starts(region: SpeechRegion, hop_frames: int, total_frames: int) -> list[int]:
    """Start frames of the windows covering ``region``; short regions get one window."""
    first = round(region.start / _FRAME_S)
    last = round(region.end / _FRAME_S)
    if last - first <= _WINDOW_FRAMES:
        centre = (first + last) // 2
        return [max(0, min(centre - _WINDOW_FRAMES // 2, total_frames - _WINDOW_FRAMES))]
    starts = list(range(first, last - _WINDOW_FRAMES + 1, hop_frames))
    if starts[-1] + _WINDOW_FRAMES < last:
        starts.append(last - _WINDOW_FRAMES)
    return starts


class VoiceEncoder:
    """A loaded Resemblyzer encoder on the CPU."""

    def __init__(self, threads: int | None = 1) -> None:
        """``threads``: torch intra-op threads, set process-wide (None leaves torch's setting).
        One thread is the default because the 2-core machines this runs on are shared: with
        two threads and a busy neighbour, torch's LSTM slows down ten-fold.  (Importing the
        ``silero_vad`` package also sets torch to one thread.)"""
        import torch
        from resemblyzer import VoiceEncoder as ResemblyzerEncoder  # type: ignore[import-untyped, unused-ignore]

        if threads is not None:
            torch.set_num_threads(threads)
        self._threads = threads
        self._torch = torch
        self._encoder = ResemblyzerEncoder(device="cpu", verbose=False)
        self._encoder.eval()
        self.info = EngineInfo(
            engine="resemblyzer",
            model="VoiceEncoder pretrained.pt (GE2E, 256-d)",
            version=package_version("resemblyzer"),
            options={},
        )
        # The first LSTM call and the first (JIT-compiled) mel spectrogram pay one-off set-up
        # costs of seconds; pay them at load time rather than on the first call.
        self._forward(np.zeros((2, _WINDOW_FRAMES, 40), dtype=np.float32))
        self._mel(np.zeros(SAMPLE_RATE, dtype=np.float32), [])

    def info_with(self, options: VoiceprintOptions) -> EngineInfo:
        return EngineInfo(self.info.engine, self.info.model, self.info.version, asdict(options))

    def _forward(self, mels: np.ndarray) -> np.ndarray:
        # The thread count is process-wide and any library may change it after we load; the
        # same count on every backend (driver, worker processes, Ray) keeps voiceprints equal.
        if self._threads is not None and self._torch.get_num_threads() != self._threads:
            self._torch.set_num_threads(self._threads)
        with self._torch.no_grad():
            out = self._encoder(self._torch.from_numpy(mels))
        vectors: np.ndarray = out.numpy()
        return vectors

    @staticmethod
    def _mel(samples: np.ndarray, regions: Sequence[SpeechRegion]) -> np.ndarray:
        """Mel frames of the whole channel at the encoder's level, gain taken from speech only."""
        from resemblyzer.audio import wav_to_mel_spectrogram  # type: ignore[import-untyped, unused-ignore]

        speech = [samples[int(r.start * SAMPLE_RATE) : int(r.end * SAMPLE_RATE)] for r in regions]
        joined = np.concatenate(speech) if speech else samples
        rms = float(np.sqrt(np.mean(np.square(joined, dtype=np.float64)))) if joined.size else 0.0
        if rms > 0:
            gain = 10 ** ((_TARGET_DBFS - 20 * np.log10(rms)) / 20)
            samples = samples * np.float32(max(gain, 1.0))  # raise quiet calls only, as upstream
        padded = np.pad(samples, (0, _WINDOW_FRAMES * int(_FRAME_S * SAMPLE_RATE)))
        mel: np.ndarray = wav_to_mel_spectrogram(padded)
        return mel

    def windows(
        self,
        audio: np.ndarray,
        regions: Sequence[SpeechRegion],
        options: VoiceprintOptions | None = None,
    ) -> list[SpeakerWindow]:
        """One embedding per 1.6 s window inside the given speech regions, in time order."""
        opts = options or VoiceprintOptions()
        samples = check_audio(audio)
        kept = [r for r in regions if r.duration >= opts.min_region_s]
        if not kept or samples.size == 0:
            return []
        mel = self._mel(samples, kept)
        audio_frames = max(_WINDOW_FRAMES, int(samples.size / SAMPLE_RATE / _FRAME_S))
        hop = max(1, round(opts.hop_s / _FRAME_S))
        starts = sorted({s for r in kept for s in _window_starts(r, hop, audio_frames)})
        if not starts:
            return []
        batch = np.stack([mel[s : s + _WINDOW_FRAMES] for s in starts])
        vectors = np.concatenate(
            [
                self._forward(batch[i : i + opts.batch_size])
                for i in range(0, len(batch), opts.batch_size)
            ]
        )
        return [
            SpeakerWindow(s * _FRAME_S, (s + _WINDOW_FRAMES) * _FRAME_S, v)
            for s, v in zip(starts, vectors, strict=True)
        ]

    def embed(
        self,
        audio: np.ndarray,
        regions: Sequence[SpeechRegion],
        options: VoiceprintOptions | None = None,
    ) -> Voiceprint:
        """The voiceprint of one speaker's speech regions (mean of window embeddings)."""
        return voiceprint_of(self.windows(audio, regions, options), regions)


def voiceprint_of(
    windows: Sequence[SpeakerWindow], regions: Sequence[SpeechRegion] = ()
) -> Voiceprint:
    """L2-normalised mean of window embeddings; ``seconds`` is the speech the regions cover
    (or the union of the windows when no regions are given)."""
    if not windows:
        return Voiceprint(np.zeros(EMBEDDING_SIZE, dtype=np.float32), 0.0)
    # float64 sum in window order: the same windows give the same bits on every backend
    mean = np.mean(np.stack([w.vector for w in windows]).astype(np.float64), axis=0)
    vector = (mean / np.linalg.norm(mean)).astype(np.float32)
    if regions:
        seconds = sum(r.duration for r in regions)
    else:
        spans = sorted((w.start, w.end) for w in windows)
        seconds, reach = 0.0, -1.0
        for start, end in spans:
            seconds += max(0.0, end - max(start, reach))
            reach = max(reach, end)
    return Voiceprint(vector, round(seconds, 3))


@cache
def default_encoder() -> VoiceEncoder:
    """A process-wide encoder (loading and warming up takes a few seconds)."""
    return VoiceEncoder()


def embed(
    audio: np.ndarray,
    regions: Sequence[SpeechRegion],
    options: VoiceprintOptions | None = None,
) -> Voiceprint:
    """The voiceprint of the speech in ``regions`` of one 16 kHz mono channel."""
    return default_encoder().embed(audio, regions, options)
