"""How often a theme comes up over time: calls per period and the share that carry it.

Counts are small (a few dozen calls a month is typical), so every share comes with a
95% Wilson score interval, which stays inside [0, 1] and is honest at n = 5 where the
normal approximation is not. Only calls with a verbatim transcript are counted (the
others were never analysed); calls without a start time are reported apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.errors import ConfigError
from earshot.language.lexicon import load_themes
from earshot.store.language_models import CallTheme
from earshot.store.models import Call, Transcript

__all__ = [
    "MIN_CALLS",
    "PERIODS",
    "ThemeTrend",
    "TrendRow",
    "case_themes",
    "period_key",
    "theme_trend",
    "wilson_interval",
]

PERIODS = ("day", "week", "month")
# Below this many analysed calls a period's share swings on one call (1 of 2 is 50 %):
# such periods are shown greyed, with their interval, never as a trend.
MIN_CALLS = 5
_Z95 = 1.959963984540054


def wilson_interval(hits: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of the proportion hits/n ((0, 1) when n is 0)."""
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if hits == 0 else max(0.0, centre - half)
    high = 1.0 if hits == n else min(1.0, centre + half)
    return (low, high)


def period_key(moment: datetime, by: str, tz: ZoneInfo) -> str:
    """ "2022-10-08" (day), "2022-W40" (ISO week) or "2022-10" (month), in zone `tz`."""
    local = moment.astimezone(tz)
    if by == "day":
        return local.date().isoformat()
    if by == "week":
        year, week, _ = local.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if by == "month":
        return f"{local.year:04d}-{local.month:02d}"
    raise ConfigError(f"--by {by!r}: use one of {', '.join(PERIODS)}")


@dataclass(frozen=True)
class TrendRow:
    period: str
    calls: int
    with_theme: int

    @property
    def share(self) -> float | None:
        return self.with_theme / self.calls if self.calls else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.with_theme, self.calls)

    @property
    def thin(self) -> bool:
        """Too few calls for the share to mean much (fewer than :data:`MIN_CALLS`)."""
        return self.calls < MIN_CALLS

    def as_dict(self) -> dict[str, Any]:
        low, high = self.interval
        return {
            "period": self.period,
            "calls": self.calls,
            "with_theme": self.with_theme,
            "share": self.share,
            "ci95": [low, high],
            "thin": self.thin,
        }


@dataclass
class ThemeTrend:
    theme: str
    by: str
    timezone: str
    rows: list[TrendRow] = field(default_factory=list)
    undated: TrendRow = field(default_factory=lambda: TrendRow("undated", 0, 0))
    without_transcript: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "theme": self.theme,
            "by": self.by,
            "timezone": self.timezone,
            "periods": [row.as_dict() for row in self.rows],
            "undated": self.undated.as_dict(),
            "without_transcript": self.without_transcript,
        }


def _count(keys: Iterable[tuple[str, bool]]) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for key, hit in keys:
        n, k = counts.get(key, (0, 0))
        counts[key] = (n + 1, k + int(hit))
    return counts


def theme_trend(session: Session, theme: str, *, by: str = "month", tz: str = "UTC") -> ThemeTrend:
    """Per period: analysed calls, how many carry `theme`, and the Wilson 95% interval."""
    known = [t.id for t in load_themes().themes]
    if theme not in known:
        raise ConfigError(f"unknown theme {theme!r}; themes are: {', '.join(known)}")
    if by not in PERIODS:
        raise ConfigError(f"--by {by!r}: use one of {', '.join(PERIODS)}")
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {tz!r}; use an IANA name like Europe/Moscow") from exc
    transcribed = set(
        session.execute(select(Transcript.call_id).where(Transcript.kind == "verbatim")).scalars()
    )
    tagged = set(
        session.execute(select(CallTheme.call_id).where(CallTheme.theme == theme)).scalars()
    )
    trend = ThemeTrend(theme, by, tz)
    dated: list[tuple[str, bool]] = []
    undated: list[tuple[str, bool]] = []
    for call_id, started_at in session.execute(select(Call.id, Call.started_at)):
        if call_id not in transcribed:
            trend.without_transcript += 1
        elif started_at is None:
            undated.append(("undated", call_id in tagged))
        else:
            dated.append((period_key(started_at, by, zone), call_id in tagged))
    trend.rows = [TrendRow(p, n, k) for p, (n, k) in sorted(_count(dated).items())]
    n, k = _count(undated).get("undated", (0, 0))
    trend.undated = TrendRow("undated", n, k)
    return trend


def case_themes(session: Session) -> list[str]:
    """Every theme some call of the case carries (lexicon themes and hand-added tags), sorted."""
    return sorted(set(session.execute(select(CallTheme.theme)).scalars()))
