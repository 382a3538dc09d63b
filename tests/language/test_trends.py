"""Theme trends: Wilson intervals and per-period counts on the sample corpus."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from earshot.errors import ConfigError
from earshot.language.trends import period_key, theme_trend, wilson_interval
from earshot.store.language_models import CallTheme
from earshot.store.models import Call, Transcript

from .conftest import Analysed

SAMPLE = Path(str(files("earshot") / "data" / "sample"))


@pytest.mark.parametrize(("hits", "n"), [(0, 10), (3, 10), (10, 10), (1, 1), (40, 200)])
def test_wilson_interval_contains_share_and_solves_its_equation(hits: int, n: int) -> None:
    low, high = wilson_interval(hits, n)
    p, z = hits / n, 1.959963984540054
    assert 0 <= low <= p <= high <= 1
    # The Wilson bounds are the q where |p - q| = z * sqrt(q (1 - q) / n).
    for q in (low, high):
        if 0 < q < 1:
            assert math.isclose(abs(p - q), z * math.sqrt(q * (1 - q) / n), rel_tol=1e-9)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_period_keys() -> None:
    moment = datetime(2023, 1, 1, 22, 30, tzinfo=UTC)
    assert period_key(moment, "day", ZoneInfo("Europe/Moscow")) == "2023-01-02"
    assert period_key(moment, "week", ZoneInfo("UTC")) == "2022-W52"
    assert period_key(moment, "month", ZoneInfo("UTC")) == "2023-01"


def test_trends_on_sample_corpus(analysed_sample: Analysed, run_cli: Any) -> None:
    case, _ = analysed_sample
    with case.session() as session:
        transcribed = set(
            session.execute(
                select(Transcript.call_id).where(Transcript.kind == "verbatim")
            ).scalars()
        )
        starts = {i: s for i, s in session.execute(select(Call.id, Call.started_at))}
        tagged = set(
            session.execute(
                select(CallTheme.call_id).where(CallTheme.theme == "wants_out")
            ).scalars()
        )
        trend = theme_trend(session, "wants_out", by="month", tz="Europe/Moscow")
    zone = ZoneInfo("Europe/Moscow")
    expected_calls = Counter(
        period_key(starts[c], "month", zone) for c in transcribed if starts[c] is not None
    )
    expected_hits = Counter(
        period_key(starts[c], "month", zone) for c in transcribed & tagged if starts[c]
    )
    assert {r.period: r.calls for r in trend.rows} == dict(expected_calls)
    assert {r.period: r.with_theme for r in trend.rows} == {
        p: expected_hits.get(p, 0) for p in expected_calls
    }
    assert trend.without_transcript == len(starts) - len(transcribed)
    data = json.loads(
        run_cli("trends", case.path, "--theme", "wants_out", "--by", "month", "--json").stdout
    )
    assert sum(p["calls"] for p in data["periods"]) == len(transcribed)
    assert all(p["ci95"][0] <= (p["share"] or 0) <= p["ci95"][1] for p in data["periods"])
    with case.session() as session, pytest.raises(ConfigError, match="unknown theme"):
        theme_trend(session, "nonsense")
