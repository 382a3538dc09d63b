"""The leak guard: a redacted export is refused if any protected term survived.

It is deliberately independent of the redaction policy: it always searches for
every form of every name, alias and diminutive of every person of the case (all
inflections, in Cyrillic and in every common Latin spelling), for the digits of
every phone of the case and for every military unit number the entity extractor
found in its transcripts, in every string that will be written. If the redactor
missed anything (a weakened policy, a new diminutive, a translator's spelling),
the export is refused with the list of what and where, and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from earshot.language.morph import fold
from earshot.language.numbers import spoken_numbers
from earshot.language.numbers_en import english_number_runs

from ..errors import LeakDetectedError
from .terms import ProtectedPerson, Term, TermIndex, all_phone_numbers, phone_digit_keys
from .translit import LATIN_WORD_RE, latin_key

__all__ = ["Leak", "LeakDetectedError", "LeakGuard", "document_strings", "unit_numbers"]

_CYR_WORD_RE = re.compile(r"[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)*")
_DIGITS_RE = re.compile(r"\+?\d[\d\s().\-\u2010-\u2015]*\d")
# An identifier written as hex (a SHA-1 or SHA-256 entity id, a UUID's hex): its digit
# runs are not numbers, and one that happens to read as a unit number ("…a58216f…") must
# not refuse the export. At least one letter a-f, so a long run of plain digits is still
# scanned.
_HEX_ID_RE = re.compile(r"\b(?=[0-9a-f]*[a-f])[0-9a-f]{32,}\b")
_SKIP_KEYS = frozenset({"warning", "format", "sha256", "original_sha256"})


@dataclass(frozen=True)
class Leak:
    """A protected term found in an export: what (the word as written) and where."""

    location: str
    found: str
    category: str
    kind: str

    def __str__(self) -> str:
        return f"{self.location}: {self.found!r} ({self.category}, {self.kind})"


class LeakGuard:
    """Scans strings for every protected term of a case."""

    def __init__(
        self,
        people: Sequence[ProtectedPerson],
        phones: Iterable[str] = (),
        units: Iterable[str] = (),
    ) -> None:
        self.index = TermIndex()
        # Unit numbers are matched as whole numbers (a 5-digit unit inside a longer
        # number is something else), written in digits or spoken.
        self._units = {d for u in units if len(d := re.sub(r"\D", "", u)) >= 4}
        for person in people:
            self.index.add_person(person)
        for phone in phones:
            for key in phone_digit_keys(phone):
                self.index.add_digits(key, Term("phone", source="phone"))
        self._digit_keys = sorted(
            ((k, t) for k, t in self.index.digits.items() if len(k) >= 7),
            key=lambda kt: -len(kt[0]),
        )

    @classmethod
    def for_case(cls, session: Session) -> LeakGuard:
        from .terms import protected_people

        return cls(protected_people(session), all_phone_numbers(session), unit_numbers(session))

    def scan_text(self, location: str, text: str) -> list[Leak]:
        leaks: list[Leak] = []
        text = _HEX_ID_RE.sub(" ", text)
        for m in _CYR_WORD_RE.finditer(text):
            term = self.index.words.get(fold(m.group(0)))
            if term is not None:
                leaks.append(Leak(location, m.group(0), term.category, term.source))
        for m in LATIN_WORD_RE.finditer(text):
            for word in (m.group(0), *re.split(r"['’\u02B9-]", m.group(0))):
                term = self.index.latin.get(latin_key(word))
                if term is not None:
                    leaks.append(Leak(location, m.group(0), term.category, term.source))
                    break
        runs = [re.sub(r"\D", "", m.group(0)) for m in _DIGITS_RE.finditer(text)]
        spoken = "".join(n.digits for n in spoken_numbers(text) if not n.ordinal)
        english = [r.digits for r in english_number_runs(text, min_digits=4)]
        for unit in sorted(self._units):
            if unit in runs or unit in spoken or unit in english:
                leaks.append(Leak(location, unit, "unit", "unit number"))
        for digits in [*runs, spoken, *english]:
            for key, term in self._digit_keys:
                if key in digits:
                    leaks.append(Leak(location, key, term.category, "digits"))
                    break
        return leaks

    def scan(self, items: Iterable[tuple[str, str]]) -> list[Leak]:
        """Leaks in (location, text) pairs."""
        return [leak for location, text in items for leak in self.scan_text(location, text)]

    def check(self, items: Iterable[tuple[str, str]], what: str) -> None:
        """Raise :class:`LeakDetectedError` if any protected term is in `items`."""
        leaks = self.scan(items)
        if leaks:
            raise LeakDetectedError(leaks, what)


def unit_numbers(session: Session) -> list[str]:
    """Every military unit number the entity extractor found in the case's transcripts."""
    from sqlalchemy import select

    from earshot.store.language_models import SegmentEntity

    rows = session.scalars(
        select(SegmentEntity.value).where(SegmentEntity.kind == "UNIT").distinct()
    )
    return sorted({v for v in rows if v})


def document_strings(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """Every string of a JSON-like document with its path (``$.calls[0].segments[3].text``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in _SKIP_KEYS:
                yield from document_strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from document_strings(item, f"{path}[{i}]")
