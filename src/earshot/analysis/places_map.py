"""The places of a case, for a map: where calls mention a place and where the call
records say a call was made.

Two rules keep the map honest. A place name that the slang decoder read as
something else in the same words («уехал в Сочи» is "went AWOL", not a trip to
the coast) is not pinned; it is listed apart with the gloss, so a reader sees why.
And the call records' own location column (``Call.location``, "Соледар",
"Луганская обл., полигон") is geocoded with the same gazetteer as the speech, so
a call is on the map even when nobody names a place in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.language_models import SegmentEntity, SegmentSlang
from ..store.models import Call

__all__ = ["MappedPlace", "PlaceMap", "SlangPlace", "place_map", "record_place_names"]

_WORDS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
# Words of a call record's location that name no place: what is left is geocoded.
_NOISE = re.compile(
    r"\b(обл|область|области|р-н|район|направление|полигон|г|пгт|с|пос|посёлок|поселок)\b\.?",
    re.IGNORECASE,
)


@dataclass
class MappedPlace:
    """One pin: a geocoded place, the calls that mention it and the calls whose
    records put the call there."""

    name: str
    lat: float
    lon: float
    country: str | None
    war_zone: bool
    mentions: int = 0
    calls: set[int] = field(default_factory=set)
    record_calls: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lat": self.lat,
            "lon": self.lon,
            "country": self.country,
            "war_zone": self.war_zone,
            "mentions": self.mentions,
            "calls": sorted(self.calls),
            "record_calls": sorted(self.record_calls),
        }


@dataclass(frozen=True)
class SlangPlace:
    """A place name not pinned because the slang decoder glossed the same words."""

    text: str
    place: str
    gloss: str
    call_id: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "place": self.place,
            "gloss": self.gloss,
            "call_id": self.call_id,
        }


@dataclass(frozen=True)
class PlaceMap:
    places: list[MappedPlace]
    read_as_slang: list[SlangPlace]
    unplaced_records: list[tuple[int, str]]  # (call, location) the gazetteer did not find

    def as_dict(self) -> dict[str, Any]:
        return {
            "places": [p.as_dict() for p in self.places],
            "read_as_slang": [s.as_dict() for s in self.read_as_slang],
            "unplaced_records": [
                {"call_id": c, "location": loc} for c, loc in self.unplaced_records
            ],
        }


def record_place_names(location: str) -> list[str]:
    """The parts of a call record's location worth geocoding, most specific first:
    "Костромская обл., полигон" -> ["Костромская"]."""
    out = []
    for part in location.split(","):
        cleaned = " ".join(_NOISE.sub(" ", part).split())
        if cleaned and cleaned not in out:
            out.append(cleaned)
    return out


def place_map(session: Session, *, with_records: bool = True) -> PlaceMap:
    """Every place to pin, most mentioned first. `with_records` geocodes the call
    records' locations too (builds the gazetteer on first use: a few seconds)."""
    pins: dict[tuple[str, float, float], MappedPlace] = {}
    # Per call, the words of every slang reading and its gloss: «уехать в Сочи» glossed
    # as going AWOL makes "Сочи" slang in that call, also where it is echoed ("В какие
    # Сочи?") and the decoder, missing the verb, did not fire again.
    slang: dict[int, dict[str, str]] = {}
    for s in session.scalars(select(SegmentSlang)):
        for word in _WORDS.findall(s.text.lower()):
            slang.setdefault(s.call_id, {}).setdefault(word.replace("ё", "е"), s.gloss)
    read_as_slang: list[SlangPlace] = []
    entities = session.scalars(
        select(SegmentEntity).where(
            SegmentEntity.kind == "LOC", SegmentEntity.place_name.is_not(None)
        )
    )
    for e in entities:
        words = [w.replace("ё", "е") for w in _WORDS.findall(e.text.lower())]
        glosses = slang.get(e.call_id, {})
        if words and all(w in glosses for w in words):
            read_as_slang.append(
                SlangPlace(e.text, str(e.place_name), glosses[words[0]], e.call_id)
            )
            continue
        best = e.places[0] if e.places and isinstance(e.places[0], dict) else {}
        lat, lon = best.get("lat"), best.get("lon")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            continue
        pin = _pin(pins, str(e.place_name), float(lat), float(lon), e.place_country, e.in_war_zone)
        pin.calls.add(e.call_id)
        pin.mentions += 1
    unplaced: list[tuple[int, str]] = []
    if with_records:
        unplaced = _records(session, pins)
    places = sorted(pins.values(), key=lambda p: (-p.mentions, -len(p.record_calls), p.name))
    return PlaceMap(places, read_as_slang, unplaced)


def _pin(
    pins: dict[tuple[str, float, float], MappedPlace],
    name: str,
    lat: float,
    lon: float,
    country: str | None,
    war_zone: bool | None,
) -> MappedPlace:
    key = (name, round(lat, 4), round(lon, 4))
    if key not in pins:
        pins[key] = MappedPlace(name, lat, lon, country, bool(war_zone))
    return pins[key]


def _records(
    session: Session, pins: dict[tuple[str, float, float], MappedPlace]
) -> list[tuple[int, str]]:
    from ..language.places import gazetteer, in_war_zone

    rows = session.execute(select(Call.id, Call.location).where(Call.location.is_not(None)))
    found: dict[str, Any] = {}
    unplaced: list[tuple[int, str]] = []
    for call_id, location in rows:
        if not location or not location.strip():
            continue
        if location not in found:
            found[location] = None
            for name in record_place_names(location):
                candidates = [p for p in gazetteer().geocode(name) if p.lat is not None]
                if candidates:
                    found[location] = candidates[0]
                    break
        place = found[location]
        if place is None or place.lat is None or place.lon is None:
            unplaced.append((call_id, location))
            continue
        pin = _pin(pins, place.name, place.lat, place.lon, place.country, in_war_zone(place))
        pin.record_calls.add(call_id)
    return unplaced
