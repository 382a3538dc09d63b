"""Search, trends, places and the call graph: the investigation-board pages.

Each is its library's answer (``earshot.search``, ``earshot.language.trends``,
``earshot.analysis``) shaped for the page; nothing here re-implements them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..analysis import call_graph as library_graph
from ..errors import ConfigError
from ..language.trends import MIN_CALLS, case_themes, theme_trend, wilson_interval
from ..search import SearchError, SearchOptions
from ..search import search as run_search
from ..search.literal import literal_hits, theme_counts

__all__ = ["MAX_QUERY", "call_graph", "search", "trends"]

MAX_QUERY = 500
MAX_HITS = 200


def search(session: Session, query: str, *, limit: int = MAX_HITS) -> dict[str, Any]:
    """Hits for `query` with highlight spans and facets, in the search layer's language.

    A malformed query is answered with its error (position and hint), never a failure;
    an index that cannot be read falls back to a literal substring search, with a note
    on how to rebuild it.
    """
    query = query.strip()[:MAX_QUERY]
    if not query:
        return {"query": "", "hits": [], "facets": {}, "engine": None, "error": None}
    try:
        with session.begin_nested():  # a failed index query must not spoil the transaction
            result = run_search(session, query, SearchOptions(limit=limit))
    except SearchError as exc:
        return {"query": query, "hits": [], "facets": {}, "engine": "index", "error": str(exc)}
    except DBAPIError as exc:
        hits = literal_hits(session, query, limit)
        note = (
            f"the search index is unavailable ({type(exc.orig).__name__}); showing plain "
            "text matches. Rebuild it with `earshot search CASE --reindex`."
        )
        return {
            "query": query,
            "hits": hits,
            "facets": _facets(session, hits),
            "engine": "substring",
            "error": note,
        }
    hits = [
        {
            "call_id": h.call,
            "segment_id": h.segment,
            "start": h.start,
            "speaker": h.speaker or h.party,
            "kind": h.source,
            "text": h.text,
            "highlights": [list(span) for span in h.highlights],
            "score": h.score,
        }
        for h in result.hits
    ]
    engine = "index"
    return {
        "query": query,
        "hits": hits,
        "facets": _facets(session, hits),
        "engine": engine,
        "error": None,
    }


def _facets(session: Session, hits: list[dict[str, Any]]) -> dict[str, list[tuple[Any, int]]]:
    facets: dict[str, list[tuple[Any, int]]] = {
        "call": Counter(h["call_id"] for h in hits).most_common(20),
        "speaker": Counter(h["speaker"] or "?" for h in hits).most_common(20),
        "language": Counter(str(h["kind"]) for h in hits).most_common(5),
    }
    if hits:
        facets["theme"] = theme_counts(session, {h["call_id"] for h in hits}).most_common(20)
    return facets


def trends(session: Session, interval: str = "month", timezone: str = "UTC") -> dict[str, Any]:
    """Share of calls carrying each theme per period, with Wilson 95% intervals.

    Computed by ``earshot.language.trends`` (the same figures as `earshot trends`).
    """
    interval = interval if interval in {"week", "month", "day"} else "month"

    themes = case_themes(session)
    series: dict[str, dict[str, Any]] = {}
    periods: set[str] = set()
    for theme in themes:
        try:
            trend = theme_trend(session, theme, by=interval, tz=timezone)
        except ConfigError:
            continue  # a tag added by hand, not a theme of the lexicon
        rows = {row.period: row.as_dict() for row in trend.rows}
        periods.update(rows)
        series[theme] = rows
    ordered = sorted(periods)
    calls = {p: 0 for p in ordered}
    for rows in series.values():
        for p, row in rows.items():
            calls[p] = max(calls[p], int(row["calls"]))
    return {
        "interval": interval,
        "periods": ordered,
        "calls": [calls[p] for p in ordered],
        "thin": [calls[p] < MIN_CALLS for p in ordered],
        "min_calls": MIN_CALLS,
        "series": {
            theme: [
                rows.get(
                    p,
                    {
                        "period": p,
                        "calls": calls[p],
                        "with_theme": 0,
                        "share": 0.0 if calls[p] else None,
                        "ci95": list(wilson_interval(0, calls[p])),
                        "thin": calls[p] < MIN_CALLS,
                    },
                )
                for p in ordered
            ]
            for theme, rows in series.items()
        },
    }


def call_graph(session: Session) -> dict[str, Any]:
    """The analysis library's call graph (``earshot.analysis.call_graph``, the same as
    `earshot graph`) as nodes and links for the page: phones and persons; calls between
    phones (with their number) and the uses of a phone by a person."""
    graph = library_graph(session)
    nodes = [
        {
            "id": node,
            "kind": data.get("kind"),
            "label": data.get("label", node),
            "person_id": data.get("db_id") if data.get("kind") == "person" else None,
        }
        for node, data in graph.nodes(data=True)
        if graph.degree(node) > 0
    ]
    links = [
        {
            "source": a,
            "target": b,
            "kind": data.get("kind", "call"),
            "calls": int(data.get("count", 0) or 0),
            "call_ids": [int(c) for c in str(data.get("call_ids", "")).split(",") if c],
        }
        for a, b, data in graph.edges(data=True)
    ]
    return {"nodes": nodes, "links": links}
