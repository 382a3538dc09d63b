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
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..speech.asr import AsrEngine, get_engine
from ..speech.diarize import Turn, assign_by_channel_energy, assign_speakers
from ..speech.info import RunInfo, package_version
from ..stages import StageInfo, StageOutcome
from ..store.case import Case
from ..store.models import Segment, Transcript
from ..store.speech_models import StageRun
from ..vocab import StageStatus
from .audio import call_or_error, load_channels, party_channels, stored_turns
from .runs import digest, latest_run
from .split import Computed, compute_and_write

__all__ = ["NO_ENGINE", "TranscriptStage"]

NO_ENGINE = "no ASR engine configured: pass --asr faster-whisper:/path/to/model"
_GPU_ENGINES = ("faster-whisper",)
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


def _engine_version(name: str) -> str:
    if name == "faster-whisper":
        return (
            f"faster-whisper {package_version('faster-whisper')}, "
            f"ctranslate2 {package_version('ctranslate2')}"
        )
    if name == "vosk":
        return f"vosk {package_version('vosk')}"
    return "1"


class TranscriptStage:
    """Transcribe with the configured engine, or label the sidecar transcript's speakers."""

    name = "transcript"
    after: tuple[str, ...] = ("separate",)

    def __init__(
        self,
        asr: str | None = None,
        language: str | None = "ru",
        asr_options: dict[str, Any] | None = None,
    ) -> None:
        self.asr = asr or None
        self.language = None if language in (None, "auto") else language
        self.asr_options = dict(asr_options or {})
        self.engine_name = (self.asr or "sidecar").partition(":")[0]
        self.wants_gpu = self.engine_name in _GPU_ENGINES

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
    ) -> Computed:
        engine = _engine(self.asr or "", self.asr_options)
        channels = load_channels(case, call_id)
        # Stereo calls are mixed down and transcribed once; each segment then goes to the
        # louder channel, as for sidecars (per-channel decoding doubles the cost and
        # transcribes the hybrid's crosstalk twice).
        audio = np.mean(np.stack(channels), axis=0).astype(np.float32) if stereo else channels[0]
        segments = list(engine.transcribe(audio, language=self.language))
        spans = [(s.start, s.end) for s in segments]
        parties, basis = (
            self._parties(case, call_id, stereo, spans, turns, by_channel)
            if turns or stereo
            else ([None] * len(segments), "none")
        )
        rows = [
            {
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "party": party,
                "words": [asdict(w) for w in s.words],
            }
            for s, party in zip(segments, parties, strict=True)
        ]
        info = engine.info
        # The run's own record (faster-whisper's TranscriptionInfo): with language "auto"
        # it is the only place the detected language is known.
        run: RunInfo | None = getattr(engine, "last_run", None)
        payload = {
            "mode": "asr",
            "engine": {
                "engine": info.engine,
                "model": info.model,
                "version": info.version,
                "options": dict(info.options),
                "run": run.as_dict() if isinstance(run, RunInfo) else None,
            },
            "language": run.language if isinstance(run, RunInfo) else None,
            "basis": basis,
            "segments": rows,
        }
        detail = {"segments": len(rows), "basis": basis, "engine": info.engine}
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
        transcript = Transcript(
            call_id=call_id,
            source="asr",
            kind="verbatim",
            language=self.language or payload.get("language"),
            engine={
                **info.as_dict(),
                "engine_info": payload["engine"],
                "stage_run": run.id,
                "party_basis": payload["basis"],
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
