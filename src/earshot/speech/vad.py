"""Voice activity detection with Silero VAD, run from the ONNX model shipped in its wheel.

We use the package's *sequence* ONNX export (``silero_vad_16k_sequence.onnx``) through its own
torch-free wrapper: it computes the same per-frame probabilities as the streaming model but in
one ONNX call per ~16 s block instead of one call per 32 ms frame, which is what makes VAD a
negligible part of the 50x-real-time budget on a 2-core machine.  No weights are downloaded.

Why a second detector: on some narrowband codec copies (GSM 06.10, AMR-NB) Silero's
probabilities collapse for a whole stretch of a call (one generated GSM call: 27 s of speech,
under 4 s found; an AMR call: nothing after 22 s), while loudness and the speech itself are
fine.  WebRTC's VAD (a GMM over telephone sub-bands, built for exactly this audio, in the
``webrtcvad`` wheel) does not collapse there but fires on noise bursts that Silero rightly
ignores.  So Silero stays the detector, and WebRTC is consulted only where Silero has gone deaf:
in any ``fallback_window_s`` stretch where WebRTC hears at least ``fallback_min_speech_s`` of
speech well above the call's noise floor and Silero agrees on less than ``fallback_coverage``
of it, those WebRTC frames count as speech too.  On calls where Silero works, it agrees on
78-98 % of WebRTC's loud speech frames, on the deaf stretches on 0-10 %, so the rule changes
nothing where Silero is fine.  WebRTC also takes dial, ringback and busy tones and bursts of
noise for speech; a run of fallback frames is kept only when its median spectral flatness in
the telephone band (300-3400 Hz) lies between a pure tone's (~0) and noise's (>= 0.45):
espeak speech runs on GSM/AMR copies have medians of 0.002-0.3.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

import numpy as np

from earshot.speech.info import SAMPLE_RATE, EngineInfo, check_audio, package_version

__all__ = [
    "SileroVad",
    "SpeechRegion",
    "VadOptions",
    "VadReport",
    "default_vad",
    "detect_speech",
]

_MODEL_FILE = "silero_vad_16k_sequence.onnx"
_FRAME = 512  # Silero's frame at 16 kHz (32 ms)
_WEBRTC_FRAME = 480  # 30 ms, the longest frame WebRTC's VAD takes


@dataclass(frozen=True)
class SpeechRegion:
    """A stretch of speech, in seconds from the start of the channel."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class VadOptions:
    """Silero's own parameters (defaults suit telephone speech with short pauses), then the
    WebRTC fallback's: ``fallback`` turns it on; ``webrtc_mode`` is WebRTC's aggressiveness
    (3 = fewest false alarms); a frame counts for it only ``fallback_snr_db`` above the call's
    noise floor (10th percentile of frame energies), so steady line noise never does; a run of
    fallback frames whose median band flatness is outside ``fallback_min_flatness`` (tones)
    .. ``fallback_max_flatness`` (noise) is dropped."""

    threshold: float = 0.5
    min_speech_ms: int = 250
    min_silence_ms: int = 200
    speech_pad_ms: int = 30
    max_speech_s: float = math.inf
    fallback: bool = True
    webrtc_mode: int = 3
    fallback_window_s: float = 10.0
    fallback_min_speech_s: float = 2.0
    fallback_coverage: float = 0.5
    fallback_snr_db: float = 10.0
    fallback_min_flatness: float = 0.001
    fallback_max_flatness: float = 0.35


@dataclass(frozen=True)
class VadReport:
    """Regions of one channel and how many seconds of frames came from the WebRTC fallback."""

    regions: list[SpeechRegion]
    fallback_s: float


def _frame_energy_db(samples: np.ndarray, frames: int) -> np.ndarray:
    padded = np.zeros(frames * _FRAME, dtype=np.float64)
    padded[: samples.size] = samples[: frames * _FRAME]
    power = np.mean(np.square(padded.reshape(frames, _FRAME)), axis=1)
    energy: np.ndarray = 10 * np.log10(power + 1e-12)
    return energy


def _webrtc_speech(samples: np.ndarray, frames: int, mode: int) -> np.ndarray:
    """WebRTC's decision for each Silero frame (the 30 ms frame its centre falls in)."""
    import webrtcvad  # type: ignore[import-untyped, unused-ignore]

    detector = webrtcvad.Vad(mode)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    count = pcm.size // _WEBRTC_FRAME
    if count == 0:
        return np.zeros(frames, dtype=bool)
    flags: np.ndarray = np.array(
        [
            detector.is_speech(pcm[i * _WEBRTC_FRAME : (i + 1) * _WEBRTC_FRAME].tobytes(), 16000)
            for i in range(count)
        ],
        dtype=bool,
    )
    centres = np.arange(frames) * _FRAME + _FRAME // 2
    speech: np.ndarray = flags[np.minimum(centres // _WEBRTC_FRAME, count - 1)]
    return speech


def _band_flatness(samples: np.ndarray, frames: int) -> np.ndarray:
    """Spectral flatness (geometric / arithmetic mean power) of each frame, 300-3400 Hz."""
    padded = np.zeros(frames * _FRAME, dtype=np.float64)
    padded[: samples.size] = samples[: frames * _FRAME]
    spectrum = np.fft.rfft(padded.reshape(frames, _FRAME) * np.hanning(_FRAME), axis=1)
    hz_per_bin = SAMPLE_RATE / _FRAME
    band = np.square(np.abs(spectrum[:, round(300 / hz_per_bin) : round(3400 / hz_per_bin) + 1]))
    band += 1e-12
    flatness: np.ndarray = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
    return flatness


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame indices of the runs of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _moving_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Sum of ``values`` over a window of ``width`` frames centred on each frame."""
    cumulative = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    index = np.arange(values.size)
    low = np.clip(index - width // 2, 0, values.size)
    high = np.clip(index + width // 2 + 1, 0, values.size)
    sums: np.ndarray = cumulative[high] - cumulative[low]
    return sums


def _fallback_frames(
    samples: np.ndarray, probabilities: np.ndarray, options: VadOptions
) -> np.ndarray:
    """Frames the WebRTC fallback adds: loud WebRTC speech inside stretches where Silero
    agrees on less than ``fallback_coverage`` of it (see the module docstring)."""
    frames = probabilities.size
    energy = _frame_energy_db(samples, frames)
    loud = energy >= np.percentile(energy, 10) + options.fallback_snr_db
    backup = _webrtc_speech(samples, frames, options.webrtc_mode) & loud
    width = max(1, round(options.fallback_window_s * SAMPLE_RATE / _FRAME))
    heard = _moving_sum(backup.astype(np.float64), width)
    agreed = _moving_sum((backup & (probabilities >= options.threshold)).astype(np.float64), width)
    enough = heard * _FRAME / SAMPLE_RATE >= options.fallback_min_speech_s
    deaf = enough & (agreed < options.fallback_coverage * heard)
    added: np.ndarray = backup & deaf & (probabilities < options.threshold)
    if added.any():
        flatness = _band_flatness(samples, frames)
        for start, end in _runs(added):
            median = float(np.median(flatness[start:end]))
            if not options.fallback_min_flatness <= median <= options.fallback_max_flatness:
                added[start:end] = False
    return added


class SileroVad:
    """One loaded Silero VAD session (single-threaded, as the wheel configures it)."""

    def __init__(self) -> None:
        from silero_vad.sequence_vad import SileroVADSequence  # type: ignore[import-untyped, unused-ignore]

        model_path = resources.files("silero_vad.data").joinpath(_MODEL_FILE)
        self._model = SileroVADSequence(str(model_path), sampling_rate=SAMPLE_RATE)
        self.info = EngineInfo(
            engine="silero-vad",
            model=_MODEL_FILE,
            version=package_version("silero-vad"),
            options={"webrtcvad": package_version("webrtcvad")},
        )

    def speech_probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Speech probability of each 32 ms frame (512 samples)."""
        samples = check_audio(audio)
        probabilities: np.ndarray = self._model.audio_forward(samples, sampling_rate=SAMPLE_RATE)
        return probabilities

    def detect(self, audio: np.ndarray, options: VadOptions | None = None) -> list[SpeechRegion]:
        """Speech regions of one channel, sorted and non-overlapping."""
        return self.report(audio, options).regions

    def report(self, audio: np.ndarray, options: VadOptions | None = None) -> VadReport:
        """Speech regions of one channel and the share the WebRTC fallback contributed."""
        from silero_vad.utils_vad import get_speech_timestamps_from_probs  # type: ignore[import-untyped, unused-ignore]

        opts = options or VadOptions()
        samples = check_audio(audio)
        if samples.size == 0:
            return VadReport([], 0.0)
        probabilities = self.speech_probabilities(samples)
        fallback_s = 0.0
        if opts.fallback and probabilities.size:
            added = _fallback_frames(samples, probabilities, opts)
            fallback_s = round(float(added.sum()) * _FRAME / SAMPLE_RATE, 3)
            probabilities = np.where(added, np.float32(1.0), probabilities)
        stamps = get_speech_timestamps_from_probs(
            probabilities,
            sampling_rate=SAMPLE_RATE,
            threshold=opts.threshold,
            min_speech_duration_ms=opts.min_speech_ms,
            max_speech_duration_s=opts.max_speech_s,
            min_silence_duration_ms=opts.min_silence_ms,
            speech_pad_ms=opts.speech_pad_ms,
            audio_length_samples=samples.size,
        )
        regions = [
            SpeechRegion(start=s["start"] / SAMPLE_RATE, end=s["end"] / SAMPLE_RATE) for s in stamps
        ]
        return VadReport(regions, fallback_s)

    def info_with(self, options: VadOptions) -> EngineInfo:
        """Provenance record including the options a run used."""
        return EngineInfo(
            self.info.engine,
            self.info.model,
            self.info.version,
            {**asdict(options), **self.info.options},
        )


@cache
def default_vad() -> SileroVad:
    """A process-wide VAD session (loading takes ~0.1 s; sessions are reusable)."""
    return SileroVad()


def detect_speech(audio: np.ndarray, options: VadOptions | None = None) -> list[SpeechRegion]:
    """Speech regions of a 16 kHz mono channel with the shared Silero session."""
    return default_vad().detect(audio, options)
