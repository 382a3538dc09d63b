"""Session fixtures for the speech tests: synthetic speech rendered once per session."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

# The tests import the synthesis helpers as a plain module next to them (no tests package).
sys.path.insert(0, str(Path(__file__).parent))

from speech_synth import SyntheticCall, build_call, synthesize

Render = Callable[[str, tuple[str, int, int]], np.ndarray]


@pytest.fixture(scope="session")
def tts(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """Cached synthesizer: each (phrase, voice) is rendered once per session."""
    tmp = tmp_path_factory.mktemp("tts")
    cache: dict[tuple[str, tuple[str, int, int]], np.ndarray] = {}

    def render(text: str, voice: tuple[str, int, int]) -> np.ndarray:
        if (text, voice) not in cache:
            cache[(text, voice)] = synthesize(text, voice, tmp)
        return cache[(text, voice)]

    return render


@pytest.fixture(scope="session")
def two_voice_call(tts: Render) -> SyntheticCall:
    """About 30 s: eight alternating turns, turn 5 overlapping turn 4."""
    return build_call(tts, 8, overlap_at=5)
