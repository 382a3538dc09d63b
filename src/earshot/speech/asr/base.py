"""The contract every speech-recognition engine meets, built in or third party."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from earshot.speech.info import EngineInfo, RunInfo

__all__ = ["AsrEngine", "AsrSegment", "AsrWord", "ChunkedAsrEngine", "describe"]


@dataclass(frozen=True)
class AsrWord:
    """One recognised word with its time span and the engine's confidence in [0, 1]."""

    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class AsrSegment:
    """A stretch of recognised text.  ``avg_logprob`` and ``no_speech_prob`` are None for
    engines that do not report them (Vosk, sidecar transcripts)."""

    start: float
    end: float
    text: str
    words: tuple[AsrWord, ...] = ()
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    language: str | None = None
    """The language the engine reported for this segment (None: not reported)."""


@runtime_checkable
class AsrEngine(Protocol):
    """Transcribes one 16 kHz float32 mono channel, yielding segments as they are decoded.

    ``language`` is an ISO 639-1 code such as "ru", or None to let the engine detect it.

    ``last_run`` is the record of the latest transcription (None before the first): the
    engine's provenance plus what the run found out (the language it detected or wrote,
    how long the audio was). It is set before the first segment is yielded, so a caller
    that has the segments has the run's record too; it is provenance, saved with them.
    """

    last_run: RunInfo | None

    @property
    def info(self) -> EngineInfo: ...

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> Iterator[AsrSegment]: ...


@runtime_checkable
class ChunkedAsrEngine(AsrEngine, Protocol):
    """An engine that transcribes given speech chunks (the VAD stage's regions) of a channel,
    one segment per chunk, so segment times are exactly the chunks'.  Chunks longer than
    ``max_chunk_s`` (the model's window) are split by the engine at the quietest point."""

    @property
    def max_chunk_s(self) -> float: ...

    def transcribe_chunks(
        self, audio: np.ndarray, chunks: Sequence[tuple[float, float]], *, language: str | None
    ) -> Iterator[AsrSegment]: ...


def describe(engine: AsrEngine) -> dict[str, object]:
    """The engine's provenance record as plain data (engine, model, version, options)."""
    info = engine.info
    return {
        "engine": info.engine,
        "model": info.model,
        "version": info.version,
        "options": dict(info.options),
    }
