"""Timelines: how many calls per day, week or month, optionally narrowed down.

Filters: a person (id or name), a phone (any format), a theme (call-level tags from
the language layer) or a slang term (segment tags). Periods are counted in the
case's time zone; calls without a start time are left out (and counted apart).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..errors import EarshotError
from ..phones import normalize_phone
from ..store.models import Call, Party, Person, Phone

__all__ = ["PERIODS", "TimelineOptions", "timeline"]

PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class TimelineOptions:
    """What to count and how to bucket it."""

    period: str = "month"
    person: str | None = None
    phone: str | None = None
    theme: str | None = None
    term: str | None = None
    timezone: str = "UTC"
    region: str = "RU"


def _bucket(moment: datetime, period: str) -> str:
    if period == "day":
        return moment.date().isoformat()
    if period == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{moment.year}-{moment.month:02d}"


def _calls(session: Session, options: TimelineOptions) -> Any:
    query = select(Call.id, Call.started_at)
    if options.person:
        who = options.person.strip()
        persons = select(Person.id).where(
            Person.id == int(who)
            if who.isdigit()
            else Person.name_key.contains(" ".join(who.split()).casefold().replace("ё", "е"))
        )
        query = query.where(Call.id.in_(select(Party.call_id).where(Party.person_id.in_(persons))))
    if options.phone:
        try:
            e164 = normalize_phone(options.phone, options.region)
        except ValueError as exc:
            raise EarshotError(str(exc)) from None
        query = query.where(
            Call.id.in_(
                select(Party.call_id)
                .join(Phone, Phone.id == Party.phone_id)
                .where(Phone.e164 == e164)
            )
        )
    if options.theme:
        query = query.where(
            Call.id.in_(
                select(text("call_id"))
                .select_from(text("call_themes"))
                .where(text("theme = :theme"))
            )
        ).params(theme=options.theme)
    if options.term:
        query = query.where(
            Call.id.in_(
                select(text("call_id"))
                .select_from(text("segment_slang"))
                .where(text("term = :term"))
            )
        ).params(term=options.term)
    return query


def timeline(session: Session, options: TimelineOptions = TimelineOptions()) -> dict[str, Any]:
    """``{"period", "buckets": [{"period", "calls"}], "total", "undated"}`` in time order."""
    if options.period not in PERIODS:
        raise EarshotError(f"unknown period {options.period!r}; use one of {', '.join(PERIODS)}")
    try:
        zone = ZoneInfo(options.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise EarshotError(
            f"unknown time zone {options.timezone!r}; use e.g. Europe/Moscow"
        ) from None
    counts: Counter[str] = Counter()
    undated = 0
    for _call_id, started in session.execute(_calls(session, options)):
        if started is None:
            undated += 1
        else:
            counts[_bucket(started.astimezone(zone), options.period)] += 1
    buckets = [{"period": key, "calls": counts[key]} for key in sorted(counts)]
    return {
        "period": options.period,
        "buckets": buckets,
        "total": sum(counts.values()),
        "undated": undated,
    }
