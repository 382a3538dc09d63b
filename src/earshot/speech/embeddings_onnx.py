"""Speaker embeddings from a WeSpeaker, ReDimNet or CAM++ ONNX export (onnxruntime, CPU).

Resemblyzer stays the default because its weights ship in its wheel; a newsroom that has a
stronger voice model (WeSpeaker ResNet34, ReDimNet, CAM++: all exported to ONNX with an
``[batch, frames, 80]`` Kaldi-fbank input and a ``[batch, dim]`` embedding output) chooses it per
case with the setting ``voiceprint_engine = "onnx:/path/to/model.onnx"``.  Features are the
ones onnx-asr computes for its WeSpeaker model (80-bin Kaldi fbank, mean-normalised over time),
so an export that works in onnx-asr works here.

The encoder has the same surface as :class:`earshot.speech.voiceprint.VoiceEncoder`
(``info``, ``info_with``, ``windows``, ``embed``): fixed-length windows inside speech regions,
batched, L2-normalised, averaged into a voiceprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict
from functools import cache
from pathlib import Path

import numpy as np

from earshot.errors import ConfigError, ModelMissingError
from earshot.speech.info import SAMPLE_RATE, EngineInfo, check_audio, package_version
from earshot.speech.vad import SpeechRegion
from earshot.speech.voiceprint import (
    SpeakerWindow,
    Voiceprint,
    VoiceprintOptions,
    default_encoder,
    voiceprint_of,
)

__all__ = ["ENGINE_PREFIX", "OnnxSpeakerEncoder", "encoder_for"]

ENGINE_PREFIX = "onnx:"
_HOW_TO_GET = (
    "export a WeSpeaker / ReDimNet / CAM++ model to ONNX (e.g. WeSpeaker's "
    "`wespeaker/bin/export_onnx.py`, or the ONNX files their model pages publish) on a machine "
    "with network, copy the .onnx file here and set voiceprint_engine = 'onnx:/path/model.onnx'"
)


def _model_file(path: Path) -> Path:
    if path.is_file() and path.suffix == ".onnx":
        return path
    if path.is_dir():
        found = sorted(path.glob("*.onnx"))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ConfigError(
                f"{path} holds {len(found)} .onnx files; name the speaker model file itself"
            )
    raise ModelMissingError(f"speaker-embedding model {path} not found; {_HOW_TO_GET}")


class OnnxSpeakerEncoder:
    """A loaded ONNX speaker-embedding model."""

    def __init__(self, path: str | Path, *, window_s: float = 2.0, threads: int = 1) -> None:
        import onnxruntime as ort
        from onnx_asr.preprocessors.numpy_preprocessor import KaldiPreprocessorNumpy

        self.path = _model_file(Path(path).expanduser())
        if not 0.5 <= window_s <= 10:
            raise ConfigError(f"window_s must be between 0.5 and 10 seconds, not {window_s}")
        self.window_s = window_s
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or inputs[0].shape[-1] not in (80, "80"):
            raise ConfigError(
                f"{self.path}: expected one input [batch, frames, 80] (Kaldi fbank), found "
                f"{[(i.name, i.shape) for i in inputs]}; this is not a WeSpeaker-style export"
            )
        self._input, self._output = inputs[0].name, outputs[0].name
        self._fbank = KaldiPreprocessorNumpy("wespeaker")
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        self.info = EngineInfo(
            engine="onnx-speaker",
            model=self.path.name,
            version=f"onnxruntime {package_version('onnxruntime')}",
            options={"sha256": digest, "window_s": window_s, "input": self._input},
        )

    def info_with(self, options: VoiceprintOptions) -> EngineInfo:
        return EngineInfo(
            self.info.engine,
            self.info.model,
            self.info.version,
            {**self.info.options, **asdict(options)},
        )

    def _vectors(self, waves: np.ndarray) -> np.ndarray:
        lengths = np.full(waves.shape[0], waves.shape[1], dtype=np.int64)
        features, _ = self._fbank(waves.astype(np.float32), lengths)
        features = features - features.mean(axis=1, keepdims=True)
        (vectors,) = self._session.run([self._output], {self._input: features.astype(np.float32)})
        vectors = np.asarray(vectors, dtype=np.float32).reshape(waves.shape[0], -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        result: np.ndarray = vectors / np.where(norms > 0, norms, 1.0)
        return result

    def windows(
        self,
        audio: np.ndarray,
        regions: Sequence[SpeechRegion],
        options: VoiceprintOptions | None = None,
    ) -> list[SpeakerWindow]:
        """One embedding per ``window_s`` window inside the speech regions, in time order."""
        opts = options or VoiceprintOptions()
        samples = check_audio(audio)
        width = int(self.window_s * SAMPLE_RATE)
        if samples.size < width:
            samples = np.pad(samples, (0, width - samples.size))
        hop = max(1, int(opts.hop_s * SAMPLE_RATE))
        starts: set[int] = set()
        for region in regions:
            if region.duration < opts.min_region_s:
                continue
            first, last = int(region.start * SAMPLE_RATE), int(region.end * SAMPLE_RATE)
            if last - first <= width:
                starts.add(max(0, min((first + last - width) // 2, samples.size - width)))
            else:
                starts.update(range(first, last - width + 1, hop))
                starts.add(last - width)
        ordered = sorted(starts)
        if not ordered:
            return []
        vectors = np.concatenate(
            [
                self._vectors(
                    np.stack([samples[s : s + width] for s in ordered[i : i + opts.batch_size]])
                )
                for i in range(0, len(ordered), opts.batch_size)
            ]
        )
        return [
            SpeakerWindow(s / SAMPLE_RATE, (s + width) / SAMPLE_RATE, v)
            for s, v in zip(ordered, vectors, strict=True)
        ]

    def embed(
        self,
        audio: np.ndarray,
        regions: Sequence[SpeechRegion],
        options: VoiceprintOptions | None = None,
    ) -> Voiceprint:
        """The voiceprint of one speaker's speech regions (mean of window embeddings)."""
        windows = self.windows(audio, regions, options)
        if not windows:
            return Voiceprint(np.zeros(1, dtype=np.float32), 0.0)
        return voiceprint_of(windows, regions)


@cache
def _onnx_encoder(path: str) -> OnnxSpeakerEncoder:
    return OnnxSpeakerEncoder(path)


def encoder_for(engine: str) -> OnnxSpeakerEncoder | object:
    """The speaker encoder a case's ``voiceprint_engine`` setting names (loaded once per
    process): "resemblyzer" or "onnx:/path/to/model.onnx"."""
    if engine in ("", "resemblyzer"):
        return default_encoder()
    if engine.startswith(ENGINE_PREFIX):
        return _onnx_encoder(engine[len(ENGINE_PREFIX) :])
    raise ConfigError(
        f"voiceprint_engine {engine!r} is unknown; use 'resemblyzer' or 'onnx:/path/model.onnx'"
    )
