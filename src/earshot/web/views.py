"""What each page and API endpoint shows, as plain data (one source for both).

Every layer ships in the package, so its tables are always there; a case processed
only up to ingest still gets every page, with the empty parts saying which step
fills them. Person data is the identity library's own report.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..analysis.call_detail import call_detail as _call_detail
from ..analysis.call_detail import text_pieces
from ..identity import bring_up_to_date, list_persons, person_report
from ..store.language_models import (
    CallTheme,
    Translation,
)
from ..store.models import Call, Failure, Person, Phone, Segment
from ..store.queries import list_calls
from ..store.speech_models import StageRun

__all__ = [
    "CallFilters",
    "call_detail",
    "calls_page",
    "case_overview",
    "person_detail",
    "persons_list",
    "text_pieces",
]


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
    themes = [
        {"theme": t, "calls": n}
        for t, n in session.execute(
            select(CallTheme.theme, func.count())
            .group_by(CallTheme.theme)
            .order_by(func.count().desc(), CallTheme.theme)
        )
    ]
    stages: list[dict[str, Any]] = []
    rows = session.execute(
        select(StageRun.stage, StageRun.status, func.count(func.distinct(StageRun.call_id)))
        .group_by(StageRun.stage, StageRun.status)
        .order_by(StageRun.stage)
    )
    per: dict[str, dict[str, int]] = defaultdict(dict)
    for stage, status, n in rows:
        per[stage][status] = n
    stages = [{"stage": s, **counts} for s, counts in per.items()]
    translations: dict[str, int] = {}
    translations = dict(
        session.execute(select(Translation.status, func.count()).group_by(Translation.status)).all()
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
    return person.merged_into.is_(None)


# -- call list ------------------------------------------------------------------------
SORTS = ("started_at", "-started_at", "duration", "-duration", "source_file", "id")


class CallFilters(BaseModel):
    """Filters of the call list, every one optional: the one declaration the page and
    the API share (as query parameters), so both validate alike."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(default="", max_length=200, description="Part of the file name.")
    phone: str = Field(default="", max_length=40, description="Digits of either number.")
    person: str = Field(default="", max_length=200, description="Part of a party's name.")
    theme: str = Field(default="", max_length=60)
    status: str = Field(default="", max_length=20)
    date_from: str = Field(default="", pattern=r"^(\d{4}-\d{2}-\d{2})?$")
    date_to: str = Field(default="", pattern=r"^(\d{4}-\d{2}-\d{2})?$")
    sort: str = Field(default="started_at", pattern=r"^-?(started_at|duration|source_file|id)$")


def calls_page(session: Session, filters: CallFilters) -> dict[str, Any]:
    rows = [c.as_dict() for c in list_calls(session)]
    themes_by_call: dict[int, list[str]] = defaultdict(list)
    for call_id, theme in session.execute(
        select(CallTheme.call_id, CallTheme.theme).order_by(CallTheme.theme)
    ):
        themes_by_call[call_id].append(theme)
    progress: dict[int, dict[str, int]] = defaultdict(dict)
    for call_id, status, n in session.execute(
        select(Translation.call_id, Translation.status, func.count()).group_by(
            Translation.call_id, Translation.status
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
def call_detail(session: Session, call_id: int) -> dict[str, Any] | None:
    """The library's call detail (``earshot.analysis.call_detail``), as `call show --json`."""
    detail = _call_detail(session, call_id)
    return None if detail is None else detail.as_dict()


# -- persons -------------------------------------------------------------------------------
def persons_list(session: Session) -> list[dict[str, Any]]:
    """The library's person list (``earshot.identity.list_persons``), as `person list`."""
    return list_persons(session)


def person_detail(session: Session, person_id: int) -> dict[str, Any] | None:
    """The library's person report, exactly as `earshot person show --json` gives it:
    calls with the basis of each attribution, phones, voice matches, evidence,
    proposals, link history, verification history, merges and splits."""
    person = session.get(Person, person_id)
    if person is None:
        return None
    bring_up_to_date(session)
    return person_report(session, person).as_dict()


def segment_call(session: Session, segment_id: int) -> int | None:
    return session.scalar(select(Segment.call_id).where(Segment.id == segment_id))


def call_exists(session: Session, call_id: int) -> bool:
    return session.get(Call, call_id) is not None
