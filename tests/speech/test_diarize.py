from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from speech_synth import RATE, VOICE_A, VOICE_C, SyntheticCall, build_call

from earshot.speech.diarize import (
    DiarizationOptions,
    Turn,
    assign_by_channel_energy,
    assign_speakers,
    diarize_mono,
    diarize_stereo,
)
from earshot.speech.info import SpeechInputError
from earshot.speech.voiceprint import VoiceprintOptions

Render = Callable[[str, tuple[str, int, int]], np.ndarray]


def _accuracy(assigned: list[int | None], truth: list[int]) -> float:
    """Share of utterances with the right speaker, under the better label permutation."""
    direct = sum(a == t for a, t in zip(assigned, truth, strict=True))
    swapped = sum(a is not None and a == 1 - t for a, t in zip(assigned, truth, strict=True))
    return max(direct, swapped) / len(truth)


def test_mono_two_voice_call(two_voice_call: SyntheticCall) -> None:
    result = diarize_mono(two_voice_call.mono)
    assert {turn.speaker for turn in result.turns} == {0, 1}
    assert all(t.start < t.end for t in result.turns)
    turns = result.turns
    assert all(a.end <= b.start + 1e-6 for a, b in itertools.pairwise(turns))
    utterances = two_voice_call.utterances
    assigned = assign_speakers([(u.start, u.end) for u in utterances], result.turns)
    assert _accuracy(assigned, [u.speaker for u in utterances]) >= 0.9
    assert set(result.voiceprints) == {0, 1}
    assert [info.engine for info in result.engines] == [
        "silero-vad",
        "resemblyzer",
        "earshot-diarize",
    ]


@pytest.mark.parametrize("hop_s", [0.25, 0.5])
def test_mono_two_male_voices(tts: Render, hop_s: float) -> None:
    """Two men on one line: the case where average linkage split off a few odd windows as
    the second party; both window grids must find both voices, turn by turn."""
    call = build_call(tts, 8, overlap_at=5, voices=(VOICE_A, VOICE_C))
    options = DiarizationOptions(voiceprint=VoiceprintOptions(hop_s=hop_s))
    result = diarize_mono(call.mono, options)
    assigned = assign_speakers([(u.start, u.end) for u in call.utterances], result.turns)
    assert _accuracy(assigned, [u.speaker for u in call.utterances]) >= 0.9
    # One turn per utterance at most (pauses inside a turn are bridged, no flicker).
    assert len(call.utterances) - 2 <= len(result.turns) <= len(call.utterances)


def test_stereo_call_one_party_per_channel(two_voice_call: SyntheticCall) -> None:
    result = diarize_stereo(two_voice_call.channels)
    assert {turn.speaker for turn in result.turns} == {0, 1}
    utterances = two_voice_call.utterances
    assigned = assign_speakers([(u.start, u.end) for u in utterances], result.turns)
    assert assigned == [u.speaker for u in utterances]
    # The overlapping pair is reported as overlapping turns of both parties.
    overlapping = [
        (a, b)
        for a in result.turns
        for b in result.turns
        if a.speaker == 0 and b.speaker == 1 and min(a.end, b.end) - max(a.start, b.start) > 0.3
    ]
    assert overlapping


def test_stereo_channel_energy_assignment(two_voice_call: SyntheticCall) -> None:
    utterances = two_voice_call.utterances
    assigned = assign_by_channel_energy(
        [(u.start, u.end) for u in utterances], two_voice_call.channels
    )
    assert assigned == [u.speaker for u in utterances]


def test_assign_speakers_by_largest_overlap() -> None:
    turns = [Turn(0.0, 2.0, 0), Turn(2.0, 5.0, 1), Turn(6.0, 7.0, 0)]
    segments = [(0.5, 1.5), (1.5, 3.5), (1.0, 2.2), (5.2, 5.8), (5.5, 6.5)]
    assert assign_speakers(segments, turns) == [0, 1, 0, None, 0]


def test_stereo_needs_two_channels() -> None:
    with pytest.raises(SpeechInputError, match="two channels"):
        diarize_stereo([np.zeros(RATE, np.float32)])


def test_silent_call_has_no_turns() -> None:
    result = diarize_mono(np.zeros(3 * RATE, np.float32))
    assert result.turns == ()
    assert result.voiceprints == {}
