"""Person-name linking: diminutives, inflected forms, known persons, public figures.

On the phone nobody says "Андрей Викторович Петров": they say "Андрюха", "Дрюня",
"Петрову передай". Linking those mentions to the people of a case, and finding
every form of a name before publication, needs the diminutives (data in
``data/diminutives.yaml``) and pymorphy3's paradigms for each of them: we
pre-generate the singular forms of every name and diminutive, because the
lemmatizer alone cannot undo colloquial forms ("Ромычу" lemmatizes to a verb).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

from earshot.errors import LexiconError
from earshot.language.morph import analyzer, fold

__all__ = [
    "KnownPerson",
    "PersonDirectory",
    "PersonMatch",
    "PublicFigure",
    "first_names",
    "is_diminutive",
    "is_public_figure",
    "name_forms",
    "parses",
    "public_figure",
    "self_identification",
    "word_forms",
]

_WORD_RE = re.compile(r"[А-ЯЁа-яёA-Za-z]+(?:-[А-ЯЁа-яёA-Za-z]+)*")
_PATRONYMIC_RE = re.compile(r"(?:вич|вна|ична|инична)$")


def _load_yaml(filename: str, top_key: str) -> list[dict[str, Any]]:
    path = resources.files("earshot.language") / "data" / filename
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(
            f"{filename}: cannot read ({exc}); restore it from the repository"
        ) from exc
    if not isinstance(data, dict) or set(data) != {top_key}:
        raise LexiconError(f"{filename}: expected one top-level key {top_key!r}, got {data!r:.80}")
    entries = data[top_key]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise LexiconError(f"{filename}: {top_key!r} must be a list of mappings")
    return entries


def _check_entry(
    filename: str, row: int, entry: dict[str, Any], required: set[str], optional: set[str]
) -> None:
    keys = set(entry)
    if unknown := keys - required - optional:
        raise LexiconError(
            f"{filename}: entry {row} has unknown keys {sorted(unknown)}; remove them"
        )
    if missing := required - keys:
        raise LexiconError(f"{filename}: entry {row} lacks {sorted(missing)}; add them")


def _str_list(filename: str, row: int, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LexiconError(f"{filename}: entry {row} {key!r} must be a list of non-empty strings")
    return [v.strip() for v in value]


# ---------------------------------------------------------------- word forms


@lru_cache(maxsize=100_000)
def parses(word: str) -> tuple[Any, ...]:
    """pymorphy3's parses of lower-cased `word`, cached per process.

    Names and capitalised words recur in every call of a case; parsing each anew was a
    tenth of the language stage's time.
    """
    return tuple(analyzer().parse(word.lower()))


def _fallback_forms(word: str) -> set[str]:
    """Case endings by rule, for diminutives pymorphy3 has no nominative parse of."""
    w = fold(word)
    if w.endswith(("а", "я")):
        stem, soft = w[:-1], w.endswith("я") or w[-2:-1] in "гкхжшчщ"
        return {
            w,
            stem + ("и" if soft else "ы"),
            stem + "е",
            stem + ("ю" if w[-1] == "я" else "у"),
        } | {stem + ("ей" if soft and w[-2:-1] not in "гкх" else "ой")}
    if w.endswith(("ек", "ок")):
        stem = w[:-2] + "к"
        return {w} | {stem + e for e in ("а", "у", "ом", "е")}
    return {w} | {w + e for e in ("а", "у", "ом", "е")}


@cache
def word_forms(word: str, role: str = "") -> frozenset[str]:
    """Folded singular forms of one name word ("Андрюша" -> андрюша, андрюши, ...).

    `role` ("Name", "Surn", "Patr" or "") says which pymorphy3 reading to prefer.
    """
    parses = [
        p
        for p in analyzer().parse(word.lower())
        if (p.tag.POS == "NOUN" or (not role and p.tag.POS == "ADJF"))
        and p.tag.number in ("sing", None)
        and p.tag.case == "nomn"
    ]
    if role:
        parses = sorted(parses, key=lambda p: role not in p.tag)
    if not parses:
        return frozenset(_fallback_forms(word))
    best = parses[0]
    forms = {fold(word)}
    for chosen in [p for p in parses if p.normal_form == best.normal_form and p.tag == best.tag]:
        infr = "Infr" in chosen.tag
        for form in chosen.lexeme:
            if form.tag.number == "plur" or (infr and "Infr" not in form.tag):
                continue
            gender = chosen.tag.gender
            other = form.tag.gender
            if role != "Surn" and gender is not None and other is not None and other != gender:
                continue
            forms.add(fold(form.word))
    return frozenset(forms)


# ---------------------------------------------------------------- diminutives


@dataclass(frozen=True)
class _NameEntry:
    name: str
    gender: str
    diminutives: tuple[str, ...]


@cache
def _name_entries() -> tuple[_NameEntry, ...]:
    filename = "diminutives.yaml"
    entries: list[_NameEntry] = []
    seen: set[str] = set()
    for row, raw in enumerate(_load_yaml(filename, "names"), 1):
        _check_entry(filename, row, raw, {"name", "gender", "diminutives"}, set())
        name = raw["name"]
        if not isinstance(name, str) or not name.strip():
            raise LexiconError(f"{filename}: entry {row} 'name' must be a non-empty string")
        if raw["gender"] not in ("m", "f"):
            raise LexiconError(f"{filename}: entry {row} ({name}) gender must be 'm' or 'f'")
        if fold(name) in seen:
            raise LexiconError(f"{filename}: entry {row} repeats the name {name!r}; merge them")
        seen.add(fold(name))
        diminutives = _str_list(filename, row, "diminutives", raw["diminutives"])
        entries.append(_NameEntry(name.strip(), raw["gender"], tuple(diminutives)))
    return tuple(entries)


@cache
def _diminutive_index() -> dict[str, frozenset[tuple[str, bool]]]:
    """Folded form -> {(full name, is_diminutive)}."""
    index: dict[str, set[tuple[str, bool]]] = {}
    for entry in _name_entries():
        for form in word_forms(entry.name, "Name"):
            index.setdefault(form, set()).add((entry.name, False))
        for diminutive in entry.diminutives:
            for form in word_forms(diminutive, "Name"):
                index.setdefault(form, set()).add((entry.name, True))
    # A full name's own form wins over a diminutive of another name ("Данила").
    return {form: frozenset(hits) for form, hits in index.items()}


@lru_cache(maxsize=100_000)
def _first_name_hits(word: str) -> frozenset[tuple[str, bool]]:
    folded = fold(word)
    hits = _diminutive_index().get(folded)
    if hits:
        return hits
    for parse in parses(folded):
        if "Name" in parse.tag and parse.tag.number == "sing":
            hits = _diminutive_index().get(fold(parse.normal_form))
            if hits:
                return hits
    return frozenset()


def first_names(word: str) -> set[str]:
    """Full first names `word` can stand for, in any case ("Ромычу" -> {"Роман"})."""
    return {name for name, _ in _first_name_hits(word)}


def is_diminutive(word: str) -> bool:
    """Whether `word` is only ever a diminutive ("Рома", "Ромычу"), never a full name."""
    hits = _first_name_hits(word)
    return bool(hits) and all(dim for _, dim in hits)


def name_forms(name: str) -> set[str]:
    """Every folded form of `name` and, for a first name, of all its diminutives.

    A multi-word name gives the forms of each of its words. The leak guard scans
    exports for these.
    """
    forms: set[str] = set()
    for match in _WORD_RE.finditer(name):
        word = match.group(0)
        full = first_names(word)
        if full:
            for entry in _name_entries():
                if entry.name in full:
                    forms |= word_forms(entry.name, "Name")
                    for diminutive in entry.diminutives:
                        forms |= word_forms(diminutive, "Name")
        forms |= word_forms(word, _role_of(word))
    return forms


def _role_of(word: str) -> str:
    if _PATRONYMIC_RE.search(fold(word)):
        return "Patr"
    if fold(word) in _diminutive_index():
        return "Name"
    return "Surn"


# ---------------------------------------------------------------- directory


@dataclass(frozen=True)
class KnownPerson:
    """A person of the case: full names ("Петров Андрей Викторович") and nicknames."""

    id: str
    names: Sequence[str] = field(default_factory=tuple)
    aliases: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class PersonMatch:
    """One candidate person for a mention; `basis` names the parts that matched."""

    person_id: str
    score: float
    basis: str


@dataclass
class _Profile:
    first: set[str] = field(default_factory=set)
    surname: set[str] = field(default_factory=set)
    patronymic: set[str] = field(default_factory=set)
    alias: set[str] = field(default_factory=set)
    alias_phrases: set[tuple[frozenset[str], ...]] = field(default_factory=set)


_SCORES = {
    frozenset({"first", "surname", "patronymic"}): 1.0,
    frozenset({"first", "surname"}): 0.95,
    frozenset({"surname", "patronymic"}): 0.9,
    frozenset({"first", "patronymic"}): 0.85,
    frozenset({"alias"}): 0.8,
    frozenset({"surname"}): 0.7,
    frozenset({"first"}): 0.5,
    frozenset({"diminutive"}): 0.45,
    frozenset({"patronymic"}): 0.3,
}


class PersonDirectory:
    """Links name mentions to the known persons of a case."""

    def __init__(self, persons: Iterable[KnownPerson]) -> None:
        self._profiles: dict[str, _Profile] = {}
        for person in persons:
            profile = self._profiles.setdefault(person.id, _Profile())
            for full in person.names:
                for match in _WORD_RE.finditer(full):
                    word = match.group(0)
                    role = _role_of(word)
                    if role == "Name":
                        profile.first |= first_names(word)
                    elif role == "Patr":
                        profile.patronymic |= word_forms(word, "Patr")
                    else:
                        profile.surname |= word_forms(word, "Surn")
            for alias in person.aliases:
                words = [m.group(0) for m in _WORD_RE.finditer(alias)]
                if len(words) == 1:
                    profile.alias |= word_forms(words[0])
                elif words:
                    profile.alias_phrases.add(tuple(word_forms(w) for w in words))

    def match(self, mention: str) -> list[PersonMatch]:
        """Candidate persons for `mention`, best first (full-name matches above first-name)."""
        words = [m.group(0) for m in _WORD_RE.finditer(mention)]
        folded = [fold(w) for w in words]
        if not words:
            return []
        hits_per_word = [_first_name_hits(w) for w in words]
        results: list[PersonMatch] = []
        for person_id, profile in self._profiles.items():
            roles, unmatched = self._roles(profile, words, folded, hits_per_word)
            if not roles:
                continue
            key = frozenset(roles)
            if "diminutive" in key and len(key) > 1:
                key = (key - {"diminutive"}) | {"first"}
            score = _SCORES.get(key, 0.6)
            score *= 0.5**unmatched
            basis = "+".join(sorted(roles))
            results.append(PersonMatch(person_id, round(score, 4), basis))
        results.sort(key=lambda m: (-m.score, m.person_id))
        return results

    @staticmethod
    def _roles(
        profile: _Profile,
        words: list[str],
        folded: list[str],
        hits_per_word: list[frozenset[tuple[str, bool]]],
    ) -> tuple[set[str], int]:
        for phrase in profile.alias_phrases:
            n = len(phrase)
            for i in range(len(folded) - n + 1):
                if all(folded[i + k] in phrase[k] for k in range(n)):
                    return {"alias"}, 0
        roles: set[str] = set()
        unmatched = 0
        for word, form, hits in zip(words, folded, hits_per_word, strict=True):
            if form in profile.surname:
                roles.add("surname")
            elif form in profile.patronymic:
                roles.add("patronymic")
            elif form in profile.alias:
                roles.add("alias")
            elif any(name in profile.first for name, _ in hits):
                exact = any(name in profile.first and not dim for name, dim in hits)
                roles.add("first" if exact else "diminutive")
            elif word[:1].isupper() or hits:
                unmatched += 1
        return roles, unmatched


# ---------------------------------------------------------------- public figures


@dataclass(frozen=True)
class PublicFigure:
    """Someone who may be named in publication (politicians, commanders)."""

    name: str
    role: str
    forms: frozenset[str]


@cache
def _public_figures() -> tuple[tuple[PublicFigure, ...], dict[str, PublicFigure]]:
    filename = "public_figures.yaml"
    figures: list[PublicFigure] = []
    index: dict[str, PublicFigure] = {}
    for row, raw in enumerate(_load_yaml(filename, "figures"), 1):
        _check_entry(filename, row, raw, {"name", "role", "match"}, set())
        if not isinstance(raw["name"], str) or not isinstance(raw["role"], str):
            raise LexiconError(f"{filename}: entry {row} 'name' and 'role' must be strings")
        words = _str_list(filename, row, "match", raw["match"])
        forms: set[str] = set()
        for word in words:
            forms |= word_forms(word, "Surn")
        figure = PublicFigure(raw["name"], raw["role"], frozenset(forms))
        figures.append(figure)
        for form in forms:
            index.setdefault(form, figure)
    return tuple(figures), index


def public_figure(normal: str) -> PublicFigure | None:
    """The public figure `normal` names (any word of it, any case), else None."""
    index = _public_figures()[1]
    for match in _WORD_RE.finditer(normal):
        figure = index.get(fold(match.group(0)))
        if figure is not None:
            return figure
    return None


def is_public_figure(normal: str) -> bool:
    """Whether `normal` ("Путин", "Шойгу", "Владимира Путина") names a public figure."""
    return public_figure(normal) is not None


# ---------------------------------------------------------------- self-identification

_NAME = r"[А-ЯЁа-яё]+"
_SELF_ID_RE = re.compile(
    rf"\bэто\s+(?:я\s*[,—–-]?\s*)?(?P<a>{_NAME})"
    rf"|\b(?:меня\s+зовут|зовут\s+меня|я\s+—)\s+(?P<b>{_NAME}(?:\s+[А-ЯЁ][а-яё]+)?)",
    re.IGNORECASE,
)


def self_identification(text: str) -> list[tuple[int, int, str]]:
    """Speakers naming themselves: "Это Андрей", "это я, Игорь", "меня зовут ...".

    Returns (start, end, name) with the name as said; only words that are first
    names (or their diminutives) count, so "это я, короче" gives nothing.
    """
    found: list[tuple[int, int, str]] = []
    for match in _SELF_ID_RE.finditer(text):
        group = "a" if match.group("a") else "b"
        start, end = match.span(group)
        words = match.group(group).split()
        if not first_names(words[0]):
            continue
        if len(words) > 1 and _role_of(words[1]) == "Name":
            end = start + len(words[0])
        found.append((start, end, text[start:end]))
    return found
