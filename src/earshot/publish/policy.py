"""The redaction policy: which identifying details a redacted export withholds.

The policy is data (``data/redaction_policy.yaml``), so an editor can read and
review exactly what is withheld; it is validated at load and unknown keys are
rejected, because a misspelt key silently ignored would mean a detail published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from earshot.language.morph import fold
from earshot.language.names import word_forms

from ..errors import PolicyError
from .metadata import Precision

__all__ = [
    "CATEGORIES",
    "PERSON_FORMS",
    "CategoryRule",
    "NeverHomeTowns",
    "PolicyError",
    "RedactionPolicy",
    "default_policy",
    "load_policy",
]

CATEGORIES = ("person", "phone", "unit", "address", "date_of_birth", "home_town")
PERSON_FORMS = ("full", "first", "patronymic", "surname", "nickname", "diminutive")
_TOP_KEYS = {"version", "categories", "keep", "not_names"}
_OPTIONAL_TOP = {"precision", "review_nicknames"}
_KEEP_KEYS = {"war_zone", "countries", "public_figures", "places"}
_OPTIONAL_KEEP = {"never_home_towns"}
NEVER_HOME_TOWNS = "earshot.publish:data/never_home_towns.yaml"


@dataclass(frozen=True)
class CategoryRule:
    """One category: redacted or not, and what replaces it."""

    redact: bool
    replacement: str


@dataclass(frozen=True)
class RedactionPolicy:
    """A validated redaction policy (see data/redaction_policy.yaml for the meaning)."""

    source: str
    rules: dict[str, CategoryRule]
    unlinked_name: str
    person_forms: frozenset[str]
    inflections: bool
    spoken_phones: bool
    war_zone_ref: str
    keep_countries: bool
    public_figures_ref: str
    keep_places: frozenset[str]
    not_names: tuple[str, ...]
    precision: Precision = field(default_factory=Precision)
    never_home_towns_ref: str = NEVER_HOME_TOWNS
    review_nicknames: bool = True

    @property
    def never_home_towns(self) -> NeverHomeTowns:
        """Countries and large cities: named in passing, never a "home town"."""
        return _never_home_towns(self.never_home_towns_ref)

    def redacts(self, category: str) -> bool:
        return self.rules[category].redact

    def replacement(self, category: str) -> str:
        return self.rules[category].replacement

    @property
    def public_figure_forms(self) -> frozenset[str]:
        """Folded forms (every case) of the public figures' names: never redacted."""
        return _public_figure_forms(self.public_figures_ref)


def _fail(source: str, what: str) -> PolicyError:
    return PolicyError(f"redaction policy {source}: {what}; fix the file (see the shipped default)")


def _read_resource(ref: str, source: str) -> str:
    """Text of "package:relative/path" (a package data file) or a plain file path."""
    package, sep, rel = ref.partition(":")
    try:
        if sep and "/" not in package:
            return (resources.files(package) / rel).read_text(encoding="utf-8")
        return Path(ref).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError) as exc:
        raise _fail(source, f"cannot read {ref!r} ({exc})") from exc


@cache
def _public_figure_forms(ref: str) -> frozenset[str]:
    data = yaml.safe_load(_read_resource(ref, ref))
    if not isinstance(data, dict) or not isinstance(data.get("figures"), list):
        raise _fail(ref, "a public figures file needs a top-level list 'figures'")
    forms: set[str] = set()
    for row, figure in enumerate(data["figures"], 1):
        match = figure.get("match") if isinstance(figure, dict) else None
        if not isinstance(match, list) or not all(isinstance(m, str) for m in match):
            raise _fail(ref, f"figure {row} needs a list of strings 'match'")
        for word in match:
            forms |= word_forms(word, "Surn")
    return frozenset(forms)


@dataclass(frozen=True)
class NeverHomeTowns:
    """Folded Russian names of countries and of cities at or above a population: a
    place named in passing ("в России", "из Москвы") that identifies nobody."""

    names: frozenset[str]
    min_population: int

    def covers(self, name: str, population: int | None = None, kind: str = "city") -> bool:
        if fold(name) in self.names:
            return True
        if kind == "country":
            return True
        return population is not None and population >= self.min_population


@cache
def _never_home_towns(ref: str) -> NeverHomeTowns:
    data = yaml.safe_load(_read_resource(ref, ref))
    if not isinstance(data, dict) or set(data) - {"min_population", "countries", "cities"}:
        raise _fail(ref, "needs only 'min_population', 'countries' and 'cities'")
    population = data.get("min_population")
    if not isinstance(population, int) or population < 1000:
        raise _fail(ref, "min_population must be a whole number of at least 1000")
    names: set[str] = set()
    for key in ("countries", "cities"):
        rows = data.get(key)
        if not isinstance(rows, list) or not all(isinstance(r, str) and r.strip() for r in rows):
            raise _fail(ref, f"{key} must be a list of names")
        for row in rows:
            names |= {fold(f) for f in word_forms(row, "Geox")} | {fold(row)}
    return NeverHomeTowns(frozenset(names), population)


def _precision(source: str, raw: Any) -> Precision:
    if raw is None:
        return Precision()
    if not isinstance(raw, dict) or set(raw) - {"duration_seconds", "time_minutes"}:
        raise _fail(source, "precision takes only duration_seconds and time_minutes")
    seconds = raw.get("duration_seconds", 1)
    minutes = raw.get("time_minutes", 1)
    if not isinstance(seconds, int) or not 1 <= seconds <= 3600:
        raise _fail(source, "precision.duration_seconds must be a whole number from 1 to 3600")
    if not isinstance(minutes, int) or not 1 <= minutes <= 1440 or 1440 % minutes:
        raise _fail(source, "precision.time_minutes must divide a day (1, 5, 15, 60, 1440...)")
    return Precision(seconds, minutes)


def _mapping(source: str, where: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, f"{where} must be a mapping")
    if unknown := set(value) - allowed:
        raise _fail(source, f"{where} has unknown keys {sorted(unknown)}")
    optional = {"unlinked", "forms", "inflections", "spoken", *_OPTIONAL_KEEP}
    if missing := allowed - set(value) - optional:
        raise _fail(source, f"{where} lacks {sorted(missing)}")
    return value


def _rule(source: str, name: str, raw: Any) -> tuple[CategoryRule, dict[str, Any]]:
    extra = {
        "person": {"unlinked", "forms", "inflections"},
        "phone": {"spoken"},
    }.get(name, set())
    data = _mapping(source, f"categories.{name}", raw, {"redact", "replacement"} | extra)
    if not isinstance(data["redact"], bool):
        raise _fail(source, f"categories.{name}.redact must be true or false")
    replacement = data["replacement"]
    if not isinstance(replacement, str) or not replacement.strip():
        raise _fail(source, f"categories.{name}.replacement must be a non-empty string")
    if name != "person" and not (replacement.startswith("[") and replacement.endswith("]")):
        raise _fail(source, f"categories.{name}.replacement must be a [bracketed label]")
    if name == "person" and replacement != "pseudonym" and not replacement.startswith("["):
        raise _fail(source, "categories.person.replacement must be 'pseudonym' or a [label]")
    return CategoryRule(data["redact"], replacement), data


def parse_policy(data: Any, source: str) -> RedactionPolicy:
    """Validate a parsed policy document (see the shipped YAML for its shape)."""
    if not isinstance(data, dict):
        raise _fail(source, "the top level must be a mapping")
    if unknown := set(data) - _TOP_KEYS - _OPTIONAL_TOP:
        raise _fail(source, f"unknown top-level keys {sorted(unknown)}")
    if missing := _TOP_KEYS - set(data):
        raise _fail(source, f"missing top-level keys {sorted(missing)}")
    if data["version"] != 1:
        raise _fail(source, f"version {data['version']!r} is not supported (only 1)")
    categories = data["categories"]
    if not isinstance(categories, dict):
        raise _fail(source, "categories must be a mapping")
    if unknown := set(categories) - set(CATEGORIES):
        raise _fail(source, f"unknown categories {sorted(unknown)}; known: {list(CATEGORIES)}")
    if missing := set(CATEGORIES) - set(categories):
        raise _fail(source, f"categories {sorted(missing)} are missing; every one must be stated")
    rules: dict[str, CategoryRule] = {}
    raw_rules: dict[str, dict[str, Any]] = {}
    for name in CATEGORIES:
        rules[name], raw_rules[name] = _rule(source, name, categories[name])
    person = raw_rules["person"]
    forms = person.get("forms", list(PERSON_FORMS))
    if not isinstance(forms, list) or not set(forms) <= set(PERSON_FORMS):
        raise _fail(source, f"categories.person.forms must be a list drawn from {PERSON_FORMS}")
    unlinked = person.get("unlinked", "[name]")
    if not isinstance(unlinked, str) or not unlinked.startswith("["):
        raise _fail(source, "categories.person.unlinked must be a [bracketed label]")
    inflections = person.get("inflections", True)
    spoken = raw_rules["phone"].get("spoken", True)
    if not isinstance(inflections, bool) or not isinstance(spoken, bool):
        raise _fail(source, "person.inflections and phone.spoken must be true or false")
    keep = _mapping(source, "keep", data["keep"], _KEEP_KEYS | _OPTIONAL_KEEP)
    if not isinstance(keep["countries"], bool):
        raise _fail(source, "keep.countries must be true or false")
    places = keep["places"]
    if not isinstance(places, list) or not all(isinstance(p, str) and p for p in places):
        raise _fail(source, "keep.places must be a list of place names")
    for key in ("war_zone", "public_figures"):
        if not isinstance(keep[key], str):
            raise _fail(source, f"keep.{key} must name a data file")
        _read_resource(keep[key], source)
    not_names = data["not_names"]
    if not isinstance(not_names, list) or not all(isinstance(n, str) and n for n in not_names):
        raise _fail(source, "not_names must be a list of phrases")
    never = keep.get("never_home_towns", NEVER_HOME_TOWNS)
    if not isinstance(never, str):
        raise _fail(source, "keep.never_home_towns must name a data file")
    review = data.get("review_nicknames", True)
    if not isinstance(review, bool):
        raise _fail(source, "review_nicknames must be true or false")
    policy = RedactionPolicy(
        source=source,
        rules=rules,
        unlinked_name=unlinked,
        person_forms=frozenset(forms),
        inflections=inflections,
        spoken_phones=spoken,
        war_zone_ref=keep["war_zone"],
        keep_countries=keep["countries"],
        public_figures_ref=keep["public_figures"],
        keep_places=frozenset(fold(p) for p in places),
        not_names=tuple(not_names),
        precision=_precision(source, data.get("precision")),
        never_home_towns_ref=never,
        review_nicknames=review,
    )
    _ = policy.never_home_towns
    _ = policy.public_figure_forms  # validate the figures file now, not mid-export
    return policy


def load_policy(path: Path | None = None) -> RedactionPolicy:
    """The policy at `path`, or the shipped default."""
    if path is None:
        return default_policy()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"redaction policy {path}: cannot read ({exc})") from exc
    return parse_policy(data, str(path))


@cache
def default_policy() -> RedactionPolicy:
    """The shipped policy (data/redaction_policy.yaml)."""
    text = (resources.files("earshot.publish") / "data" / "redaction_policy.yaml").read_text(
        encoding="utf-8"
    )
    return parse_policy(yaml.safe_load(text), "earshot.publish:data/redaction_policy.yaml")
