"""The built-in speech stages: decode, voice activity, speaker separation, voiceprints.

Each stage computes from the call's working copies and the stored output of the stage before
it, and writes its own rows tagged with the run that made them (see :mod:`.split`).  The
transcript stage lives in :mod:`.transcript_stage`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import StageInputError
from ..speech.diarize import Diarization, DiarizationOptions, diarize_mono, diarize_stereo
from ..speech.info import EngineInfo, package_version
from ..speech.vad import SileroVad, SpeechRegion, VadOptions, default_vad
from ..speech.voiceprint import VoiceprintOptions, default_encoder
from ..stages import StageInfo, StageOutcome
from ..store.case import Case
from ..store.models import Segment, Transcript
from ..store.speech_models import SpeakerTurnRow, SpeechRegionRow, StageRun, VoiceprintRow
from ..vocab import StageStatus
from .audio import (
    call_or_error,
    load_channels,
    party_channels,
    stored_regions,
    stored_turns,
    working_rows,
)
from .decode_stage import DecodeStage
from .runs import digest, latest_run
from .split import Computed, compute_and_write

__all__ = [
    "DecodeStage",
    "SeparateStage",
    "StageInputError",
    "VadStage",
    "VoiceprintStage",
    "map_speakers_to_parties",
]

_VAD_MODEL = "silero_vad_16k_sequence.onnx"
_ENCODER_MODEL = "VoiceEncoder pretrained.pt (GE2E, 256-d)"
_PARTY_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _working_inputs(session: Session, call_id: int) -> list[Any]:
    call = call_or_error(session, call_id)
    return [
        call.sha256,
        [(r.channel, r.frames, r.path) for r in working_rows(session, call.sha256)],
    ]


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    """Options as strict JSON (PostgreSQL refuses Infinity): non-finite floats become text."""
    return {
        k: (str(v) if isinstance(v, float) and not np.isfinite(v) else v)
        for k, v in options.items()
    }


def _run_ref(run: StageRun | None) -> list[Any] | None:
    return None if run is None else [run.id, run.info_key, run.inputs_key, run.status]


class _SpeechStage:
    """What every built-in stage shares: `run` = compute, then write with the run row."""

    name = ""
    after: tuple[str, ...] = ()
    wants_gpu = False

    def info(self) -> StageInfo:
        raise NotImplementedError

    def inputs(self, session: Session, call_id: int) -> str:
        raise NotImplementedError

    def compute(self, case: Case, call_id: int) -> Computed:
        raise NotImplementedError

    def write(self, session: Session, call_id: int, payload: Any, run: StageRun) -> None:
        raise NotImplementedError

    def run(self, case: Case, call_id: int) -> StageOutcome:
        return compute_and_write(case, self, call_id)


# -- voice activity ------------------------------------------------------------------


class VadStage(_SpeechStage):
    """Silero VAD (the ONNX model shipped in the silero-vad wheel) on every channel, with
    WebRTC's VAD as the fallback where Silero goes deaf on a narrowband copy."""

    name = "vad"
    after = ("decode",)

    def __init__(self, **options: Any) -> None:
        self.options = VadOptions(**options)

    def info(self) -> StageInfo:
        return StageInfo(
            "vad",
            "silero-vad",
            package_version("silero-vad"),
            f"{_VAD_MODEL} + webrtcvad {package_version('webrtcvad')}"
            if self.options.fallback
            else _VAD_MODEL,
            _jsonable(asdict(self.options)),
        )

    def inputs(self, session: Session, call_id: int) -> str:
        return digest(_working_inputs(session, call_id))

    def compute(self, case: Case, call_id: int) -> Computed:
        vad = default_vad()
        reports = [vad.report(samples, self.options) for samples in load_channels(case, call_id)]
        regions = [
            (channel, r.start, r.end)
            for channel, report in enumerate(reports)
            for r in report.regions
        ]
        speech = round(sum(end - start for _, start, end in regions), 3)
        # How much speech only the WebRTC fallback heard (Silero deaf on this copy).
        fallback = round(sum(report.fallback_s for report in reports), 3)
        detail = {"regions": len(regions), "speech_s": speech, "fallback_s": fallback}
        return Computed(StageOutcome(StageStatus.DONE, detail), regions)

    def write(self, session: Session, call_id: int, payload: Any, run: StageRun) -> None:
        for channel, start, end in payload:
            session.add(
                SpeechRegionRow(
                    call_id=call_id, run_id=run.id, channel=channel, start=start, end=end
                )
            )


# -- speaker separation ----------------------------------------------------------------


def _audio_digest(samples: np.ndarray) -> str:
    return hashlib.blake2b(
        np.ascontiguousarray(samples, np.float32).tobytes(), digest_size=16
    ).hexdigest()


class _RecordedVad(SileroVad):
    """Hands diarization the regions the voice-activity stage stored, instead of re-detecting
    them, so separation consumes exactly the stage output the case records."""

    def __init__(self, regions: dict[str, list[SpeechRegion]], info: EngineInfo) -> None:
        self._regions = regions
        self.info = info

    def detect(self, audio: np.ndarray, options: VadOptions | None = None) -> list[SpeechRegion]:
        return list(self._regions.get(_audio_digest(audio), []))

    def info_with(self, options: VadOptions) -> EngineInfo:
        return self.info


def map_speakers_to_parties(
    turns: list[tuple[float, float, int]], labelled: list[tuple[float, float, str]]
) -> tuple[dict[int, str], str]:
    """Party label of each diarization speaker of a mono call, and the basis of the mapping.

    With labelled sidecar segments the mapping that agrees with them over the most time wins
    ("sidecar labels"); without, the speaker heard first is A, the caller ("first speaker"):
    a caller usually speaks first ("Алло, мам, это я"), but a callee who answers with "Алло?"
    is heard first, so such calls come out swapped until someone labels them.
    """
    speakers = sorted({s for _, _, s in turns}, key=lambda s: min(t[0] for t in turns if t[2] == s))
    labels = sorted({p for _, _, p in labelled})
    if labelled and speakers:
        from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped, unused-ignore]

        overlap = np.zeros((len(speakers), len(labels)))
        for start, end, speaker in turns:
            for s_start, s_end, party in labelled:
                shared = min(end, s_end) - max(start, s_start)
                if shared > 0:
                    overlap[speakers.index(speaker), labels.index(party)] += shared
        if overlap.sum() > 0:
            rows, cols = linear_sum_assignment(-overlap)
            mapping = {speakers[r]: labels[c] for r, c in zip(rows, cols, strict=True)}
            spare = iter(label for label in _PARTY_LABELS if label not in mapping.values())
            for speaker in speakers:
                mapping.setdefault(speaker, next(spare))
            return mapping, "sidecar labels"
    return {speaker: _PARTY_LABELS[i] for i, speaker in enumerate(speakers)}, "first speaker"


@dataclass(frozen=True)
class _SeparateOptions:
    """The diarization options a run records (see `DiarizationOptions` for what they do)."""

    speakers: int = 2
    switch_penalty: float = 0.5
    sharpness: float = 10.0
    min_cluster_share: float = 0.15
    bridge_s: float = 1.0
    min_turn_s: float = 0.3
    bleed_db: float = 12.0
    # Windows every 0.25 s (the voiceprint stage uses 0.5 s): finer labels per region.
    voiceprint: dict[str, Any] = field(
        default_factory=lambda: asdict(VoiceprintOptions(hop_s=0.25))
    )


class SeparateStage(_SpeechStage):
    """Who speaks when: stereo calls by channel, mono calls by clustering speaker embeddings."""

    name = "separate"
    after = ("vad",)

    def __init__(self, speakers: int = 2, **options: Any) -> None:
        self.options = _SeparateOptions(speakers=speakers, **options)

    def _diarization_options(self) -> DiarizationOptions:
        o = self.options
        return DiarizationOptions(
            speakers=o.speakers,
            switch_penalty=o.switch_penalty,
            sharpness=o.sharpness,
            min_cluster_share=o.min_cluster_share,
            bridge_s=o.bridge_s,
            min_turn_s=o.min_turn_s,
            bleed_db=o.bleed_db,
            voiceprint=VoiceprintOptions(**o.voiceprint),
        )

    def info(self) -> StageInfo:
        return StageInfo(
            "separate",
            "earshot-diarize",
            f"2; resemblyzer {package_version('resemblyzer')}",
            "agglomerative-cosine+viterbi",
            asdict(self.options),
        )

    def inputs(self, session: Session, call_id: int) -> str:
        call = call_or_error(session, call_id)
        return digest(
            [
                _run_ref(latest_run(session, call_id, "vad")),
                call.channels,
                _labelled(session, call_id),
            ]
        )

    def compute(self, case: Case, call_id: int) -> Computed:
        channels = load_channels(case, call_id)
        with case.session() as session:
            vad_run = latest_run(session, call_id, "vad", ("done",))
            if vad_run is None:
                raise _missing("voice activity", "vad", call_id)
            regions = stored_regions(session, vad_run)
            labelled = _labelled(session, call_id)
            by_channel = party_channels(session, call_id)
        recorded = _RecordedVad(
            {
                _audio_digest(samples): [SpeechRegion(s, e) for s, e in regions.get(index, [])]
                for index, samples in enumerate(channels)
            },
            EngineInfo("silero-vad", _VAD_MODEL, vad_run.info.get("version", ""), {}),
        )
        options = self._diarization_options()
        encoder = default_encoder()
        rows: list[tuple[int | None, float, float, int, str]]
        if len(channels) >= 2:
            result: Diarization = diarize_stereo(channels, options, vad=recorded, encoder=encoder)
            rows = [
                (
                    t.speaker,
                    t.start,
                    t.end,
                    t.speaker,
                    by_channel.get(t.speaker, _PARTY_LABELS[t.speaker]),
                )
                for t in result.turns
            ]
            basis = "channel"
        else:
            result = diarize_mono(channels[0], options, vad=recorded, encoder=encoder)
            mapping, basis = map_speakers_to_parties(
                [(t.start, t.end, t.speaker) for t in result.turns], labelled
            )
            rows = [(None, t.start, t.end, t.speaker, mapping[t.speaker]) for t in result.turns]
        detail = {
            "turns": len(rows),
            "parties": sorted({r[4] for r in rows}),
            "basis": basis,
            "layout": "stereo" if len(channels) >= 2 else "mono",
        }
        return Computed(StageOutcome(StageStatus.DONE, detail), rows)

    def write(self, session: Session, call_id: int, payload: Any, run: StageRun) -> None:
        for channel, start, end, speaker, party in payload:
            session.add(
                SpeakerTurnRow(
                    call_id=call_id,
                    run_id=run.id,
                    channel=channel,
                    start=start,
                    end=end,
                    speaker=speaker,
                    party=party,
                )
            )


def _channel_party(by_channel: dict[int, str], channel: int) -> str:
    return by_channel.get(channel, _PARTY_LABELS[channel])


def _labelled(session: Session, call_id: int) -> list[tuple[float, float, str]]:
    """Timed segments whose party the sidecar itself states (a speaker label, not our guess)."""
    rows = session.execute(
        select(Segment.start, Segment.end, Segment.party)
        .join(Transcript, Segment.transcript_id == Transcript.id)
        .where(
            Segment.call_id == call_id,
            Transcript.source == "sidecar",
            Transcript.kind == "verbatim",
            Segment.speaker_label.is_not(None),
            Segment.party.is_not(None),
            Segment.start.is_not(None),
            Segment.end.is_not(None),
        )
        .order_by(Segment.transcript_id, Segment.idx)
    ).all()
    return [(float(s or 0.0), float(e or 0.0), str(p)) for s, e, p in rows]


def _missing(what: str, stage: str, call_id: int) -> StageInputError:
    return StageInputError(
        f"call {call_id} has no {what} output yet; run `earshot process CASE --only {stage}` first"
    )


# -- voiceprints -----------------------------------------------------------------------


class VoiceprintStage(_SpeechStage):
    """One Resemblyzer voiceprint per party, from that party's turns (its channel on stereo)."""

    name = "voiceprint"
    after = ("separate",)

    def __init__(self, engine: str = "resemblyzer", **options: Any) -> None:
        self.options = VoiceprintOptions(**options)
        # The case's `voiceprint_engine` setting: "resemblyzer" or "onnx:/path/model.onnx".
        self.engine = engine or "resemblyzer"

    def info(self) -> StageInfo:
        if self.engine != "resemblyzer":
            from ..speech.embeddings_onnx import OnnxSpeakerEncoder, encoder_for

            encoder = encoder_for(self.engine)
            assert isinstance(encoder, OnnxSpeakerEncoder)
            return StageInfo(
                "voiceprint",
                encoder.info.engine,
                encoder.info.version,
                f"{encoder.info.model} sha256:{encoder.info.options['sha256']}",
                asdict(self.options),
            )
        return StageInfo(
            "voiceprint",
            "resemblyzer",
            package_version("resemblyzer"),
            _ENCODER_MODEL,
            asdict(self.options),
        )

    def inputs(self, session: Session, call_id: int) -> str:
        return digest([_run_ref(latest_run(session, call_id, "separate"))])

    def compute(self, case: Case, call_id: int) -> Computed:
        with case.session() as session:
            run = latest_run(session, call_id, "separate", ("done",))
            if run is None:
                raise _missing("speaker separation", "separate", call_id)
            turns = stored_turns(session, run)
        channels = load_channels(case, call_id) if turns else []
        if self.engine != "resemblyzer":
            from ..speech.embeddings_onnx import encoder_for

            encoder: Any = encoder_for(self.engine)
        else:
            encoder = default_encoder()
        prints: list[tuple[str, list[float], float]] = []
        for party in sorted({t.party for t in turns}):
            own = [t for t in turns if t.party == party]
            channel = own[0].channel or 0
            voiceprint = encoder.embed(
                channels[channel], [SpeechRegion(t.start, t.end) for t in own], self.options
            )
            if voiceprint.seconds > 0 and np.any(voiceprint.vector):
                prints.append((party, [float(x) for x in voiceprint.vector], voiceprint.seconds))
        detail = {"parties": [p for p, _, _ in prints], "seconds": {p: s for p, _, s in prints}}
        return Computed(StageOutcome(StageStatus.DONE, detail), prints)

    def write(self, session: Session, call_id: int, payload: Any, run: StageRun) -> None:
        info = self.info()
        for party, vector, seconds in payload:
            session.add(
                VoiceprintRow(
                    call_id=call_id,
                    run_id=run.id,
                    party=party,
                    info_key=info.key,
                    vector=vector,
                    seconds=seconds,
                    engine=info.as_dict(),
                )
            )
