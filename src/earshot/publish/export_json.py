"""The full (unredacted) JSON export of a case: calls, parties, segments and their analysis.

It identifies people, so its first field says so. :func:`build_export` is a pure
function of the database (no clock, no file system), so the redacted export can be
built on top of its dict and two exports of the same case compare equal. The
format is documented as a JSON Schema in ``docs/export.schema.json``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from earshot.errors import EarshotError
from earshot.language.analysis import current_transcript
from earshot.store.language_models import (
    CallTheme,
    SegmentEntity,
    SegmentSlang,
    SegmentTheme,
    Translation,
)
from earshot.store.models import Call, Party, Person

__all__ = ["EXPORT_FORMAT_VERSION", "WARNING", "build_export"]

EXPORT_FORMAT_VERSION = 1
WARNING = (
    "This export identifies people (names, phone numbers, places, dates of birth) and is "
    "not redacted. Keep it inside the investigation; publish only a redacted export."
)


def _entity(row: SegmentEntity, persons: dict[int, str]) -> dict[str, Any]:
    best = row.places[0] if row.places else None
    return {
        "kind": row.kind,
        "start": row.start,
        "end": row.end,
        "text": row.text,
        "normal": row.normal,
        "value": row.value,
        "person_id": row.person_id,
        "person": persons.get(row.person_id) if row.person_id is not None else None,
        "person_score": row.person_score,
        "place": (
            {
                "name": best["name"],
                "country": best["country"],
                "lat": best["lat"],
                "lon": best["lon"],
                "in_war_zone": row.in_war_zone,
            }
            if best
            else None
        ),
        "places": len(row.places),
    }


def _by_segment(session: Session, model: Any, call_id: int) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    rows = session.execute(
        select(model).where(model.call_id == call_id).order_by(model.segment_id, model.id)
    ).scalars()
    for row in rows:
        grouped[row.segment_id].append(row)
    return grouped


def _party(party: Party) -> dict[str, Any]:
    return {
        "label": party.label,
        "role": party.role,
        "person": party.person.name if party.person else None,
        "phone": party.phone.e164 if party.phone else None,
    }


def _call(session: Session, call: Call, persons: dict[int, str]) -> dict[str, Any]:
    themes = sorted(
        session.execute(select(CallTheme.theme).where(CallTheme.call_id == call.id)).scalars()
    )
    transcript = current_transcript(session, call.id)
    entities = _by_segment(session, SegmentEntity, call.id)
    slang = _by_segment(session, SegmentSlang, call.id)
    seg_themes = _by_segment(session, SegmentTheme, call.id)
    translations = {
        t.segment_id: t
        for t in session.execute(
            select(Translation).where(Translation.call_id == call.id)
        ).scalars()
    }
    segments: list[dict[str, Any]] = []
    for segment in transcript.segments if transcript else []:
        translation = translations.get(segment.id)
        segments.append(
            {
                "id": segment.id,
                "start": segment.start,
                "end": segment.end,
                "party": segment.party,
                "text": segment.text,
                "translation": translation.text if translation else None,
                "translation_status": translation.status if translation else None,
                "entities": [_entity(e, persons) for e in entities.get(segment.id, [])],
                "themes": sorted({t.theme for t in seg_themes.get(segment.id, [])}),
                "slang": [
                    {"text": s.text, "term": s.term, "gloss": s.gloss}
                    for s in slang.get(segment.id, [])
                ],
            }
        )
    return {
        "id": call.id,
        "source_file": call.source_file,
        "started_at": call.started_at.isoformat() if call.started_at else None,
        "duration": call.duration,
        "parties": [_party(p) for p in call.parties],
        "themes": themes,
        "transcript": (
            {"id": transcript.id, "source": transcript.source, "language": transcript.language}
            if transcript
            else None
        ),
        "segments": segments,
    }


def build_export(session: Session, call_ids: Sequence[int] | None = None) -> dict[str, Any]:
    """The export of `call_ids` (default: every call), calls in id order."""
    query = (
        select(Call)
        .options(selectinload(Call.parties).selectinload(Party.person))
        .options(selectinload(Call.parties).selectinload(Party.phone))
        .order_by(Call.id)
    )
    if call_ids is not None:
        query = query.where(Call.id.in_(list(call_ids)))
    calls = list(session.execute(query).scalars())
    if call_ids is not None:
        missing = sorted(set(call_ids) - {c.id for c in calls})
        if missing:
            raise EarshotError(
                f"no call with id {', '.join(map(str, missing))} in this case; see `earshot calls`"
            )
    persons = {p.id: p.name for p in session.execute(select(Person)).scalars()}
    out: dict[str, Any] = {
        "warning": WARNING,
        "format": "earshot-export",
        "version": EXPORT_FORMAT_VERSION,
        "redacted": False,
        "calls": [_call(session, call, persons) for call in calls],
    }
    from earshot.language.case_lexicon import case_lexicon_provenance

    lexicon = case_lexicon_provenance(session)  # provenance of the case's own slang glosses
    if lexicon:
        out["case_lexicon"] = lexicon
    return out
