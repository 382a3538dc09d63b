"""Search, trends, places and the call graph: the investigation-board pages.

Each uses its layer's library when present (``earshot.search``,
``earshot.language.trends``, ``earshot.analysis``) and otherwise a plain query
over the core and language tables, so the pages work on any case.
"""

from __future__ import annotations

import importlib
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..store.models import Party, Person, Phone, Segment, Transcript
from .views import model

__all__ = ["MAX_QUERY", "call_graph", "places", "search", "trends"]

MAX_QUERY = 500
MAX_HITS = 200


def _library(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def search(session: Session, query: str, *, limit: int = MAX_HITS) -> dict[str, Any]:
    """Hits for `query` with highlight spans and facets, in the search layer's language.

    A malformed query is answered with its error (position and hint), never a failure;
    without the search layer a literal substring search stands in.
    """
    query = query.strip()[:MAX_QUERY]
    if not query:
        return {"query": "", "hits": [], "facets": {}, "engine": None, "error": None}
    lib = _library("earshot.search")
    if lib is None:
        hits = _substring_hits(session, query, limit)
        engine = "substring"
    else:
        try:
            with session.begin_nested():  # a failed index query must not spoil the transaction
                result = lib.search(session, query, lib.SearchOptions(limit=limit))
        except lib.SearchError as exc:
            return {"query": query, "hits": [], "facets": {}, "engine": "index", "error": str(exc)}
        except DBAPIError as exc:
            hits = _substring_hits(session, query, limit)
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


def _substring_hits(session: Session, query: str, limit: int) -> list[dict[str, Any]]:
    """Plain substring search: every character is literal (no wildcard, no syntax)."""
    rows = session.execute(
        select(Segment, Transcript.kind)
        .join(Transcript, Transcript.id == Segment.transcript_id)
        .where(Segment.text.contains(query, autoescape=True))
        .order_by(Segment.call_id, Segment.idx)
        .limit(limit)
    ).all()
    hits = []
    folded = query.casefold()
    for seg, kind in rows:
        at = seg.text.casefold().find(folded)
        hits.append(
            {
                "call_id": seg.call_id,
                "segment_id": seg.id,
                "start": seg.start,
                "speaker": seg.speaker_label or seg.party,
                "kind": kind,
                "text": seg.text,
                "highlights": [[at, at + len(query)]] if at >= 0 else [],
            }
        )
    return hits


def _facets(session: Session, hits: list[dict[str, Any]]) -> dict[str, list[tuple[Any, int]]]:
    facets: dict[str, list[tuple[Any, int]]] = {
        "call": Counter(h["call_id"] for h in hits).most_common(20),
        "speaker": Counter(h["speaker"] or "?" for h in hits).most_common(20),
        "language": Counter(str(h["kind"]) for h in hits).most_common(5),
    }
    call_theme = model("language_models", "CallTheme")
    if call_theme is not None and hits:
        ids = {h["call_id"] for h in hits}
        themes = Counter(
            session.execute(select(call_theme.theme).where(call_theme.call_id.in_(ids))).scalars()
        )
        facets["theme"] = themes.most_common(20)
    return facets


def trends(session: Session, interval: str = "month", timezone: str = "UTC") -> dict[str, Any]:
    """Share of calls carrying each theme per period, with Wilson 95% intervals.

    Computed by ``earshot.language.trends`` (the same figures as `earshot trends`).
    """
    interval = interval if interval in {"week", "month", "day"} else "month"
    call_theme = model("language_models", "CallTheme")
    lib = _library("earshot.language.trends")
    if call_theme is None or lib is None:
        return {"interval": interval, "periods": [], "series": {}}
    from ..errors import ConfigError

    themes = sorted(set(session.execute(select(call_theme.theme)).scalars()))
    series: dict[str, dict[str, Any]] = {}
    periods: set[str] = set()
    for theme in themes:
        try:
            trend = lib.theme_trend(session, theme, by=interval, tz=timezone)
        except ConfigError:
            continue  # a tag added by hand, not a theme of the lexicon
        rows = {row.period: row.as_dict() for row in trend.rows}
        periods.update(rows)
        series[theme] = rows
    ordered = sorted(periods)
    return {
        "interval": interval,
        "periods": ordered,
        "series": {
            theme: [
                rows.get(
                    p, {"period": p, "calls": 0, "with_theme": 0, "share": None, "ci95": [0.0, 1.0]}
                )
                for p in ordered
            ]
            for theme, rows in series.items()
        },
    }


def places(session: Session) -> list[dict[str, Any]]:
    """Places mentioned in calls with coordinates, and the calls mentioning each."""
    entity = model("language_models", "SegmentEntity")
    if entity is None:
        return []
    found: dict[tuple[str, float, float], dict[str, Any]] = {}
    for e in session.execute(
        select(entity).where(entity.kind == "LOC", entity.place_name.is_not(None))
    ).scalars():
        best = e.places[0] if e.places and isinstance(e.places[0], dict) else {}
        lat, lon = best.get("lat"), best.get("lon")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            continue
        key = (str(e.place_name), float(lat), float(lon))
        entry = found.setdefault(
            key,
            {
                "name": e.place_name,
                "lat": float(lat),
                "lon": float(lon),
                "country": e.place_country,
                "war_zone": e.in_war_zone,
                "calls": set(),
                "mentions": 0,
            },
        )
        entry["calls"].add(e.call_id)
        entry["mentions"] += 1
    return [
        {**v, "calls": sorted(v["calls"])}
        for v in sorted(found.values(), key=lambda v: -int(v["mentions"]))
    ]


def call_graph(session: Session) -> dict[str, Any]:
    """Phones and persons as nodes; calls between phones and uses of a phone as edges."""
    lib = _library("earshot.analysis")
    if lib is not None:
        graph = lib.call_graph(session)
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
                "calls": int(data.get("calls", 0) or 0),
            }
            for a, b, data in graph.edges(data=True)
        ]
        return {"nodes": nodes, "links": links}
    return _core_graph(session)


def _core_graph(session: Session) -> dict[str, Any]:
    parties = session.execute(select(Party).order_by(Party.call_id, Party.label)).scalars().all()
    phones = {p.id: p.e164 for p in session.execute(select(Phone)).scalars()}
    persons = {p.id: p.name for p in session.execute(select(Person)).scalars()}
    by_call: dict[int, dict[str, Party]] = defaultdict(dict)
    for party in parties:
        by_call[party.call_id][party.label] = party
    edges: Counter[tuple[str, str]] = Counter()
    uses: set[tuple[str, str]] = set()
    used_phones: set[int] = set()
    used_persons: set[int] = set()
    for sides in by_call.values():
        a, b = sides.get("A"), sides.get("B")
        if a and b and a.phone_id and b.phone_id:
            edges[(f"phone:{a.phone_id}", f"phone:{b.phone_id}")] += 1
        for side in (a, b):
            if side and side.phone_id:
                used_phones.add(side.phone_id)
                if side.person_id:
                    used_persons.add(side.person_id)
                    uses.add((f"person:{side.person_id}", f"phone:{side.phone_id}"))
    nodes = [
        {"id": f"phone:{pid}", "kind": "phone", "label": phones.get(pid, "?")}
        for pid in sorted(used_phones)
    ] + [
        {"id": f"person:{pid}", "kind": "person", "label": persons.get(pid, "?"), "person_id": pid}
        for pid in sorted(used_persons)
    ]
    links = [
        {"source": s, "target": t, "kind": "call", "calls": n}
        for (s, t), n in sorted(edges.items())
    ]
    links += [{"source": s, "target": t, "kind": "uses", "calls": 0} for s, t in sorted(uses)]
    return {"nodes": nodes, "links": links}
