"""The call list an investigator filters: every call with its themes and translation
progress, filtered and sorted by the one declaration of the filters (the page and the
API take them as query parameters, so both validate alike)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store.language_models import CallTheme, Translation
from ..store.queries import list_calls

__all__ = ["SORTS", "CallFilters", "CallList", "call_list"]

SORTS = ("started_at", "-started_at", "duration", "-duration", "source_file", "id")


class CallFilters(BaseModel):
    """Filters of the call list, every one optional."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(default="", max_length=200, description="Part of the file name.")
    phone: str = Field(default="", max_length=40, description="Digits of either number.")
    person: str = Field(default="", max_length=200, description="Part of a party's name.")
    theme: str = Field(default="", max_length=60)
    status: str = Field(default="", max_length=20)
    date_from: str = Field(default="", pattern=r"^(\d{4}-\d{2}-\d{2})?$")
    date_to: str = Field(default="", pattern=r"^(\d{4}-\d{2}-\d{2})?$")
    sort: str = Field(default="started_at", pattern=r"^-?(started_at|duration|source_file|id)$")


@dataclass(frozen=True)
class CallList:
    """The calls kept by the filters (``CallSummary.as_dict()`` plus ``themes`` and
    ``translation`` progress), how many there are in all, and the themes and statuses
    there are to filter by."""

    calls: list[dict[str, Any]]
    total: int
    themes: list[str]
    statuses: list[str]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def call_list(session: Session, filters: CallFilters) -> CallList:
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
    return CallList(calls=kept, total=len(rows), themes=all_themes, statuses=statuses)


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
