"""An "engine" that replays a transcript that already exists (a sidecar file delivered with the
recordings, or a human translator's transcript), so the rest of the pipeline treats it like any
recognition result and records where it came from.

Parsing VTT/SRT/JSON sidecars belongs to ingest; this engine takes the parsed cues.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from earshot.errors import ConfigError, SidecarError
from earshot.speech.asr.base import AsrSegment
from earshot.speech.info import SAMPLE_RATE, EngineDescription, EngineInfo, RunInfo, check_audio

__all__ = ["SidecarEngine", "create"]


class SidecarEngine:
    """Yields the given segments, clipped to the audio, in time order."""

    def __init__(self, segments: Iterable[AsrSegment], *, source: str) -> None:
        ordered = sorted(segments, key=lambda s: (s.start, s.end))
        for index, segment in enumerate(ordered):
            if not (0 <= segment.start <= segment.end):
                raise SidecarError(
                    f"sidecar {source}: cue {index + 1} has start {segment.start} and end "
                    f"{segment.end}; times must be non-negative and end after start"
                )
        self._segments = tuple(ordered)
        self._info = EngineInfo("sidecar", source, "1", {"segments": len(ordered)})
        self.last_run: RunInfo | None = None

    @property
    def info(self) -> EngineInfo:
        return self._info

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> Iterator[AsrSegment]:
        """The stored cues; those starting after the audio ends are dropped, the rest clipped."""
        duration = check_audio(audio).size / SAMPLE_RATE
        languages = {s.language for s in self._segments if s.language}
        self.last_run = RunInfo(
            self._info,
            language=languages.pop() if len(languages) == 1 else language,
            duration=duration,
        )
        for segment in self._segments:
            if segment.start >= duration:
                continue
            if segment.end > duration:
                segment = AsrSegment(
                    segment.start,
                    duration,
                    segment.text,
                    tuple(w for w in segment.words if w.start < duration),
                    segment.avg_logprob,
                    segment.no_speech_prob,
                )
            yield segment


def describe() -> EngineDescription:
    """Replays an existing transcript (a sidecar file) as if recognised; no model."""
    return EngineDescription(
        name="sidecar",
        version="1",
        needs_gpu=False,
        description="replays a transcript given beside the audio (tests, imported work)",
    )


def create(model: str | None, **options: Any) -> SidecarEngine:
    """Registry factory: ``get_engine("sidecar:calls/0412.vtt", segments=parsed_cues)``."""
    if "segments" not in options:
        raise ConfigError(
            "the sidecar engine needs the parsed transcript: get_engine('sidecar:SOURCE', "
            "segments=[AsrSegment, ...])"
        )
    unknown = sorted(set(options) - {"segments"})
    if unknown:
        raise ConfigError(f"unknown sidecar option(s) {', '.join(unknown)}; known: segments")
    return SidecarEngine(options["segments"], source=model or "sidecar")
