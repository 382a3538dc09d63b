"""Reading transcripts and persons for the language stage, and writing its results.

Kept apart from :mod:`earshot.language.analysis` (the analyzer and the stage) so each
stays small; everything here works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from earshot.language.names import KnownPerson
from earshot.language.places import Place, in_war_zone
from earshot.store.language_models import CallTheme, SegmentEntity, SegmentSlang, SegmentTheme
from earshot.store.models import Person, Segment, Transcript

from .overrides import apply_overrides

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from earshot.language.analysis import CallAnalysis, LinkedEntity

__all__ = [
    "current_transcript",
    "known_persons",
    "replace_analyses",
    "segments_by_call",
    "segments_of",
]


def current_transcript(session: Session, call_id: int) -> Transcript | None:
    """The verbatim transcript a call is read from now.

    A person's transcript beats any machine or sidecar one; within a source rank the
    newest wins. A transcript whose provenance says ``"superseded": true`` is skipped.
    """
    return _current_transcripts(session, [call_id]).get(call_id)


def _current_transcripts(session: Session, call_ids: Sequence[int]) -> dict[int, Transcript]:
    """:func:`current_transcript` of many calls in one query."""
    rows = session.execute(
        select(Transcript)
        .where(Transcript.call_id.in_(call_ids), Transcript.kind == "verbatim")
        .order_by(Transcript.created_at.desc(), Transcript.id.desc())
    ).scalars()
    live: dict[int, list[Transcript]] = {}
    for t in rows:
        if not (t.engine or {}).get("superseded"):
            live.setdefault(t.call_id, []).append(t)
    out: dict[int, Transcript] = {}
    for call_id, found in live.items():
        human = [t for t in found if t.source == "human"]
        out[call_id] = (human or found)[0]
    return out


def known_persons(session: Session) -> list[KnownPerson]:
    """The case's Persons as a name directory (aliases/nicknames where the model has them)."""
    out: list[KnownPerson] = []
    for person in session.execute(select(Person).order_by(Person.id)).scalars():
        aliases = [
            *(getattr(person, "aliases", None) or []),
            *(getattr(person, "nicknames", None) or []),
        ]
        out.append(KnownPerson(str(person.id), names=(person.name,), aliases=tuple(aliases)))
    return out


def _place_dict(place: Place) -> dict[str, Any]:
    data = asdict(place)
    data["in_war_zone"] = in_war_zone(place)
    return data


def replace_analyses(
    session: Session,
    calls: Sequence[tuple[int, Sequence[Segment], CallAnalysis]],
    info_key: str,
) -> None:
    """Drop these calls' previous analysis (any engine version) and store the new one.

    Rows go in as one multi-row INSERT per table: the ORM's per-object unit of work
    cost as much as NER itself.
    """
    call_ids = [call_id for call_id, _, _ in calls]
    for table in (SegmentEntity, SegmentSlang, SegmentTheme, CallTheme):
        session.execute(delete(table).where(table.call_id.in_(call_ids)))
    rows: dict[type[Any], list[dict[str, Any]]] = {
        SegmentEntity: [],
        SegmentSlang: [],
        SegmentTheme: [],
        CallTheme: [],
    }
    for call_id, segments, analysis in calls:
        base = {"call_id": call_id, "info_key": info_key}
        for segment, result in zip(segments, analysis.segments, strict=True):
            at = {**base, "segment_id": segment.id}
            rows[SegmentEntity] += [_entity_row(linked) | at for linked in result.entities]
            rows[SegmentSlang] += [
                {
                    **at,
                    "start": hit.start,
                    "end": hit.end,
                    "text": hit.text,
                    "term": hit.term,
                    "gloss": hit.gloss,
                    "category": hit.category,
                    "slur": hit.slur,
                }
                for hit in result.slang
            ]
            rows[SegmentTheme] += [
                {
                    **at,
                    "theme": theme.theme,
                    "cues": [
                        {"cue": cue, "start": s, "end": e}
                        for cue, (s, e) in zip(theme.cues, theme.spans, strict=True)
                    ],
                }
                for theme in result.themes
            ]
        rows[CallTheme] += [{**base, "theme": theme_id} for theme_id in analysis.themes]
    for table, values in rows.items():
        if values:
            session.execute(insert(table), values)
    apply_overrides(session, call_ids)


def _entity_row(linked: LinkedEntity) -> dict[str, Any]:
    e, best = linked.entity, (linked.places[0] if linked.places else None)
    return {
        "kind": e.kind,
        "start": e.start,
        "end": e.end,
        "text": e.text,
        "normal": e.normal,
        "value": linked.figure if linked.figure is not None else e.value,
        "person_id": linked.person_id,
        "person_score": linked.person_score,
        "places": [_place_dict(p) for p in linked.places],
        "place_name": best.name if best else None,
        "place_country": best.country if best else None,
        "in_war_zone": in_war_zone(best) if best else None,
    }


def segments_of(session: Session, call_id: int) -> list[Segment]:
    return segments_by_call(session, [call_id])[call_id]


def segments_by_call(session: Session, call_ids: Sequence[int]) -> dict[int, list[Segment]]:
    """Each call's current verbatim segments in order ([] without a transcript)."""
    chosen = _current_transcripts(session, call_ids)
    out: dict[int, list[Segment]] = {call_id: [] for call_id in call_ids}
    if chosen:
        rows = session.execute(
            select(Segment)
            .where(Segment.transcript_id.in_([t.id for t in chosen.values()]))
            .order_by(Segment.call_id, Segment.idx)
        ).scalars()
        for segment in rows:
            out[segment.call_id].append(segment)
    return out
