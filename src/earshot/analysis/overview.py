"""A case at a glance: how much material, how far processing got, what it is about.

The one builder of the case overview the web's first page and ``GET /api/cases/{id}``
show; every layer's tables ship in the package, so a case processed only up to ingest
still answers, with the later counts at zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store.language_models import CallTheme, Translation
from ..store.models import Call, Failure, Person, Phone
from ..store.speech_models import StageRun

__all__ = ["CaseOverview", "case_overview"]


@dataclass(frozen=True)
class CaseOverview:
    """Counts, processing status per stage, themes and translation progress of a case."""

    calls: int
    hours: float
    persons: int
    phones: int
    calls_by_status: dict[str, int]
    open_failures: int
    themes: list[dict[str, Any]]  # {"theme", "calls"}, most frequent first
    stages: list[dict[str, Any]]  # {"stage", <status>: calls, ...}
    translations: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def case_overview(session: Session) -> CaseOverview:
    calls = session.scalar(select(func.count()).select_from(Call)) or 0
    seconds = session.scalar(select(func.coalesce(func.sum(Call.duration), 0.0))) or 0.0
    persons = (
        session.scalar(select(func.count()).select_from(Person).where(Person.merged_into.is_(None)))
        or 0
    )
    phones = session.scalar(select(func.count()).select_from(Phone)) or 0
    by_status = dict(session.execute(select(Call.status, func.count()).group_by(Call.status)).all())
    failures = (
        session.scalar(
            select(func.count()).select_from(Failure).where(Failure.resolved_at.is_(None))
        )
        or 0
    )
    themes = [
        {"theme": t, "calls": n}
        for t, n in session.execute(
            select(CallTheme.theme, func.count())
            .group_by(CallTheme.theme)
            .order_by(func.count().desc(), CallTheme.theme)
        )
    ]
    per: dict[str, dict[str, int]] = defaultdict(dict)
    for stage, status, n in session.execute(
        select(StageRun.stage, StageRun.status, func.count(func.distinct(StageRun.call_id)))
        .group_by(StageRun.stage, StageRun.status)
        .order_by(StageRun.stage)
    ):
        per[stage][status] = n
    translations = dict(
        session.execute(select(Translation.status, func.count()).group_by(Translation.status)).all()
    )
    return CaseOverview(
        calls=calls,
        hours=round(float(seconds) / 3600.0, 2),
        persons=persons,
        phones=phones,
        calls_by_status=by_status,
        open_failures=failures,
        themes=themes,
        stages=[{"stage": s, **counts} for s, counts in per.items()],
        translations=translations,
    )
