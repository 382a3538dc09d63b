"""`earshot asr-eval`: how well each engine transcribes *this newsroom's* calls.

For every call with a reference transcript (a human-corrected transcript, else a sidecar
delivered with the recording), each engine's transcript is compared word by word after Russian
normalisation: lower case, ё -> е, punctuation dropped, numbers written as words or digits made
digits ("двести" and "200" are the same word).  WER and CER are given per call, per channel of
stereo calls (reference segments by party, hypothesis by the channel it was heard on) and in
total (errors summed over calls, not rates averaged), with the real-time factor of engines run
here.  Engines given as specs are run now, on the stage's VAD regions; without specs the ASR
transcripts already in the case are scored.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NoReferenceError
from ..language.numbers import spoken_numbers
from ..speech.asr import AsrEngine, get_engine
from ..speech.diarize import assign_by_channel_energy
from ..speech.evaluate import ErrorCount, char_errors, word_errors
from ..speech.recognise import recognise_channels
from ..store.case import Case
from ..store.models import Call, Transcript
from .audio import load_channels, party_channels
from .transcript_stage import speech_chunks

__all__ = ["EvalReport", "EvalRow", "evaluate_case", "normalise_ru"]

_NON_WORD = re.compile(r"[^\w]+|_")
# "200-е", "300-х", "5-го": a written ordinal ending, dropped as its spoken form's is.
_DIGIT_ENDING = re.compile(r"(\d)-[а-я]{1,3}\b")
MIX = "all"


def normalise_ru(text: str) -> list[str]:
    """The words of ``text`` as compared: case, ё, punctuation and number spelling removed."""
    lowered = _DIGIT_ENDING.sub(r"\1", text.lower().replace("ё", "е"))
    pieces: list[str] = []
    last = 0
    for number in spoken_numbers(lowered):
        pieces += [lowered[last : number.start], f" {number.value} "]
        last = number.end
    pieces.append(lowered[last:])
    return _NON_WORD.sub(" ", "".join(pieces)).split()


@dataclass(frozen=True)
class EvalRow:
    """One engine on one call (channel ``all``) or one channel of it."""

    call_id: int
    call: str
    channel: str
    engine: str
    words: ErrorCount
    chars: ErrorCount
    audio_s: float
    seconds: float | None

    @property
    def rtf(self) -> float | None:
        return None if self.seconds is None or not self.audio_s else self.seconds / self.audio_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "call": self.call,
            "channel": self.channel,
            "engine": self.engine,
            "wer": self.words.rate,
            "cer": self.chars.rate,
            "word_errors": self.words.errors,
            "reference_words": self.words.reference,
            "char_errors": self.chars.errors,
            "reference_chars": self.chars.reference,
            "audio_s": round(self.audio_s, 3),
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "rtf": None if self.rtf is None else round(self.rtf, 4),
        }


@dataclass(frozen=True)
class EvalReport:
    """Rows per call and channel, and each engine's total over every call."""

    engines: list[str]
    rows: list[EvalRow]
    totals: list[EvalRow] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engines": self.engines,
            "rows": [r.as_dict() for r in self.rows],
            "totals": [r.as_dict() for r in self.totals],
            "skipped": self.skipped,
        }


Hypothesis = list[tuple[str | None, str]]  # (party or None, text) per segment


def _reference(session: Session, call_id: int) -> tuple[str, Hypothesis] | None:
    """The call's reference: its newest human transcript, else its newest verbatim sidecar."""
    for source in ("human", "sidecar"):
        transcript = (
            session.execute(
                select(Transcript)
                .where(
                    Transcript.call_id == call_id,
                    Transcript.source == source,
                    Transcript.kind == "verbatim",
                )
                .order_by(Transcript.id.desc())
            )
            .scalars()
            .first()
        )
        if transcript is not None and transcript.segments:
            segments = sorted(transcript.segments, key=lambda s: s.idx)
            return source, [(s.party, s.text) for s in segments]
    return None


def _rows(
    call: Call,
    engine: str,
    reference: Hypothesis,
    hypothesis: Hypothesis,
    by_channel: dict[int, str],
    seconds: float | None,
) -> list[EvalRow]:
    def words(segments: Hypothesis, party: str | None = None) -> list[str]:
        return [
            w for p, text in segments if party is None or p == party for w in normalise_ru(text)
        ]

    def row(channel: str, ref: list[str], hyp: list[str]) -> EvalRow:
        return EvalRow(
            call.id,
            call.source_file,
            channel,
            engine,
            word_errors(ref, hyp),
            char_errors(ref, hyp),
            float(call.duration or 0.0),
            seconds,
        )

    rows = [row(MIX, words(reference), words(hypothesis))]
    labelled = all(p is not None for p, _ in reference)
    if call.channels >= 2 and labelled:
        for channel, party in sorted(by_channel.items()):
            rows.append(row(str(channel), words(reference, party), words(hypothesis, party)))
    return rows


def _stored_hypotheses(session: Session, call_id: int) -> dict[str, Hypothesis]:
    """ASR transcripts of the call already in the case, by engine label."""
    found: dict[str, Hypothesis] = {}
    for transcript in session.execute(
        select(Transcript)
        .where(Transcript.call_id == call_id, Transcript.source == "asr")
        .order_by(Transcript.id)
    ).scalars():
        info = transcript.engine.get("engine_info") or transcript.engine
        label = f"{info.get('engine', '?')}:{info.get('model', '?')}"
        segments = sorted(transcript.segments, key=lambda s: s.idx)
        found[label] = [(s.party, s.text) for s in segments]
    return found


def _run_engine(
    case: Case, call: Call, engine: AsrEngine, language: str | None, by_channel: dict[int, str]
) -> tuple[Hypothesis, float]:
    channels = load_channels(case, call.id)
    with case.session() as session:
        regions = speech_chunks(session, call.id, len(channels) >= 2)
    began = time.perf_counter()
    heard = recognise_channels(engine, channels, language=language, regions=regions)
    seconds = time.perf_counter() - began
    if len(channels) >= 2 and any(h.channel is None for h in heard):
        loudest = assign_by_channel_energy(
            [(h.segment.start, h.segment.end) for h in heard], channels
        )
        parties = [by_channel.get(c) if c is not None else None for c in loudest]
    else:
        parties = [by_channel.get(h.channel or 0) if len(channels) >= 2 else None for h in heard]
    return [(p, h.segment.text) for p, h in zip(parties, heard, strict=True)], seconds


def evaluate_case(
    case: Case,
    engines: Sequence[str] = (),
    *,
    language: str | None = "ru",
    call_ids: Sequence[int] | None = None,
    engine_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalReport:
    """Score ``engines`` (specs run now; none = the case's stored ASR transcripts)."""
    with case.session() as session:
        query = select(Call).order_by(Call.id)
        calls = [c for c in session.execute(query).scalars() if not call_ids or c.id in call_ids]
        references = {c.id: _reference(session, c.id) for c in calls}
        channels_of = {c.id: party_channels(session, c.id) for c in calls}
        stored = {c.id: _stored_hypotheses(session, c.id) for c in calls} if not engines else {}
        session.expunge_all()
    scored = [c for c in calls if references[c.id] is not None]
    skipped = [
        {"call_id": c.id, "call": c.source_file, "reason": "no reference transcript"}
        for c in calls
        if references[c.id] is None
    ]
    if not scored:
        raise NoReferenceError(
            "no call has a reference transcript (a human-corrected transcript or a sidecar); "
            "correct one call's transcript in the editor or ingest the sidecars first"
        )
    loaded = {spec: get_engine(spec, **(engine_options or {})) for spec in engines}
    labels = list(engines) or sorted({label for h in stored.values() for label in h})
    rows: list[EvalRow] = []
    for call in scored:
        reference = references[call.id]
        assert reference is not None
        if progress:
            progress(call.source_file)
        for label in labels:
            if label in loaded:
                hypothesis, seconds = _run_engine(
                    case, call, loaded[label], language, channels_of[call.id]
                )
                rows += _rows(call, label, reference[1], hypothesis, channels_of[call.id], seconds)
            elif label in stored.get(call.id, {}):
                hypothesis = stored[call.id][label]
                rows += _rows(call, label, reference[1], hypothesis, channels_of[call.id], None)
    totals = []
    for label in labels:
        mine = [r for r in rows if r.engine == label and r.channel == MIX]
        if not mine:
            continue
        timed = [r.seconds for r in mine if r.seconds is not None]
        totals.append(
            EvalRow(
                0,
                "total",
                MIX,
                label,
                sum((r.words for r in mine), ErrorCount(0, 0)),
                sum((r.chars for r in mine), ErrorCount(0, 0)),
                sum(r.audio_s for r in mine),
                sum(timed) if len(timed) == len(mine) else None,
            )
        )
    return EvalReport(labels, rows, totals, skipped)
