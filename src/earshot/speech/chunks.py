"""Cut a channel's speech regions into chunks a recogniser can take in one window.

A VAD region longer than the model's window is split at the quietest 50 ms frame in the second
half of the window (a breath or a pause between phrases), so no word is cut where a quieter
point exists.  Times are kept exact: a chunk is a slice of the region, never padded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .info import SAMPLE_RATE

__all__ = ["plan_chunks"]

_FRAME = SAMPLE_RATE // 20  # 50 ms


def _quietest(audio: np.ndarray, start: float, low: float, high: float) -> float:
    """Time of the quietest 50 ms frame in [low, high] (absolute seconds)."""
    a, b = int(low * SAMPLE_RATE), int(high * SAMPLE_RATE)
    window = audio[a:b]
    frames = window.size // _FRAME
    if frames < 2:
        return high
    energy = np.square(window[: frames * _FRAME].reshape(frames, _FRAME)).mean(axis=1)
    # The latest of the quietest frames keeps chunks long (fewer cuts).
    best = frames - 1 - int(np.argmin(energy[::-1]))
    return round(low + (best * _FRAME + _FRAME / 2) / SAMPLE_RATE, 3)


def plan_chunks(
    audio: np.ndarray,
    regions: Sequence[tuple[float, float]],
    max_s: float,
    *,
    min_s: float = 0.05,
) -> list[tuple[float, float]]:
    """Chunks (start, end) in seconds covering ``regions`` inside ``audio``, in time order and
    none longer than ``max_s``; overlapping regions are merged first, and stretches shorter than
    ``min_s`` are dropped (nothing to recognise)."""
    duration = audio.size / SAMPLE_RATE
    merged: list[list[float]] = []  # overlapping regions are one stretch of speech
    for raw_start, raw_end in sorted(regions):
        if merged and raw_start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], float(raw_end))
        else:
            merged.append([float(raw_start), float(raw_end)])
    chunks: list[tuple[float, float]] = []
    for raw_start, raw_end in merged:
        start, end = max(0.0, raw_start), min(duration, raw_end)
        while end - start > max_s:
            cut = _quietest(audio, start, start + max_s / 2, start + max_s)
            cut = min(max(cut, start + min_s), start + max_s)
            chunks.append((round(start, 3), round(cut, 3)))
            start = cut
        if end - start >= min_s:
            chunks.append((round(start, 3), round(end, 3)))
    return chunks
