"""The protected terms of a case: every form of every person's names, and every phone.

Both the redactor and the leak guard work from a :class:`TermIndex`. The leak
guard always builds the complete index (every form, every inflection, every
transliteration, every phone in several digit shapes); the redactor builds the
one its policy asks for, so a weakened policy shows up as a refused export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.language.morph import analyzer, fold
from earshot.language.names import first_names, name_forms, word_forms
from earshot.store.models import Party, Person, PersonPhone, Phone

from .translit import latin_keys_of

__all__ = [
    "ProtectedPerson",
    "Term",
    "TermIndex",
    "all_phone_numbers",
    "is_name_like",
    "name_word_forms",
    "phone_digit_keys",
    "protected_people",
]

_CYR_WORD_RE = re.compile(r"[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)*")
_PATRONYMIC_RE = re.compile(r"(?:вич|вна|ична|инична)$")


@dataclass(frozen=True)
class ProtectedPerson:
    """A person whose names and phones must never appear in a redacted export."""

    person_id: int
    names: Sequence[str] = ()
    aliases: Sequence[str] = ()
    phones: Sequence[str] = ()
    role: str = "other"
    home_towns: Sequence[str] = ()


@dataclass(frozen=True)
class Term:
    """What a matched word or number is: its category, and whose it is."""

    category: str  # person | phone | unit | address | date_of_birth | home_town
    persons: frozenset[int] = frozenset()
    source: str = ""  # the protected form it came from (for leak reports)


def _add(index: dict[str, Term], key: str, term: Term) -> None:
    old = index.get(key)
    if old is None:
        index[key] = term
    elif old.category == term.category:
        index[key] = Term(term.category, old.persons | term.persons, old.source or term.source)
    elif term.category == "person":  # a name wins over a place of the same spelling
        index[key] = term


def _vocatives(forms: Iterable[str]) -> set[str]:
    """Colloquial vocatives: "Андрюша" -> "андрюш", "Оля" -> "оль", "Рома" -> "ром"."""
    out: set[str] = set()
    for form in forms:
        if len(form) >= 4 and form.endswith("а"):
            out.add(form[:-1])
        elif len(form) >= 3 and form.endswith("я"):
            out.add(form[:-1] + "ь")
    return out


def _word_role(word: str) -> str:
    if _PATRONYMIC_RE.search(fold(word)):
        return "patronymic"
    if first_names(word):
        return "first"
    return "surname"


def name_word_forms(name: str, kinds: frozenset[str], inflections: bool) -> dict[str, str]:
    """Folded forms of a person's name words, each mapped to the kind it came from.

    `kinds` says which of first/diminutive/patronymic/surname are wanted; initials
    ("А.") are skipped.
    """
    out: dict[str, str] = {}
    for match in _CYR_WORD_RE.finditer(name):
        word = match.group(0)
        if len(word) < 2:
            continue
        role = _word_role(word)
        if role not in kinds and not (role == "first" and "diminutive" in kinds):
            continue
        if role == "first":
            own = set(word_forms(word, "Name")) if inflections else {fold(word)}
            if "first" in kinds:
                for form in own:
                    out.setdefault(form, "first")
            if "diminutive" in kinds:
                every = name_forms(word) if inflections else set()
                dims = (every - own) | _vocatives(every)
                for form in dims:
                    out.setdefault(form, "diminutive")
        else:
            tag = "Patr" if role == "patronymic" else "Surn"
            for form in word_forms(word, tag) if inflections else {fold(word)}:
                out.setdefault(form, role)
    return out


def _alias_forms(alias: str, inflections: bool) -> set[str]:
    forms: set[str] = set()
    for match in _CYR_WORD_RE.finditer(alias):
        word = match.group(0)
        if len(word) < 2:
            continue
        own = set(word_forms(word)) if inflections else {fold(word)}
        forms |= own | (_vocatives(own) if inflections else set())
    return forms


def phone_digit_keys(e164: str) -> set[str]:
    """Digit strings that reveal a phone: its national number and its last 7 digits."""
    digits = re.sub(r"\D", "", e164)
    keys = {digits}
    if digits.startswith("7") and len(digits) == 11:
        keys.add(digits[1:])
    if len(digits) >= 10:
        keys.add(digits[-7:])
    return keys


@dataclass
class TermIndex:
    """Folded Cyrillic words, Latin keys and digit strings that must not be published."""

    words: dict[str, Term] = field(default_factory=dict)
    latin: dict[str, Term] = field(default_factory=dict)
    digits: dict[str, Term] = field(default_factory=dict)

    def add_word(self, form: str, term: Term, *, latin: bool = True) -> None:
        folded = fold(form)
        _add(self.words, folded, term)
        if latin:
            for key in latin_keys_of(folded):
                if len(key) >= 3:
                    _add(self.latin, key, term)

    def add_digits(self, digits: str, term: Term) -> None:
        _add(self.digits, digits, term)

    def add_person(
        self,
        person: ProtectedPerson,
        kinds: frozenset[str] = frozenset(
            {"full", "first", "patronymic", "surname", "nickname", "diminutive"}
        ),
        inflections: bool = True,
    ) -> None:
        for name in person.names:
            for form, kind in name_word_forms(name, kinds, inflections).items():
                self.add_word(form, Term("person", frozenset({person.person_id}), kind))
        if "nickname" in kinds:
            for alias in person.aliases:
                for form in _alias_forms(alias, inflections):
                    self.add_word(form, Term("person", frozenset({person.person_id}), "nickname"))
        for phone in person.phones:
            for key in phone_digit_keys(phone):
                self.add_digits(key, Term("phone", frozenset({person.person_id}), "phone"))
        for town in person.home_towns:
            for form in _alias_forms(town, inflections):
                self.add_word(form, Term("home_town", source="home town"))


def _role(person: Person) -> str:
    role = getattr(person, "role", None)
    return role if role in ("soldier", "relative", "other") else "other"


def protected_people(session: Session) -> list[ProtectedPerson]:
    """Every person of the case with names, aliases and phones, and the nicknames editors
    decided (``earshot nickname decide``): a known person's among that person's aliases,
    a nickname of nobody known as a person of its own (a negative id, so it is redacted
    as an unlinked name and the leak guard looks for it)."""
    from .nicknames import nickname_terms

    people = _case_people(session)
    by_person, unlinked = nickname_terms(session)
    out = [
        replace(p, aliases=(*p.aliases, *by_person[p.person_id])) if p.person_id in by_person else p
        for p in people
    ]
    out += [ProtectedPerson(-(i + 1), (), (word,)) for i, word in enumerate(unlinked)]
    return out


def _case_people(session: Session) -> list[ProtectedPerson]:
    """Every person of the case with names, aliases and phones.

    Uses ``earshot.identity.identity_terms`` when the identity layer provides it,
    else reads the persons, their phones and the phones of the call sides
    attributed to them. Merged persons' names count for the person they became.
    """
    import importlib

    identity_terms = getattr(importlib.import_module("earshot.identity"), "identity_terms", None)
    if identity_terms is not None:
        found: list[Any] = identity_terms(session)
        roles = {p.id: _role(p) for p in session.scalars(select(Person))}
        return [
            ProtectedPerson(
                int(p.person_id),
                tuple(p.names),
                tuple(p.aliases),
                tuple(p.phones),
                roles.get(int(p.person_id), "other"),
                tuple(getattr(p, "home_towns", ()) or ()),
            )
            for p in found
        ]
    phones: dict[int, set[str]] = {}
    rows = session.execute(
        select(PersonPhone.person_id, Phone.e164).join(Phone, Phone.id == PersonPhone.phone_id)
    )
    for person_id, e164 in rows:
        phones.setdefault(person_id, set()).add(e164)
    rows = session.execute(
        select(Party.person_id, Phone.e164)
        .join(Phone, Phone.id == Party.phone_id)
        .where(Party.person_id.is_not(None))
    )
    for person_id, e164 in rows:
        phones.setdefault(person_id, set()).add(e164)
    people: list[ProtectedPerson] = []
    for person in session.scalars(select(Person).order_by(Person.id)):
        aliases = [str(a) for a in (getattr(person, "aliases", None) or [])]
        home = getattr(person, "home_region", None)
        people.append(
            ProtectedPerson(
                person.id,
                (person.name,),
                tuple(aliases),
                tuple(sorted(phones.get(person.id, ()))),
                _role(person),
                (home,) if home else (),
            )
        )
    return people


def all_phone_numbers(session: Session) -> list[str]:
    """Every phone of the case in E.164 (the leak guard checks them all)."""
    return list(session.scalars(select(Phone.e164).order_by(Phone.id)))


def is_name_like(word: str) -> bool:
    """Whether a capitalised word could be a person's name (not "Спальник", "Трёхсотый")."""
    if first_names(word):
        return True
    parses = analyzer().parse(word.lower())
    if not parses:
        return True
    if any(any(g in str(p.tag) for g in ("Name", "Surn", "Patr")) for p in parses):
        return True
    best = parses[0]
    return not best.is_known or (best.tag.POS == "NOUN" and best.tag.animacy == "anim")
