"""Kaldi recognition through Vosk, from a local model folder (e.g. vosk-model-ru-0.42).

Vosk is the fallback for machines where Whisper is too slow: it runs in real time on one core.
It gives word times and confidences but no segment log-probabilities; a segment is what the
recogniser finalises at an endpoint (a pause).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from earshot.errors import ConfigError, ModelMissingError
from earshot.speech.asr.base import AsrSegment, AsrWord
from earshot.speech.info import (
    SAMPLE_RATE,
    EngineDescription,
    EngineInfo,
    RunInfo,
    check_audio,
    package_version,
)

__all__ = ["VoskEngine", "VoskOptions", "create"]

_HOW_TO_GET = (
    "on a machine with network access download a model from https://alphacephei.com/vosk/models "
    "(for Russian: vosk-model-ru-0.42, or vosk-model-small-ru-0.22 for slow machines), unzip "
    "it, copy the folder here and pass `--asr vosk:/path/to/folder`"
)


@dataclass(frozen=True)
class VoskOptions:
    """``chunk_s``: audio fed to the recogniser per call (affects latency, not results)."""

    chunk_s: float = 0.5


def _check_model_dir(model: str) -> Path:
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise ModelMissingError(f"Vosk model folder {folder} does not exist; {_HOW_TO_GET}")
    if not (folder / "am").is_dir() and not (folder / "final.mdl").is_file():
        raise ModelMissingError(
            f"{folder} is not a Vosk model folder (no am/ subfolder); {_HOW_TO_GET}"
        )
    return folder


def _segment(result: dict[str, Any]) -> AsrSegment | None:
    words = tuple(
        AsrWord(float(w["start"]), float(w["end"]), str(w["word"]), float(w.get("conf", 1.0)))
        for w in result.get("result", ())
    )
    text = str(result.get("text", "")).strip()
    if not words and not text:
        return None
    start = words[0].start if words else 0.0
    end = words[-1].end if words else 0.0
    return AsrSegment(start=start, end=end, text=text, words=words)


class VoskEngine:
    """A loaded Vosk model; one recogniser per transcription."""

    def __init__(self, model: str, options: VoskOptions | None = None) -> None:
        import vosk  # type: ignore[import-untyped, unused-ignore]

        self.options = options or VoskOptions()
        self.model_path = _check_model_dir(model)
        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self._model = vosk.Model(str(self.model_path))
        self._info = EngineInfo("vosk", model, package_version("vosk"), asdict(self.options))
        self.last_run: RunInfo | None = None

    @property
    def info(self) -> EngineInfo:
        return self._info

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> Iterator[AsrSegment]:
        """Segments at the recogniser's endpoints.  ``language`` is fixed by the model and is
        not checked: Vosk models do not declare theirs."""
        samples = check_audio(audio)
        # A Vosk model is one language: the run records the one asked for, detects none.
        self.last_run = RunInfo(
            self._info,
            language=None if language in (None, "auto") else language,
            duration=samples.size / SAMPLE_RATE,
        )
        recogniser = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recogniser.SetWords(True)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        step = 2 * max(1, int(self.options.chunk_s * SAMPLE_RATE))
        for offset in range(0, len(pcm), step):
            if recogniser.AcceptWaveform(pcm[offset : offset + step]):
                segment = _segment(json.loads(recogniser.Result()))
                if segment is not None:
                    yield segment
        final = _segment(json.loads(recogniser.FinalResult()))
        if final is not None:
            yield final


def describe() -> EngineDescription:
    """Vosk without loading a model (Kaldi, CPU only)."""
    return EngineDescription(
        name="vosk",
        version=package_version("vosk"),
        needs_gpu=False,
        description="Kaldi models through Vosk; CPU; one language per model",
    )


def create(model: str | None, **options: Any) -> VoskEngine:
    """Registry factory: ``get_engine("vosk:/models/vosk-model-ru-0.42")``."""
    if not model:
        raise ModelMissingError(
            f"the vosk engine needs a model folder, `vosk:/path`; {_HOW_TO_GET}"
        )
    unknown = sorted(set(options) - set(VoskOptions.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"unknown vosk option(s) {', '.join(unknown)}; known: chunk_s")
    return VoskEngine(model, VoskOptions(**options))
