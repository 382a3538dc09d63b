"""One call as an investigator reads it: its summary, the current transcript with the
entities, slang and themes marked in each segment, and each segment's English.

The one builder of the call detail: `earshot call show --json`, the JSON API
(``GET /api/cases/{id}/calls/{call}``) and the call page all show this record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..language.analysis import current_transcript
from ..language.translation.records import TranslationRecord, translation_record
from ..store.language_models import (
    CallTheme,
    SegmentEntity,
    SegmentSlang,
    SegmentTheme,
    Translation,
)
from ..store.models import Call
from ..store.queries import CallSummary, list_calls

__all__ = ["CallDetail", "SegmentDetail", "TranscriptInfo", "call_detail", "text_pieces"]


@dataclass(frozen=True)
class TranscriptInfo:
    """Which transcript the segments come from (the current one of the call)."""

    id: int
    source: str
    language: str | None
    engine: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SegmentDetail:
    """A segment with its text cut into plain and marked pieces (entities, slang)."""

    id: int
    idx: int
    start: float | None
    end: float | None
    party: str | None
    speaker: str
    text: str
    pieces: list[dict[str, Any]]
    themes: list[str]
    translation: TranslationRecord | None

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["translation"] = None if self.translation is None else self.translation.as_dict()
        return out


@dataclass(frozen=True)
class CallDetail:
    """One call, its current transcript and what the analysis found in it."""

    call: CallSummary | None
    call_id: int
    location: str | None
    notes: str | None
    attributes: dict[str, Any] | None
    transcript: TranscriptInfo | None
    segments: list[SegmentDetail]
    themes: list[str]

    @property
    def speakers(self) -> list[str]:
        return sorted({s.speaker for s in self.segments})

    def as_dict(self) -> dict[str, Any]:
        return {
            "call": self.call.as_dict() if self.call else {"id": self.call_id},
            "location": self.location,
            "notes": self.notes,
            "attributes": self.attributes,
            "transcript": None if self.transcript is None else self.transcript.as_dict(),
            "segments": [s.as_dict() for s in self.segments],
            "speakers": self.speakers,
            "themes": self.themes,
        }


def text_pieces(text: str, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Split `text` into plain pieces and marked spans (entities, slang), no overlaps.

    Spans that overlap an earlier-starting one are dropped from the markup (they are
    still listed beside the segment), so the text itself is always shown whole.
    """
    pieces: list[dict[str, Any]] = []
    pos = 0
    for span in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        start, end = int(span["start"]), int(span["end"])
        if start < pos or end > len(text) or start >= end:
            continue
        if start > pos:
            pieces.append({"text": text[pos:start]})
        pieces.append({**span, "text": text[start:end]})
        pos = end
    if pos < len(text):
        pieces.append({"text": text[pos:]})
    return pieces


def _spans(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    spans: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in session.execute(
        select(SegmentEntity).where(SegmentEntity.segment_id.in_(ids))
    ).scalars():
        spans[e.segment_id].append(
            {
                "kind": "entity",
                "label": e.kind,
                "start": e.start,
                "end": e.end,
                "entity_id": e.id,
                "normal": e.normal,
                "person_id": e.person_id,
                "place": e.place_name,
            }
        )
    for s in session.execute(
        select(SegmentSlang).where(SegmentSlang.segment_id.in_(ids))
    ).scalars():
        spans[s.segment_id].append(
            {
                "kind": "slang",
                "start": s.start,
                "end": s.end,
                "term": s.term,
                "gloss": s.gloss,
                "category": s.category,
                "slur": s.slur,
            }
        )
    return spans


def call_detail(session: Session, call_id: int) -> CallDetail | None:
    """The call `call_id` in detail, or None when the case has no such call."""
    call = session.get(Call, call_id)
    if call is None:
        return None
    summary = next((c for c in list_calls(session) if c.id == call_id), None)
    transcript = current_transcript(session, call_id)
    segments = list(transcript.segments) if transcript else []
    ids = [s.id for s in segments]
    spans: dict[int, list[dict[str, Any]]] = _spans(session, ids) if ids else {}
    seg_themes: dict[int, list[str]] = defaultdict(list)
    translations: dict[int, Translation] = {}
    if ids:
        for t in session.execute(
            select(SegmentTheme).where(SegmentTheme.segment_id.in_(ids))
        ).scalars():
            seg_themes[t.segment_id].append(t.theme)
        for row in session.execute(
            select(Translation).where(Translation.segment_id.in_(ids))
        ).scalars():
            translations[row.segment_id] = row
    details = []
    for seg in segments:
        tr = translations.get(seg.id)
        details.append(
            SegmentDetail(
                id=seg.id,
                idx=seg.idx,
                start=seg.start,
                end=seg.end,
                party=seg.party,
                speaker=seg.speaker_label or seg.party or "?",
                text=seg.text,
                pieces=text_pieces(seg.text, spans.get(seg.id, [])),
                themes=sorted(set(seg_themes.get(seg.id, []))),
                translation=None if tr is None else translation_record(tr),
            )
        )
    themes = list(
        session.execute(
            select(CallTheme.theme).where(CallTheme.call_id == call_id).order_by(CallTheme.theme)
        ).scalars()
    )
    return CallDetail(
        call=summary,
        call_id=call.id,
        location=call.location,
        notes=call.notes,
        attributes=call.attributes,
        transcript=None
        if transcript is None
        else TranscriptInfo(
            id=transcript.id,
            source=transcript.source,
            language=transcript.language,
            engine=transcript.engine,
        ),
        segments=details,
        themes=themes,
    )
