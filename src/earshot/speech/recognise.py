"""Recognise a call's channels with any ASR engine: the one path shared by the transcript stage,
`earshot transcribe` and `earshot asr-eval`.

An engine that takes chunks (:class:`ChunkedAsrEngine`, e.g. onnx-asr) transcribes each channel
of a stereo call on its own, chunk by chunk from the speech regions (the VAD stage's, or Silero
run here when there are none), so every segment knows its channel and its times are the
chunk's.  Other engines (Whisper, Vosk) get the stereo mix once, as before: the caller assigns
parties by channel energy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .asr.base import AsrEngine, AsrSegment, ChunkedAsrEngine

__all__ = ["ChannelSegment", "recognise_channels"]


@dataclass(frozen=True)
class ChannelSegment:
    """A recognised segment and the channel it was heard on (None: the mix of a stereo call)."""

    channel: int | None
    segment: AsrSegment


def recognise_channels(
    engine: AsrEngine,
    channels: Sequence[np.ndarray],
    *,
    language: str | None,
    regions: Mapping[int, Sequence[tuple[float, float]]] | None = None,
) -> list[ChannelSegment]:
    """Segments of every channel in time order (channel order breaks ties)."""
    if isinstance(engine, ChunkedAsrEngine):
        found: list[ChannelSegment] = []
        for index, samples in enumerate(channels):
            if regions is None:
                segments = engine.transcribe(samples, language=language)
            else:
                segments = engine.transcribe_chunks(
                    samples, list(regions.get(index, ())), language=language
                )
            found += [ChannelSegment(index, s) for s in segments]
        return sorted(found, key=lambda c: (c.segment.start, c.channel or 0))
    if len(channels) >= 2:
        mix = np.mean(np.stack(channels), axis=0).astype(np.float32)
        return [ChannelSegment(None, s) for s in engine.transcribe(mix, language=language)]
    return [ChannelSegment(0, s) for s in engine.transcribe(channels[0], language=language)]
