"""Synthetic calls for the speech tests: espeak-ng voices, silence, noise, 16 kHz float32."""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly  # type: ignore[import-untyped, unused-ignore]

RATE = 16_000
ESPEAK = shutil.which("espeak-ng")

# Fictional phrases of a soldier and his mother; no real persons.
PHRASES = (
    "Привет, мама, у нас всё хорошо, не переживай",
    "Сынок, ты поел сегодня? Когда вас отпустят домой?",
    "Нас перевели в другое место, связь будет плохая неделю",
    "Папа спрашивал, нужны ли тебе тёплые носки и батарейки",
    "Передай Оле, что я позвоню ей в субботу вечером",
    "Береги себя, пожалуйста, и звони, когда сможешь",
    "Командир обещал отпуск после праздников, посмотрим",
    "Бабушка печёт пироги и всё время про тебя спрашивает",
)

VOICE_A = ("ru+m3", 45, 150)  # espeak voice, pitch, words per minute
VOICE_B = ("ru+f2", 80, 165)
VOICE_C = ("ru+m7", 20, 130)  # a second man: the hard case for mono separation


@dataclass(frozen=True)
class Utterance:
    speaker: int
    start: float
    end: float


def synthesize(text: str, voice: tuple[str, int, int], tmp: Path) -> np.ndarray:
    """espeak-ng speech resampled from 22.05 kHz to 16 kHz float32."""
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed")
    name, pitch, speed = voice
    out = tmp / f"tts-{abs(hash((text, voice)))}.wav"
    subprocess.run(
        [ESPEAK, "-v", name, "-p", str(pitch), "-s", str(speed), "-w", str(out), text],
        check=True,
        capture_output=True,
    )
    with wave.open(str(out)) as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    samples = pcm.astype(np.float32) / 32768.0
    resampled: np.ndarray = resample_poly(samples, RATE, rate).astype(np.float32)
    # espeak pads its output with silence; trim it so utterance times are the speech times.
    loud = np.flatnonzero(np.abs(resampled) > 0.001)
    return resampled[loud[0] : loud[-1] + 1] if loud.size else resampled


def noise(seconds: float, level: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * level).astype(
        np.float32
    )


@dataclass(frozen=True)
class SyntheticCall:
    mono: np.ndarray
    channels: tuple[np.ndarray, np.ndarray]
    utterances: tuple[Utterance, ...]

    @property
    def seconds(self) -> float:
        return self.mono.size / RATE


def build_call(
    render: Callable[[str, tuple[str, int, int]], np.ndarray],
    turns: int,
    *,
    overlap_at: int | None = None,
    gap: float = 0.4,
    bleed: float = 0.05,
    seed: int = 7,
    voices: tuple[tuple[str, int, int], tuple[str, int, int]] = (VOICE_A, VOICE_B),
) -> SyntheticCall:
    """Alternating turns of two voices; turn ``overlap_at`` starts 0.8 s before the previous
    one ends (both speak at once).  Stereo channels carry each party plus a little bleed of the
    other, as a telephone hybrid does; mono is their sum plus line noise."""
    pieces: list[tuple[int, float, np.ndarray]] = []
    cursor = 0.5
    for index in range(turns):
        speaker = index % 2
        speech = render(PHRASES[index % len(PHRASES)], voices[speaker])
        start = cursor - 0.8 if index == overlap_at else cursor
        pieces.append((speaker, start, speech))
        cursor = start + speech.size / RATE + gap
    total = int((cursor + 0.5) * RATE)
    party = [np.zeros(total, np.float32), np.zeros(total, np.float32)]
    utterances = []
    for speaker, start, speech in pieces:
        first = int(start * RATE)
        party[speaker][first : first + speech.size] += speech
        utterances.append(Utterance(speaker, start, start + speech.size / RATE))
    line = noise(total / RATE, 0.003, seed)
    left = party[0] + bleed * party[1] + line
    right = party[1] + bleed * party[0] + line
    mono = party[0] + party[1] + line
    return SyntheticCall(mono, (left, right), tuple(utterances))
