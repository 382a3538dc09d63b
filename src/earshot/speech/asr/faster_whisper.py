"""Whisper through faster-whisper (CTranslate2), strictly from local files.

The model is a CTranslate2 directory or the name of one already in the Hugging Face cache
("small", "large-v3", "Systran/faster-whisper-small"); nothing is ever downloaded.  Word
timestamps are always on: speaker assignment and the transcript viewer need them.  On a GPU (or
when asked) the batched pipeline decodes several 30 s windows at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
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

__all__ = ["FasterWhisperEngine", "FasterWhisperOptions", "create"]

_REQUIRED_FILES = ("model.bin", "tokenizer.json")
_HOW_TO_GET = (
    "on a machine with network access run `huggingface-cli download Systran/faster-whisper-small "
    "--local-dir faster-whisper-small` (or convert a checkpoint with `ct2-transformers-converter "
    "--model openai/whisper-large-v3 --output_dir whisper-large-v3-ct2 "
    "--copy_files tokenizer.json preprocessor_config.json`), copy the folder here and pass "
    "`--asr faster-whisper:/path/to/folder`"
)


@dataclass(frozen=True)
class FasterWhisperOptions:
    """Decoding settings.  ``batched``: None = use the batched pipeline on CUDA only.
    ``condition_on_previous_text`` is off by default: on noisy calls it propagates
    hallucination loops from one window into the next.  ``vad_filter`` runs faster-whisper's
    bundled Silero VAD so that silences are not transcribed into invented text."""

    device: str = "cpu"
    compute_type: str = "default"
    cpu_threads: int = 0
    beam_size: int = 5
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    condition_on_previous_text: bool = False
    vad_filter: bool = True
    max_new_tokens: int | None = None
    batched: bool | None = None
    batch_size: int = 8
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def use_batched(self) -> bool:
        return self.batched if self.batched is not None else self.device.startswith("cuda")


def _looks_like_path(model: str) -> bool:
    """A repo id has at most one '/'; anything else with a separator is meant as a folder."""
    return model.startswith((".", "~", "/")) or model.count("/") > 1 or "\\" in model


def _resolve_model(model: str) -> Path:
    """The local directory of ``model``, or :class:`ModelMissingError`."""
    candidate = Path(model).expanduser()
    if candidate.is_dir() or _looks_like_path(model):
        missing = [name for name in _REQUIRED_FILES if not (candidate / name).is_file()]
        if not candidate.is_dir() or missing:
            what = "does not exist" if not candidate.is_dir() else f"lacks {', '.join(missing)}"
            raise ModelMissingError(
                f"faster-whisper model folder {candidate} {what}; {_HOW_TO_GET}"
            )
        return candidate
    from faster_whisper.utils import download_model  # type: ignore[import-untyped, unused-ignore]

    try:
        located = Path(download_model(model, local_files_only=True))
    except (OSError, ValueError) as error:
        raise ModelMissingError(
            f"faster-whisper model {model!r} is not installed locally ({type(error).__name__}); "
            f"{_HOW_TO_GET}"
        ) from error
    if not (located / "tokenizer.json").is_file():
        raise ModelMissingError(
            f"faster-whisper model {model!r} at {located} has no tokenizer.json and would be "
            f"fetched from the network; {_HOW_TO_GET}"
        )
    return located


class FasterWhisperEngine:
    """A loaded faster-whisper model."""

    def __init__(self, model: str, options: FasterWhisperOptions | None = None) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel  # type: ignore[import-untyped, unused-ignore]

        self.options = options or FasterWhisperOptions()
        self.model_path = _resolve_model(model)
        self._model = WhisperModel(
            str(self.model_path),
            device=self.options.device,
            compute_type=self.options.compute_type,
            cpu_threads=self.options.cpu_threads,
            local_files_only=True,
        )
        self._batched = BatchedInferencePipeline(self._model) if self.options.use_batched else None
        self._info = EngineInfo(
            engine="faster-whisper",
            model=model,
            version=(
                f"faster-whisper {package_version('faster-whisper')}, "
                f"ctranslate2 {package_version('ctranslate2')}"
            ),
            options={**asdict(self.options), "batched": self.options.use_batched},
        )
        self.last_run: RunInfo | None = None

    @property
    def info(self) -> EngineInfo:
        return self._info

    @property
    def supported_languages(self) -> list[str]:
        languages: list[str] = self._model.supported_languages
        return languages

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> Iterator[AsrSegment]:
        """Segments with word timings; ``language`` None or "auto" lets Whisper detect it."""
        samples = check_audio(audio)
        code = None if language in (None, "auto") else language
        if code is not None and code not in self.supported_languages:
            detail = (
                "the model is English-only"
                if self.supported_languages == ["en"]
                else "Whisper has no such language code"
            )
            raise ConfigError(
                f"language {code!r} cannot be used with {self._info.model}: {detail}; "
                "use a multilingual model or language 'auto'"
            )
        if samples.size == 0:
            return
        opts = self.options
        arguments: dict[str, Any] = {
            "language": code,
            "word_timestamps": True,
            "beam_size": opts.beam_size,
            "temperature": list(opts.temperature),
            "condition_on_previous_text": opts.condition_on_previous_text,
            "vad_filter": opts.vad_filter,
            "max_new_tokens": opts.max_new_tokens,
            **opts.extra,
        }
        if self._batched is not None:
            segments, run = self._batched.transcribe(
                samples, batch_size=opts.batch_size, **arguments
            )
        else:
            segments, run = self._model.transcribe(samples, **arguments)
        # faster-whisper's TranscriptionInfo: with language None ("auto") this is the only
        # record of the language Whisper detected, so it is kept for the provenance.
        self.last_run = RunInfo(
            self._info,
            language=run.language,
            language_probability=float(run.language_probability),
            duration=float(run.duration),
        )
        duration = samples.size / SAMPLE_RATE
        for segment in segments:
            yield _segment(segment, duration)


def _clamp(value: float, duration: float) -> float:
    return round(min(max(float(value), 0.0), duration), 3)


def _segment(segment: Any, duration: float) -> AsrSegment:
    """Our segment from faster-whisper's, with times clamped to the audio (Whisper can emit
    timestamps past the end of the last window)."""
    words = tuple(
        AsrWord(
            start=_clamp(w.start, duration),
            end=_clamp(w.end, duration),
            word=w.word,
            probability=float(w.probability),
        )
        for w in (segment.words or ())
    )
    return AsrSegment(
        start=_clamp(segment.start, duration),
        end=_clamp(segment.end, duration),
        text=segment.text.strip(),
        words=words,
        avg_logprob=float(segment.avg_logprob),
        no_speech_prob=float(segment.no_speech_prob),
    )


def describe() -> EngineDescription:
    """faster-whisper without loading a model (CTranslate2 runs on CPU or CUDA)."""
    return EngineDescription(
        name="faster-whisper",
        version=package_version("faster-whisper"),
        needs_gpu=False,
        description="Whisper on CTranslate2; a GPU speeds it up; detects the language",
    )


def create(model: str | None, **options: Any) -> FasterWhisperEngine:
    """Registry factory: ``get_engine("faster-whisper:small", device="cuda")``."""
    if not model:
        raise ConfigError(
            "faster-whisper needs a model: use `faster-whisper:NAME` or "
            "`faster-whisper:/path/to/ctranslate2-folder`"
        )
    known = set(FasterWhisperOptions.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"unknown faster-whisper option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    if "temperature" in options and not isinstance(options["temperature"], tuple):
        temperature = options["temperature"]
        options["temperature"] = (
            tuple(temperature) if isinstance(temperature, list) else (float(temperature),)
        )
    return FasterWhisperEngine(model, replace(FasterWhisperOptions(), **options))
