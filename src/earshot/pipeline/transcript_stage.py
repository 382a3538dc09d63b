"""The transcript stage: an ASR engine's transcript, or speaker labels for a sidecar's.

Three cases, decided per call:

* a human transcript exists (``source == "human"``, made in the editor): nothing is touched,
  the run is recorded as "skipped: human transcript present";
* ASR (``--asr faster-whisper:MODEL``, ``vosk:DIR``): a new ``Transcript(source="asr")``
  version per engine version; re-running the same engine version replaces its own output;
  segments get their party from channel energy (stereo) or the diarization turns (mono);
* sidecar (``--asr sidecar``, and the default when the call has a timed sidecar): the sidecar's
  segments are not copied; those without a party get one (same rules), and the basis is
  recorded in the transcript's ``engine["party_assignment"]``.

With no ``--asr`` a call without a sidecar is transcribed by ``default_asr`` (the best
installed model, see :func:`earshot.speech.models.choose_default_asr`), and the reason for the
choice is kept in the transcript's provenance.  Engines that take chunks (onnx-asr) transcribe
each channel of a stereo call on its own from the VAD stage's regions, so a segment's party is
its channel.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..speech.asr import AsrEngine, get_engine
from ..speech.asr.base import describe
from ..speech.diarize import Turn, assign_by_channel_energy, assign_speakers
from ..speech.info import RunInfo, package_version
from ..speech.recognise import recognise_channels
from ..stages import StageInfo, StageOutcome
from ..store.case import Case
from ..store.models import Segment, Transcript
from ..store.speech_models import StageRun
from ..vocab import StageStatus
from .audio import call_or_error, load_channels, party_channels, stored_regions, stored_turns
from .runs import digest, latest_run
from .split import Computed, compute_and_write

__all__ = ["NO_ENGINE", "TranscriptStage", "speech_chunks"]

_PARTY_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

NO_ENGINE = (
    "no ASR engine configured and no speech model installed: pass --asr "
    "onnx-asr:gigaam-v3-rnnt:/path/to/model (or faster-whisper:/path), or install one with "
    "`earshot models fetch` / `earshot models import`"
)
_GPU_ENGINES = ("faster-whisper", "onnx-asr")
_engines: dict[str, AsrEngine] = {}  # loaded once per process (worker)


def _engine(spec: str, options: dict[str, Any]) -> AsrEngine:
    key = json.dumps([spec, options], sort_keys=True, default=str)
    if key not in _engines:
        chosen = dict(options)
        if spec.startswith("faster-whisper") and "device" not in chosen:
            import ctranslate2  # type: ignore[import-untyped, unused-ignore]

            if ctranslate2.get_cuda_device_count() > 0:
                chosen["device"] = "cuda"
        _engines[key] = get_engine(spec, **chosen)
    return _engines[key]


@cache  # importlib.metadata lookups cost milliseconds; the stage asks on every call
def _engine_version(name: str) -> str:
    if name == "faster-whisper":
        return (
            f"faster-whisper {package_version('faster-whisper')}, "
            f"ctranslate2 {package_version('ctranslate2')}"
        )
    if name == "vosk":
        return f"vosk {package_version('vosk')}"
    if name == "onnx-asr":
        return (
            f"onnx-asr {package_version('onnx-asr')}, onnxruntime {package_version('onnxruntime')}"
        )
    return "1"


def speech_chunks(
    session: Session, call_id: int, stereo: bool
) -> dict[int, list[tuple[float, float]]] | None:
    """Where a chunked engine should listen, per channel: on a stereo call the separation
    stage's turns (the VAD regions without the other party's crosstalk, the line echo a hybrid
    leaks into each channel, so no sentence is transcribed twice), else the VAD stage's
    regions; None when neither stage has run (the engine runs its own VAD)."""
    separate = latest_run(session, call_id, "separate", ("done",))
    turns = stored_turns(session, separate) if separate is not None else []
    if stereo and turns and all(t.channel is not None for t in turns):
        regions: dict[int, list[tuple[float, float]]] = {}
        for turn in turns:
            regions.setdefault(turn.channel or 0, []).append((turn.start, turn.end))
        return regions
    vad_run = latest_run(session, call_id, "vad", ("done",))
    return stored_regions(session, vad_run) if vad_run is not None else None


class TranscriptStage:
    """Transcribe with the configured engine, or label the sidecar transcript's speakers."""

    name = "transcript"
    after: tuple[str, ...] = ("separate",)

    def __init__(
        self,
        asr: str | None = None,
        language: str | None = "ru",
        asr_options: dict[str, Any] | None = None,
        default_asr: str | None = None,
        default_reason: str | None = None,
    ) -> None:
        self.asr = asr or None
        # Used only without --asr, for calls that have no sidecar transcript to label.
        self.default_asr = None if self.asr else (default_asr or None)
        self.default_reason = default_reason if self.default_asr else None
        self.language = None if language in (None, "auto") else language
        self.asr_options = dict(asr_options or {})
        self.engine_name = (self.asr or "sidecar").partition(":")[0]
        self.wants_gpu = (self.default_asr or self.engine_name).partition(":")[0] in _GPU_ENGINES

    def info(self) -> StageInfo:
        model = (self.asr or "").partition(":")[2] or None
        return StageInfo(
            "transcript",
            self.engine_name,
            _engine_version(self.engine_name),
            model,
            {
                "language": self.language or "auto",
                "asr_options": self.asr_options,
                "sidecar_default": self.asr is None,
                **({"default_asr": self.default_asr} if self.default_asr else {}),
            },
        )

    def inputs(self, session: Session, call_id: int) -> str:
        call = call_or_error(session, call_id)
        kept = session.execute(
            select(Transcript.id, Transcript.source).where(
                Transcript.call_id == call_id,
                Transcript.source.in_(("sidecar", "human")),
                Transcript.kind == "verbatim",
            )
        ).all()
        separate = latest_run(session, call_id, "separate")
        return digest(
            [call.sha256, sorted((i, s) for i, s in kept), separate.id if separate else None]
        )

    # -- compute ---------------------------------------------------------------------
    def compute(self, case: Case, call_id: int) -> Computed:
        with case.session() as session:
            call = call_or_error(session, call_id)
            stereo = call.channels >= 2
            human = session.execute(
                select(Transcript.id).where(
                    Transcript.call_id == call_id, Transcript.source == "human"
                )
            ).first()
            if human is not None:
                return Computed(
                    StageOutcome(StageStatus.SKIPPED, {"reason": "human transcript present"})
                )
            by_channel = party_channels(session, call_id)
            separate = latest_run(session, call_id, "separate", ("done",))
            turns = stored_turns(session, separate) if separate else []
            sidecar = self._sidecar(session, call_id)
        if self.engine_name == "sidecar" and sidecar is None and self.default_asr:
            return self._recognise(case, call_id, stereo, turns, by_channel, self.default_asr)
        if self.engine_name == "sidecar":
            if sidecar is None:
                reason = NO_ENGINE if self.asr is None else "no timed sidecar transcript"
                return Computed(StageOutcome(StageStatus.SKIPPED, {"reason": reason}))
            transcript_id, spans, filled = sidecar
            todo = [(idx, s, e) for idx, s, e, party in spans if party is None or idx in filled]
            if not todo:
                return Computed(
                    StageOutcome(StageStatus.DONE, {"assigned": 0, "basis": "sidecar labels"})
                )
            parties, basis = self._parties(
                case, call_id, stereo, [(s, e) for _, s, e in todo], turns, by_channel
            )
            assigned = {idx: party for (idx, _, _), party in zip(todo, parties, strict=True)}
            payload = {
                "mode": "sidecar",
                "transcript_id": transcript_id,
                "assigned": assigned,
                "basis": basis,
                "separate_run": separate.id if separate else None,
            }
            detail = {"assigned": sum(p is not None for p in parties), "basis": basis}
            return Computed(StageOutcome(StageStatus.DONE, detail), payload)
        return self._recognise(case, call_id, stereo, turns, by_channel)

    @staticmethod
    def _sidecar(
        session: Session, call_id: int
    ) -> tuple[int, list[tuple[int, float, float, str | None]], set[int]] | None:
        """The newest timed verbatim sidecar transcript: id, (idx, start, end, party) of its
        timed segments without a speaker label, and the segments we labelled before."""
        for transcript in session.execute(
            select(Transcript)
            .where(
                Transcript.call_id == call_id,
                Transcript.source == "sidecar",
                Transcript.kind == "verbatim",
            )
            .order_by(Transcript.id.desc())
        ).scalars():
            timed = [s for s in transcript.segments if s.start is not None and s.end is not None]
            if not timed:
                continue
            spans = [
                (s.idx, float(s.start), float(s.end), s.party)  # type: ignore[arg-type]
                for s in timed
                if s.speaker_label is None
            ]
            filled = set(transcript.engine.get("party_assignment", {}).get("segments", []))
            return transcript.id, spans, filled
        return None

    @staticmethod
    def _parties(
        case: Case,
        call_id: int,
        stereo: bool,
        spans: list[tuple[float, float]],
        turns: list[Any],
        by_channel: dict[int, str],
    ) -> tuple[list[str | None], str]:
        if stereo:
            channels = load_channels(case, call_id)
            loudest = assign_by_channel_energy(spans, channels)
            return [by_channel.get(c) for c in loudest], "channel energy"
        labels = sorted({t.party for t in turns})
        indexed = [Turn(t.start, t.end, labels.index(t.party)) for t in turns]
        speakers = assign_speakers(spans, indexed)
        return [None if s is None else labels[s] for s in speakers], "diarization"

    def _recognise(
        self,
        case: Case,
        call_id: int,
        stereo: bool,
        turns: list[Any],
        by_channel: dict[int, str],
        spec: str | None = None,
    ) -> Computed:
        engine = _engine(spec or self.asr or "", self.asr_options)
        channels = load_channels(case, call_id)
        with case.session() as session:
            regions = speech_chunks(session, call_id, stereo)
        # Chunked engines hear each channel on its own (segment party = channel); others get
        # the stereo mix once and each segment goes to the louder channel, as for sidecars.
        heard = recognise_channels(engine, channels, language=self.language, regions=regions)
        segments = [h.segment for h in heard]
        if stereo and all(h.channel is not None for h in heard):
            parties: list[str | None] = [
                by_channel.get(h.channel or 0, _PARTY_LABELS[h.channel or 0]) for h in heard
            ]
            basis = "channel"
        elif turns or stereo:
            spans = [(s.start, s.end) for s in segments]
            parties, basis = self._parties(case, call_id, stereo, spans, turns, by_channel)
        else:
            parties, basis = [None] * len(segments), "none"
        rows = [
            {
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "party": party,
                "words": [asdict(w) for w in s.words],
                "language": s.language,
            }
            for s, party in zip(segments, parties, strict=True)
        ]
        info = engine.info
        # The run's own record (faster-whisper's TranscriptionInfo): with language "auto"
        # it is the only place the detected language is known.
        run: RunInfo | None = engine.last_run
        payload = {
            "mode": "asr",
            "engine": {
                **describe(engine),
                "run": run.as_dict() if isinstance(run, RunInfo) else None,
            },
            "language": run.language if isinstance(run, RunInfo) else None,
            "basis": basis,
            "segments": rows,
            "chosen_because": self.default_reason if spec else None,
        }
        detail = {"segments": len(rows), "basis": basis, "engine": info.engine}
        if spec:
            detail["default_asr"] = info.model
        return Computed(StageOutcome(StageStatus.DONE, detail), payload)

    # -- write -----------------------------------------------------------------------
    def write(self, session: Session, call_id: int, payload: Any, run: StageRun) -> None:
        if payload is None:  # nothing to change (a sidecar labelled throughout)
            return
        if payload["mode"] == "sidecar":
            transcript = session.get(Transcript, payload["transcript_id"])
            if transcript is None:
                return
            assigned = {int(k): v for k, v in payload["assigned"].items()}
            for segment in transcript.segments:
                if segment.idx in assigned:
                    segment.party = assigned[segment.idx]
            transcript.engine = {
                **transcript.engine,
                "party_assignment": {
                    "basis": payload["basis"],
                    "stage_run": run.id,
                    "separate_run": payload["separate_run"],
                    "segments": sorted(assigned),
                },
            }
            return
        info = self.info()
        old = [
            t.id
            for t in session.execute(
                select(Transcript).where(Transcript.call_id == call_id, Transcript.source == "asr")
            ).scalars()
            if t.engine.get("stage") == "transcript" and t.engine.get("key") == info.key
        ]
        if old:
            session.execute(delete(Segment).where(Segment.transcript_id.in_(old)))
            session.execute(delete(Transcript).where(Transcript.id.in_(old)))
        languages = {
            str(i): row["language"]
            for i, row in enumerate(payload["segments"])
            if row.get("language") and row["language"] != self.language
        }
        transcript = Transcript(
            call_id=call_id,
            source="asr",
            kind="verbatim",
            language=self.language or payload.get("language"),
            engine={
                **info.as_dict(),
                # A default choice runs under the sidecar stage's key: name the real engine.
                **(
                    {k: payload["engine"][k] for k in ("engine", "model", "version")}
                    if payload.get("chosen_because")
                    else {}
                ),
                "engine_info": payload["engine"],
                "stage_run": run.id,
                "party_basis": payload["basis"],
                **(
                    {"chosen_because": payload["chosen_because"]}
                    if payload.get("chosen_because")
                    else {}
                ),
                **({"segment_languages": languages} if languages else {}),
            },
        )
        session.add(transcript)
        session.flush()
        for idx, row in enumerate(payload["segments"]):
            session.add(
                Segment(
                    transcript_id=transcript.id,
                    call_id=call_id,
                    idx=idx,
                    start=row["start"],
                    end=row["end"],
                    party=row["party"],
                    speaker_label=None,
                    text=row["text"],
                    words=row["words"],
                )
            )

    def run(self, case: Case, call_id: int) -> StageOutcome:
        return compute_and_write(case, self, call_id)
