"""Places mentioned in the calls, with coordinates: the map of the investigation board."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.language_models import SegmentEntity

__all__ = ["mentioned_places"]


def mentioned_places(session: Session) -> list[dict[str, Any]]:
    """Each place named in a call whose gazetteer match has coordinates: name, lat, lon,
    country, whether it lies in the war zone, the calls naming it and how often; the most
    mentioned first."""
    found: dict[tuple[str, float, float], dict[str, Any]] = {}
    for e in session.execute(
        select(SegmentEntity).where(
            SegmentEntity.kind == "LOC", SegmentEntity.place_name.is_not(None)
        )
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
