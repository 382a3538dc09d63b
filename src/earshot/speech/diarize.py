"""Who speaks when: two parties per call, on one mono channel or on two stereo channels.

Mono: speaker embeddings of overlapping 1.6 s windows (every 0.25 s) inside VAD speech regions
are clustered into N parties: agglomerative clustering on cosine distance with average linkage,
refined by reassigning every window to the nearest party centroid.  Average linkage sometimes
splits off a handful of odd windows as a "party" and puts both voices in the other (two male
voices on a GSM line); when the smallest cluster holds under ``min_cluster_share`` of the
windows, spherical k-means (several seeds) replaces it.  The window sequence is then decoded
with Viterbi over the windows' similarities to the party centroids, with a penalty for switching
party inside a speech region (none between regions): a lone window leaning to the other voice
no longer makes a turn, a real change of speaker still does.  Turns end at the VAD region edges;
pauses shorter than ``bridge_s`` between two turns of one party (a breath, a comma) are part of
the turn, as a listener would mark it.  Where both talk at once on a mono line, one party (the
dominant voice of the window) is reported.

Stereo: each channel is one party.  Per-channel VAD gives the turns; both parties may then
overlap in time, which is reported as is.  Regions that are only the other party's bleed
through the telephone hybrid (much quieter than the other channel at the same time) are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from earshot.speech.info import SAMPLE_RATE, EngineInfo, SpeechInputError, check_audio
from earshot.speech.vad import SileroVad, SpeechRegion, VadOptions, default_vad
from earshot.speech.voiceprint import (
    SpeakerWindow,
    VoiceEncoder,
    Voiceprint,
    VoiceprintOptions,
    default_encoder,
    voiceprint_of,
)

__all__ = [
    "Diarization",
    "DiarizationOptions",
    "Turn",
    "assign_by_channel_energy",
    "assign_speakers",
    "diarize_mono",
    "diarize_stereo",
    "own_speech",
]


@dataclass(frozen=True)
class Turn:
    """One party speaking from ``start`` to ``end`` seconds; speakers are 0, 1, ..."""

    start: float
    end: float
    speaker: int

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class DiarizationOptions:
    """``speakers``: parties per call; ``switch_penalty``: Viterbi cost of changing party
    between two windows of one speech region, in units of cosine similarity x ``sharpness``;
    ``min_cluster_share``: a party cluster smaller than this share of the windows means the
    clustering split off outliers, and k-means is used instead; ``bridge_s``: a pause shorter
    than this between two turns of one party joins them; ``min_turn_s``: shorter turns are
    absorbed by their neighbours; ``bleed_db``: in stereo, a channel region this much quieter
    than another channel over the same span is treated as crosstalk."""

    speakers: int = 2
    switch_penalty: float = 0.5
    sharpness: float = 10.0
    min_cluster_share: float = 0.15
    bridge_s: float = 1.0
    min_turn_s: float = 0.3
    bleed_db: float = 12.0
    vad: VadOptions = field(default_factory=VadOptions)
    # 0.25 s between windows: finer turn edges, and enough windows per turn that one odd
    # window cannot pass for a party (the voiceprint stage itself uses 0.5 s).
    voiceprint: VoiceprintOptions = field(default_factory=lambda: VoiceprintOptions(hop_s=0.25))


@dataclass(frozen=True)
class Diarization:
    """Turns in time order, one voiceprint per party, and what produced them."""

    turns: tuple[Turn, ...]
    voiceprints: dict[int, Voiceprint]
    engines: tuple[EngineInfo, ...]


def _centroids(vectors: np.ndarray, labels: np.ndarray, parties: int) -> np.ndarray:
    centroids = np.stack(
        [
            vectors[labels == k].mean(axis=0) if np.any(labels == k) else vectors[0]
            for k in range(parties)
        ]
    )
    normalised: np.ndarray = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
    return normalised


def _refine(vectors: np.ndarray, labels: np.ndarray, parties: int) -> np.ndarray:
    """Reassign every window to the nearest party centroid until nothing moves."""
    for _ in range(10):
        updated = np.argmax(vectors @ _centroids(vectors, labels, parties).T, axis=1)
        if np.array_equal(updated, labels):
            break
        labels = updated
    return labels


def _cluster(vectors: np.ndarray, parties: int, min_share: float) -> np.ndarray:
    """Party label of each window embedding."""
    from sklearn.cluster import AgglomerativeClustering, KMeans  # type: ignore[import-untyped, unused-ignore]

    if len(vectors) < parties or parties < 2:
        return np.zeros(len(vectors), dtype=int)
    labels = _refine(
        vectors,
        AgglomerativeClustering(n_clusters=parties, metric="cosine", linkage="average").fit_predict(
            vectors
        ),
        parties,
    )
    if np.bincount(labels, minlength=parties).min() >= max(2, min_share * len(vectors)):
        return labels
    # Outliers taken for a party: k-means on the unit vectors balances the split by voice.
    kmeans = KMeans(n_clusters=parties, n_init=10, random_state=0).fit_predict(vectors)
    return _refine(vectors, np.asarray(kmeans), parties)


def _viterbi(scores: np.ndarray, penalties: np.ndarray) -> list[int]:
    """Most likely party sequence: ``scores[i, k]`` rewards window i as party k, and
    ``penalties[i]`` is the cost of a different party at window i than at window i - 1."""
    count, parties = scores.shape
    best = scores[0].copy()
    back = np.zeros((count, parties), dtype=int)
    switch = 1.0 - np.eye(parties)
    for i in range(1, count):
        candidates = best[:, None] - penalties[i] * switch
        back[i] = np.argmax(candidates, axis=0)
        best = candidates[back[i], np.arange(parties)] + scores[i]
    path = [int(np.argmax(best))]
    for i in range(count - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    return path[::-1]


def _bridge(turns: list[Turn], bridge_s: float) -> list[Turn]:
    """Join consecutive turns of one party separated by a pause shorter than ``bridge_s``."""
    joined: list[Turn] = []
    for turn in turns:
        last = joined[-1] if joined else None
        if last is not None and last.speaker == turn.speaker and turn.start - last.end < bridge_s:
            joined[-1] = Turn(last.start, turn.end, turn.speaker)
        else:
            joined.append(turn)
    return joined


def _region_turns(
    region: SpeechRegion, windows: list[SpeakerWindow], labels: list[int]
) -> list[Turn]:
    """Split one region between parties at the midpoints between window centres."""
    turns: list[Turn] = []
    start = region.start
    for i, label in enumerate(labels):
        if i + 1 < len(labels) and labels[i + 1] == label:
            continue
        end = (
            region.end if i + 1 == len(labels) else (windows[i].centre + windows[i + 1].centre) / 2
        )
        turns.append(Turn(round(start, 3), round(end, 3), label))
        start = end
    return turns


def _absorb_short(turns: list[Turn], min_turn_s: float) -> list[Turn]:
    """Give turns shorter than ``min_turn_s`` to the adjacent turn they touch, then merge."""
    result = list(turns)
    for i, turn in enumerate(result):
        if turn.duration >= min_turn_s:
            continue
        before = result[i - 1] if i > 0 and abs(result[i - 1].end - turn.start) < 1e-6 else None
        after = (
            result[i + 1]
            if i + 1 < len(result) and abs(result[i + 1].start - turn.end) < 1e-6
            else None
        )
        neighbour = before or after
        if neighbour is not None:
            result[i] = Turn(turn.start, turn.end, neighbour.speaker)
    merged: list[Turn] = []
    for turn in result:
        if merged and merged[-1].speaker == turn.speaker and turn.start - merged[-1].end < 1e-6:
            merged[-1] = Turn(merged[-1].start, turn.end, turn.speaker)
        else:
            merged.append(turn)
    return merged


def diarize_mono(
    audio: np.ndarray,
    options: DiarizationOptions | None = None,
    *,
    vad: SileroVad | None = None,
    encoder: VoiceEncoder | None = None,
) -> Diarization:
    """Turns and voiceprints of the parties of a one-channel call."""
    opts = options or DiarizationOptions()
    samples = check_audio(audio)
    vad = vad or default_vad()
    encoder = encoder or default_encoder()
    regions = vad.detect(samples, opts.vad)
    windows = encoder.windows(samples, regions, opts.voiceprint)
    engines = (vad.info_with(opts.vad), encoder.info_with(opts.voiceprint), _info(opts))
    if not windows:
        return Diarization((), {}, engines)
    vectors = np.stack([w.vector for w in windows])
    labels = _cluster(vectors, opts.speakers, opts.min_cluster_share)
    region_of = [
        next(
            (k for k, r in enumerate(regions) if r.start - 1e-6 <= w.centre <= r.end + 1e-6),
            -1,
        )
        for w in windows
    ]
    if opts.speakers >= 2 and len(windows) >= opts.speakers:
        scores = opts.sharpness * (vectors @ _centroids(vectors, labels, opts.speakers).T)
        penalties = np.array(
            [0.0]
            + [
                opts.switch_penalty if region_of[i] == region_of[i - 1] else 0.0
                for i in range(1, len(windows))
            ]
        )
        labels = np.array(_viterbi(scores, penalties))
    turns: list[Turn] = []
    for index, region in enumerate(regions):
        inside = [i for i, k in enumerate(region_of) if k == index]
        if not inside:
            continue  # too short to embed; assign_speakers will leave its text unassigned
        region_labels = [int(labels[i]) for i in inside]
        turns.extend(_region_turns(region, [windows[i] for i in inside], region_labels))
    turns = _absorb_short(_bridge(turns, opts.bridge_s), opts.min_turn_s)
    voiceprints = {
        party: voiceprint_of(
            [w for w, label in zip(windows, labels, strict=True) if label == party],
            [SpeechRegion(t.start, t.end) for t in turns if t.speaker == party],
        )
        for party in sorted({t.speaker for t in turns})
    }
    return Diarization(tuple(turns), voiceprints, engines)


_LEVEL_FRAME = 512  # 32 ms, the VAD's frame


def _frame_db(samples: np.ndarray) -> np.ndarray:
    """Level of each 32 ms frame in dB, smoothed over ~0.2 s so syllable gaps do not flicker."""
    frames = samples[: samples.size - samples.size % _LEVEL_FRAME].reshape(-1, _LEVEL_FRAME)
    power = np.mean(np.square(frames, dtype=np.float64), axis=1)
    power = np.convolve(power, np.ones(7) / 7, mode="same")
    levels: np.ndarray = 10 * np.log10(np.maximum(power, 1e-20))
    return levels


def _own_parts(region: SpeechRegion, own: np.ndarray, min_s: float) -> list[SpeechRegion]:
    """The parts of a channel's speech region where that channel is not mere crosstalk."""
    frame_s = _LEVEL_FRAME / SAMPLE_RATE
    first = int(region.start / frame_s)
    last = min(int(np.ceil(region.end / frame_s)), own.size)
    parts: list[SpeechRegion] = []
    run_start: int | None = None
    for i in range(first, last + 1):
        inside = i < last and bool(own[i])
        if inside and run_start is None:
            run_start = i
        elif not inside and run_start is not None:
            start = max(region.start, run_start * frame_s)
            end = min(region.end, i * frame_s)
            if end - start >= min_s:
                parts.append(SpeechRegion(round(start, 3), round(end, 3)))
            run_start = None
    return parts


def diarize_stereo(
    channels: Sequence[np.ndarray],
    options: DiarizationOptions | None = None,
    *,
    vad: SileroVad | None = None,
    encoder: VoiceEncoder | None = None,
) -> Diarization:
    """Turns of a call recorded with one party per channel (speaker = channel index)."""
    opts = options or DiarizationOptions()
    if len(channels) < 2:
        raise SpeechInputError(
            f"a stereo call needs at least two channels, got {len(channels)}; "
            "use diarize_mono for one-channel recordings"
        )
    tracks = [check_audio(c, f"channel {i}") for i, c in enumerate(channels)]
    vad = vad or default_vad()
    encoder = encoder or default_encoder()
    turns: list[Turn] = []
    voiceprints: dict[int, Voiceprint] = {}
    for index, kept in enumerate(own_speech(tracks, opts, vad=vad)):
        turns.extend(Turn(round(r.start, 3), round(r.end, 3), index) for r in kept)
        if kept:
            voiceprints[index] = encoder.embed(tracks[index], kept, opts.voiceprint)
    turns.sort(key=lambda t: (t.start, t.speaker))
    engines = (vad.info_with(opts.vad), encoder.info_with(opts.voiceprint), _info(opts))
    return Diarization(tuple(turns), voiceprints, engines)


def own_speech(
    channels: Sequence[np.ndarray],
    options: DiarizationOptions | None = None,
    *,
    vad: SileroVad | None = None,
) -> list[list[SpeechRegion]]:
    """Each channel's speech regions without the other channels' crosstalk: the parts of its
    VAD regions where it is no more than ``bleed_db`` quieter than the loudest other channel."""
    opts = options or DiarizationOptions()
    tracks = [check_audio(c, f"channel {i}") for i, c in enumerate(channels)]
    vad = vad or default_vad()
    levels = np.stack([_frame_db(t) for t in tracks])
    speech = []
    for index, track in enumerate(tracks):
        others = np.delete(levels, index, axis=0).max(axis=0)
        own_frames = levels[index] >= others - opts.bleed_db
        speech.append(
            [
                part
                for region in vad.detect(track, opts.vad)
                for part in _own_parts(region, own_frames, opts.vad.min_speech_ms / 1000)
            ]
        )
    return speech


def _info(options: DiarizationOptions) -> EngineInfo:
    settings = {k: v for k, v in asdict(options).items() if k not in ("vad", "voiceprint")}
    return EngineInfo("earshot-diarize", "agglomerative-cosine+viterbi", "2", settings)


def assign_speakers(
    segments: Sequence[tuple[float, float]], turns: Sequence[Turn]
) -> list[int | None]:
    """The speaker whose turns overlap each (start, end) segment the most; None if no turn
    touches it."""
    assigned: list[int | None] = []
    for start, end in segments:
        overlap: dict[int, float] = {}
        for turn in turns:
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
        assigned.append(max(overlap, key=lambda s: overlap[s]) if overlap else None)
    return assigned


def assign_by_channel_energy(
    segments: Sequence[tuple[float, float]], channels: Sequence[np.ndarray]
) -> list[int]:
    """For a stereo call: the index of the channel with the most energy in each segment's span
    (channel 0 when the span is empty or silent everywhere)."""
    tracks = [check_audio(c, f"channel {i}") for i, c in enumerate(channels)]
    if not tracks:
        raise SpeechInputError("assign_by_channel_energy needs at least one channel")
    result = []
    for start, end in segments:
        span = slice(max(0, int(start * SAMPLE_RATE)), max(0, int(end * SAMPLE_RATE)))
        energies = [float(np.sum(np.square(t[span], dtype=np.float64))) for t in tracks]
        result.append(int(np.argmax(energies)))
    return result
