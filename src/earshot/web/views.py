"""What each page and API endpoint shows, as plain data (one source for both).

Every layer's tables are optional here: a case processed only up to ingest still
gets every page, with the empty parts saying which step fills them. Models of
other layers are looked up by name so the web keeps working while a layer is
being built or is not installed.
"""

from __future__ import annotations

import importlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..store.models import Call, Failure, Party, Person, PersonPhone, Phone, Segment, Transcript
from ..store.queries import list_calls

__all__ = [
    "CallFilters",
    "call_detail",
    "calls_page",
    "case_overview",
    "model",
    "person_detail",
    "persons_list",
    "text_pieces",
]


def model(module: str, name: str) -> Any | None:
    """The ORM class `name` of store module `module`, or None if that layer is absent."""
    try:
        mod = importlib.import_module(f"earshot.store.{module}")
    except ImportError:
        return None
    return getattr(mod, name, None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- overview -----------------------------------------------------------------------
def case_overview(session: Session) -> dict[str, Any]:
    calls = session.scalar(select(func.count()).select_from(Call)) or 0
    seconds = session.scalar(select(func.coalesce(func.sum(Call.duration), 0.0))) or 0.0
    persons = (
        session.scalar(select(func.count()).select_from(Person).where(_not_merged(Person))) or 0
    )
    phones = session.scalar(select(func.count()).select_from(Phone)) or 0
    by_status = dict(session.execute(select(Call.status, func.count()).group_by(Call.status)).all())
    failures = (
        session.scalar(
            select(func.count()).select_from(Failure).where(Failure.resolved_at.is_(None))
        )
        or 0
    )
    themes: list[dict[str, Any]] = []
    call_theme = model("language_models", "CallTheme")
    if call_theme is not None:
        themes = [
            {"theme": t, "calls": n}
            for t, n in session.execute(
                select(call_theme.theme, func.count())
                .group_by(call_theme.theme)
                .order_by(func.count().desc(), call_theme.theme)
            )
        ]
    stages: list[dict[str, Any]] = []
    stage_run = model("speech_models", "StageRun")
    if stage_run is not None:
        rows = session.execute(
            select(stage_run.stage, stage_run.status, func.count(func.distinct(stage_run.call_id)))
            .group_by(stage_run.stage, stage_run.status)
            .order_by(stage_run.stage)
        )
        per: dict[str, dict[str, int]] = defaultdict(dict)
        for stage, status, n in rows:
            per[stage][status] = n
        stages = [{"stage": s, **counts} for s, counts in per.items()]
    translations: dict[str, int] = {}
    translation = model("language_models", "Translation")
    if translation is not None:
        translations = dict(
            session.execute(
                select(translation.status, func.count()).group_by(translation.status)
            ).all()
        )
    return {
        "calls": calls,
        "hours": round(float(seconds) / 3600.0, 2),
        "persons": persons,
        "phones": phones,
        "calls_by_status": by_status,
        "open_failures": failures,
        "themes": themes,
        "stages": stages,
        "translations": translations,
    }


def _not_merged(person: Any) -> Any:
    column = getattr(person, "merged_into", None)
    return column.is_(None) if column is not None else True


# -- call list ------------------------------------------------------------------------
SORTS = ("started_at", "-started_at", "duration", "-duration", "source_file", "id")


@dataclass(frozen=True)
class CallFilters:
    """Filters of the call list; every field optional."""

    text: str = ""
    phone: str = ""
    person: str = ""
    theme: str = ""
    status: str = ""
    date_from: str = ""
    date_to: str = ""
    sort: str = "started_at"


def calls_page(session: Session, filters: CallFilters) -> dict[str, Any]:
    rows = [c.as_dict() for c in list_calls(session)]
    themes_by_call: dict[int, list[str]] = defaultdict(list)
    call_theme = model("language_models", "CallTheme")
    if call_theme is not None:
        for call_id, theme in session.execute(
            select(call_theme.call_id, call_theme.theme).order_by(call_theme.theme)
        ):
            themes_by_call[call_id].append(theme)
    progress: dict[int, dict[str, int]] = defaultdict(dict)
    translation = model("language_models", "Translation")
    if translation is not None:
        for call_id, status, n in session.execute(
            select(translation.call_id, translation.status, func.count()).group_by(
                translation.call_id, translation.status
            )
        ):
            progress[call_id][status] = n
    for row in rows:
        row["themes"] = themes_by_call.get(row["id"], [])
        row["translation"] = progress.get(row["id"], {})
    all_themes = sorted({t for ts in themes_by_call.values() for t in ts})
    statuses = sorted({r["status"] for r in rows})
    kept = [r for r in rows if _matches(r, filters)]
    key, reverse = filters.sort.lstrip("-"), filters.sort.startswith("-")
    if key not in {"started_at", "duration", "source_file", "id"}:
        key, reverse = "started_at", False
    kept.sort(key=lambda r: (r[key] is None, r[key] or ""), reverse=reverse)
    return {"calls": kept, "total": len(rows), "themes": all_themes, "statuses": statuses}


def _matches(row: dict[str, Any], f: CallFilters) -> bool:
    if f.text and f.text.casefold() not in row["source_file"].casefold():
        return False
    if f.phone:
        digits = "".join(ch for ch in f.phone if ch.isdigit())
        phones = [p for p in (row["caller"], row["callee"]) if p]
        if not digits or not any(digits in p for p in phones):
            return False
    if f.person:
        names = [n for n in (row["caller_person"], row["callee_person"]) if n]
        if not any(f.person.casefold() in n.casefold() for n in names):
            return False
    if f.theme and f.theme not in row["themes"]:
        return False
    if f.status and row["status"] != f.status:
        return False
    started = row["started_at"] or ""
    if f.date_from and (not started or started[:10] < f.date_from):
        return False
    return not (f.date_to and (not started or started[:10] > f.date_to))


# -- one call ----------------------------------------------------------------------------
def current_transcript(session: Session, call_id: int) -> Transcript | None:
    """The verbatim transcript shown and edited: the language layer's choice if installed
    (the one the analysis read, so spans line up), else the latest human or latest one."""
    try:
        from ..language.analysis import current_transcript as chosen_by_analysis
    except ImportError:
        pass
    else:
        return chosen_by_analysis(session, call_id)
    rows = (
        session.execute(
            select(Transcript)
            .where(Transcript.call_id == call_id, Transcript.kind == "verbatim")
            .order_by(Transcript.id)
        )
        .scalars()
        .all()
    )
    human = [t for t in rows if t.source == "human"]
    chosen = human or list(rows)
    return chosen[-1] if chosen else None


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


def call_detail(session: Session, call_id: int) -> dict[str, Any] | None:
    call = session.get(Call, call_id)
    if call is None:
        return None
    summary = next((c for c in list_calls(session) if c.id == call_id), None)
    transcript = current_transcript(session, call_id)
    segments = list(transcript.segments) if transcript else []
    ids = [s.id for s in segments]
    spans: dict[int, list[dict[str, Any]]] = defaultdict(list)
    seg_themes: dict[int, list[str]] = defaultdict(list)
    translations: dict[int, Any] = {}
    entity = model("language_models", "SegmentEntity")
    slang = model("language_models", "SegmentSlang")
    seg_theme = model("language_models", "SegmentTheme")
    translation = model("language_models", "Translation")
    call_theme = model("language_models", "CallTheme")
    if ids and entity is not None:
        for e in session.execute(select(entity).where(entity.segment_id.in_(ids))).scalars():
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
    if ids and slang is not None:
        for s in session.execute(select(slang).where(slang.segment_id.in_(ids))).scalars():
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
    if ids and seg_theme is not None:
        for t in session.execute(select(seg_theme).where(seg_theme.segment_id.in_(ids))).scalars():
            seg_themes[t.segment_id].append(t.theme)
    if ids and translation is not None:
        for t in session.execute(
            select(translation).where(translation.segment_id.in_(ids))
        ).scalars():
            translations[t.segment_id] = t
    out_segments = []
    for seg in segments:
        tr = translations.get(seg.id)
        out_segments.append(
            {
                "id": seg.id,
                "idx": seg.idx,
                "start": seg.start,
                "end": seg.end,
                "party": seg.party,
                "speaker": seg.speaker_label or seg.party or "?",
                "text": seg.text,
                "pieces": text_pieces(seg.text, spans.get(seg.id, [])),
                "themes": sorted(set(seg_themes.get(seg.id, []))),
                "translation": None
                if tr is None
                else {
                    "id": tr.id,
                    "text": tr.text,
                    "status": tr.status,
                    "version": tr.version,
                    "translator": tr.translator,
                    "reviewer": tr.reviewer,
                    "approver": tr.approver,
                    "updated_at": _iso(tr.updated_at),
                },
            }
        )
    themes: list[str] = []
    if call_theme is not None:
        themes = list(
            session.execute(
                select(call_theme.theme)
                .where(call_theme.call_id == call_id)
                .order_by(call_theme.theme)
            ).scalars()
        )
    return {
        "call": summary.as_dict() if summary else {"id": call.id},
        "location": call.location,
        "notes": call.notes,
        "attributes": call.attributes,
        "transcript": None
        if transcript is None
        else {
            "id": transcript.id,
            "source": transcript.source,
            "language": transcript.language,
            "engine": transcript.engine,
        },
        "segments": out_segments,
        "speakers": sorted({s["speaker"] for s in out_segments}),
        "themes": themes,
        "layers": {
            "language": entity is not None,
            "translations": translation is not None,
        },
    }


# -- persons -------------------------------------------------------------------------------
def persons_list(session: Session) -> list[dict[str, Any]]:
    calls_per = Counter(
        pid
        for (pid,) in session.execute(select(Party.person_id).where(Party.person_id.is_not(None)))
    )
    people = session.execute(
        select(Person).where(_not_merged(Person)).order_by(Person.name)
    ).scalars()
    status = _latest_verification(session)
    return [
        {
            "id": p.id,
            "name": p.name,
            "aliases": list(getattr(p, "aliases", []) or []),
            "role": getattr(p, "role", None),
            "calls": calls_per.get(p.id, 0),
            "verification": status.get(p.id, {}).get("status", "unverified"),
        }
        for p in people
    ]


def _latest_verification(
    session: Session, person_id: int | None = None
) -> dict[int, dict[str, Any]]:
    event = model("identity_models", "VerificationEvent")
    if event is None:
        return {}
    query = select(event).where(event.person_id.is_not(None)).order_by(event.at, event.id)
    if person_id is not None:
        query = query.where(event.person_id == person_id)
    latest: dict[int, dict[str, Any]] = {}
    for e in session.execute(query).scalars():
        latest[e.person_id] = {
            "status": e.status,
            "actor": e.actor,
            "role": e.actor_role,
            "at": _iso(e.at),
            "reason": e.reason,
        }
    return latest


def person_detail(session: Session, person_id: int) -> dict[str, Any] | None:
    person = session.get(Person, person_id)
    if person is None:
        return None
    phones = [
        {"e164": e164, "source": source}
        for e164, source in session.execute(
            select(Phone.e164, PersonPhone.source)
            .join(PersonPhone, PersonPhone.phone_id == Phone.id)
            .where(PersonPhone.person_id == person_id)
            .order_by(Phone.e164)
        )
    ]
    parties = (
        session.execute(select(Party).where(Party.person_id == person_id).order_by(Party.call_id))
        .scalars()
        .all()
    )
    call_ids = sorted({p.call_id for p in parties})
    calls = [c.as_dict() for c in list_calls(session) if c.id in set(call_ids)]
    voice: list[dict[str, Any]] = []
    link = model("speech_models", "VoiceLink")
    sides = {(p.call_id, p.label) for p in parties}
    if link is not None and sides:
        conds = [(link.call_a == cid) & (link.party_a == label) for cid, label in sides] + [
            (link.call_b == cid) & (link.party_b == label) for cid, label in sides
        ]
        for v in session.execute(select(link).where(or_(*conds)).order_by(link.id)).scalars():
            voice.append(
                {
                    "id": v.id,
                    "call_a": v.call_a,
                    "party_a": v.party_a,
                    "call_b": v.call_b,
                    "party_b": v.party_b,
                    "score": v.score,
                    "status": v.status,
                    "decided_by": v.decided_by,
                    "decided_at": _iso(v.decided_at),
                }
            )
    evidence: list[dict[str, Any]] = []
    ev = model("identity_models", "Evidence")
    if ev is not None:
        for e in session.execute(
            select(ev).where(ev.person_id == person_id).order_by(ev.added_at)
        ).scalars():
            evidence.append(
                {
                    "id": e.id,
                    "kind": e.kind,
                    "summary": e.summary,
                    "url": e.url,
                    "file_name": e.file_name,
                    "collected_by": e.collected_by,
                    "added_by": e.added_by,
                    "added_at": _iso(e.added_at),
                }
            )
    history: list[dict[str, Any]] = []
    event = model("identity_models", "VerificationEvent")
    if event is not None:
        for e in session.execute(
            select(event).where(event.person_id == person_id).order_by(event.at, event.id)
        ).scalars():
            history.append(
                {
                    "status": e.status,
                    "reason": e.reason,
                    "actor": e.actor,
                    "role": e.actor_role,
                    "at": _iso(e.at),
                }
            )
    return {
        "id": person.id,
        "name": person.name,
        "aliases": list(getattr(person, "aliases", []) or []),
        "role": getattr(person, "role", None),
        "affiliation": getattr(person, "affiliation", None),
        "home_region": getattr(person, "home_region", None),
        "notes": getattr(person, "notes", None),
        "protected": getattr(person, "protected", None),
        "phones": phones,
        "calls": calls,
        "voice_links": voice,
        "evidence": evidence,
        "verification": history[-1] if history else {"status": "unverified"},
        "verification_history": history,
        "layers": {"voice": link is not None, "identity": event is not None},
    }


def segment_call(session: Session, segment_id: int) -> int | None:
    return session.scalar(select(Segment.call_id).where(Segment.id == segment_id))


def call_exists(session: Session, call_id: int) -> bool:
    return session.get(Call, call_id) is not None
