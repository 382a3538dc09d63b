"""New mono calls for the voice-matching tests, rendered with the sample corpus's own
generator (scripts/make_sample_corpus.py: espeak-ng at 8 kHz, telephone band, real codecs).

One person (a voice that is not in the sample cast) is in several calls, each time talking to
someone else; the matching must find him across codecs it was never tuned on."""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

# espeak variant, pitch, words per minute; none of them is a voice of the sample cast.
SHARED_VOICE = ("ru+m6", 50, 160)
OTHER_VOICES = (("ru+f1", 70, 150), ("ru+m4", 35, 145), ("ru+f5", 60, 158))
CODECS = ("wav_s16", "wav_mulaw", "mp3")


def _person(voice: tuple[str, int, int]) -> Any:
    from sample_screenplay import Person, Voice  # type: ignore[import-not-found, unused-ignore]

    variant, pitch, speed = voice
    return Person("held-out", "", "", "", "", (), (), "", (), Voice(variant, pitch, speed, 0.55))


def render_call(
    path: Path, voices: tuple[tuple[str, int, int], tuple[str, int, int]], seed: int, fmt: str
) -> Path:
    """A mono call of eight alternating turns of screenplay phrases (A opens), encoded in
    ``fmt`` (a key of the generator's FORMATS); returns the file written."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from make_sample_corpus import (  # type: ignore[import-not-found, unused-ignore]
        FORMATS,
        SAMPLE_RATE,
        encode_audio,
        speak,
    )
    from sample_screenplay import CALLS  # type: ignore[import-not-found, unused-ignore]

    rng = random.Random(seed)
    phrases = rng.sample([t.say or t.ru for c in CALLS for t in c.turns], 8)
    clips = [speak(text, _person(voices[i % 2])) for i, text in enumerate(phrases)]
    gaps = [int(rng.uniform(0.3, 0.8) * SAMPLE_RATE) for _ in clips]
    total = sum(c.size for c in clips) + sum(gaps) + SAMPLE_RATE
    mix = np.random.default_rng(seed).normal(0.0, 4.0, total).astype(np.float32)
    cursor = SAMPLE_RATE // 2
    for clip, gap in zip(clips, gaps, strict=True):
        mix[cursor : cursor + clip.size] += clip
        cursor += clip.size + gap
    pcm = np.clip(np.rint(mix), -32768, 32767).astype(np.int16).reshape(-1, 1)
    target = path.with_suffix(f".{FORMATS[fmt].ext}")
    encode_audio(pcm, target, FORMATS[fmt])
    return target


def held_out_calls(folder: Path) -> list[Path]:
    """Three calls: the shared voice as caller (A), a different callee in each, one codec each."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        render_call(folder / f"heldout{i}", (SHARED_VOICE, other), 300 + i, codec)
        for i, (other, codec) in enumerate(zip(OTHER_VOICES, CODECS, strict=True))
    ]
