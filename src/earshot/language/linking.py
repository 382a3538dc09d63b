"""Helpers the language analyzer links with: NER pre-filter, initials, slang overlap.

Kept apart from :mod:`earshot.language.analysis` so that module holds the stage and its
storage; these are pure functions of text and names (no database).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from earshot.language.entities import Entity
from earshot.language.morph import analyzer
from earshot.language.names import PersonDirectory, PersonMatch, first_names, parses
from earshot.language.slang import SlangHit

__all__ = [
    "initials",
    "inside_slang",
    "known_word",
    "may_name_something",
    "weigh_initials",
]

_PATRONYMIC_RE = re.compile(r"(?:вич|вна|ична|инична)$")
_INITIAL_RE = re.compile(r"(?<![А-ЯЁа-яё])([А-ЯЁ])\.")


def known_word(directory: PersonDirectory) -> Callable[[str], bool]:
    """Whether a word names a person of the case (keeps "Калина" the callsign a name)."""
    return lambda word: any(
        "surname" in m.basis or "alias" in m.basis for m in directory.match(word)
    )


def initials(names: Sequence[str]) -> list[str]:
    """Initials written in a name ("Шапкин Д.А." -> ["Д", "А"])."""
    return [m.group(1) for name in names for m in _INITIAL_RE.finditer(name)]


_CAPITALISED_WORD_RE = re.compile(r"(?<![\w-])[A-ZА-ЯЁ][\w-]*")
_SENTENCE_START_RE = re.compile(r"(?:^|[.!?…]\s*|[—–-]\s+|[«\"(]\s*)$")
_NAMED_TAGS = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn"})


def may_name_something(text: str) -> bool:
    """Whether NER could find anything in `text` (it costs ~10 ms a segment).

    Natasha's PER/LOC/ORG spans always hold a capitalised word. A segment whose only
    capitals open a sentence on ordinary dictionary words ("Кормят так себе.") cannot
    name anyone; text with no capitals at all (lower-case ASR) always goes through.
    """
    if not any(ch.isupper() for ch in text):
        return True
    for m in _CAPITALISED_WORD_RE.finditer(text):
        word = m.group(0).split("-")[0]  # "Кормят-то"
        if not _SENTENCE_START_RE.search(text[: m.start()]) or (word.isupper() and len(word) > 1):
            return True
        if len(word) > 2 and not _ordinary_word(word):  # "Я", "Из" also read as initials
            return True
    return False


@lru_cache(maxsize=100_000)
def _ordinary_word(word: str) -> bool:
    """A dictionary word with no reading as a name, surname, patronymic, place or org."""
    if not analyzer().word_is_known(word.lower()):
        return False
    return not any(_NAMED_TAGS & p.tag.grammemes for p in parses(word))


def inside_slang(entity: Entity, slang: Sequence[SlangHit]) -> bool:
    """A name or place inside a slang phrase is slang ("уехать в Сочи", "Баба-Яга")."""
    return entity.kind in ("PER", "LOC") and any(
        h.start <= entity.start and entity.end <= h.end for h in slang
    )


def weigh_initials(
    matches: list[PersonMatch], mention: str, initials: dict[str, list[str]]
) -> list[PersonMatch]:
    """Let a Person's recorded initials confirm or rule out the other words of a mention.

    The directory counts "Денис Алексеевич" as unmatched words against "Шапкин Д.А.";
    when their initials agree the penalty is undone, when they disagree the candidate
    is dropped.
    """
    words = re.findall(r"[А-ЯЁ][а-яё]+", mention)
    firsts = [w[0] for w in words if first_names(w) or _PATRONYMIC_RE.search(w)]
    if not firsts or not matches:
        return matches
    out: list[PersonMatch] = []
    for match in matches:
        known = initials.get(match.person_id, [])
        if not known or "surname" not in match.basis:
            out.append(match)
            continue
        agree = [f for f in firsts if f in known]
        if len(agree) < len(firsts):
            continue
        score = min(0.95, match.score / 0.5 ** len(agree) + 0.1 * len(agree))
        out.append(PersonMatch(match.person_id, round(score, 4), match.basis + "+initials"))
    out.sort(key=lambda m: (-m.score, m.person_id))
    return out
