"""Spoken Russian numbers to digits, and phone numbers found in text.

Callers dictate phone numbers the Russian way, in groups ("восемь девятьсот
пятнадцать сто двадцать три сорок пять шестьдесят семь"), mix digits and words
when an ASR engine transcribes them, and inflect ordinals ("двенадцатого").
We evaluated ``number-parser`` (the maintained multilingual parser with Russian):
it reads nominative cardinals only, no ordinals or oblique cases, and gives no
character spans, so this module keeps a compact parser on top of pymorphy3
lemmas instead. Group composition follows how numbers are said: a word joins the
current group only when it fills a smaller slot (hundreds > tens > units), so a
dictated phone number splits into its groups and "сто двадцать три" stays 123.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from earshot.language.morph import fold, lemmas
from earshot.phones import normalize_phone

__all__ = [
    "PhoneMention",
    "SpokenNumber",
    "find_phones",
    "number_word",
    "parse_number",
    "spoken_digits",
    "spoken_numbers",
]

_UNITS = ["ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"]
_TEENS = [
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
]
_TENS = ["двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят"]
_TENS += ["девяносто"]
_HUNDREDS = ["сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот"]
_HUNDREDS += ["восемьсот", "девятьсот"]
_UNIT_ORD = ["нулевой", "первый", "второй", "третий", "четвертый", "пятый", "шестой", "седьмой"]
_UNIT_ORD += ["восьмой", "девятый"]
_TEEN_ORD = [
    "десятый",
    "одиннадцатый",
    "двенадцатый",
    "тринадцатый",
    "четырнадцатый",
    "пятнадцатый",
    "шестнадцатый",
    "семнадцатый",
    "восемнадцатый",
    "девятнадцатый",
]
_TENS_ORD = ["двадцатый", "тридцатый", "сороковой", "пятидесятый", "шестидесятый"]
_TENS_ORD += ["семидесятый", "восьмидесятый", "девяностый"]
_HUNDREDS_ORD = ["сотый", "двухсотый", "трехсотый", "четырехсотый", "пятисотый", "шестисотый"]
_HUNDREDS_ORD += ["семисотый", "восьмисотый", "девятисотый"]

# Slots: 0 "ноль" (a digit of its own), 1 units, 2 tens, 3 hundreds, 4+ multipliers.
_WORDS: dict[str, tuple[int, int, bool]] = {}
for _i, _w in enumerate(_UNITS):
    _WORDS[_w] = (_i, 0 if _i == 0 else 1, False)
_WORDS["нуль"] = (0, 0, False)
for _i, _w in enumerate(_TEENS):
    _WORDS[_w] = (10 + _i, 2, False)
for _i, _w in enumerate(_TENS):
    _WORDS[_w] = (20 + 10 * _i, 2, False)
for _i, _w in enumerate(_HUNDREDS):
    _WORDS[_w] = (100 * (_i + 1), 3, False)
for _i, _w in enumerate(_UNIT_ORD):
    _WORDS[_w] = (_i, 0 if _i == 0 else 1, True)
for _i, _w in enumerate(_TEEN_ORD):
    _WORDS[_w] = (10 + _i, 2, True)
for _i, _w in enumerate(_TENS_ORD):
    _WORDS[_w] = (20 + 10 * _i, 2, True)
for _i, _w in enumerate(_HUNDREDS_ORD):
    _WORDS[_w] = (100 * (_i + 1), 3, True)
_WORDS["тысяча"] = (1000, 4, False)
_WORDS["тысячный"] = (1000, 4, True)
_WORDS["двухтысячный"] = (2000, 4, True)
_WORDS["миллион"] = (1_000_000, 7, False)
_WORDS["миллионный"] = (1_000_000, 7, True)
_TEEN_VALUES = range(10, 20)

_TOKEN_RE = re.compile(r"\+|\d+|[а-яёa-z]+", re.IGNORECASE)
# What may stand between the tokens of one dictated number.
_GAP_RE = re.compile(r"[\s,\-\u2010-\u2015().]*")
_PLUS_WORDS = {"плюс", "+"}


@dataclass(frozen=True)
class SpokenNumber:
    """One number said in words and/or digits, with its character span."""

    start: int
    end: int
    value: int
    ordinal: bool
    digits: str  # as it would be written: a digit token keeps its leading zeros


@dataclass(frozen=True)
class PhoneMention:
    """A phone number found in text, written or dictated."""

    start: int
    end: int
    text: str
    e164: str


def number_word(word: str) -> tuple[int, int, bool] | None:
    """(value, slot, is_ordinal) of a Russian number word in any case, else None."""
    folded = fold(word)
    hit = _WORDS.get(folded)
    if hit is not None:
        return hit
    if not folded.isalpha():
        return None
    for lemma in lemmas(folded):
        hit = _WORDS.get(lemma)
        if hit is not None:
            return hit
    return None


class _Group:
    """A number being read word by word (hundreds, tens, units, multipliers)."""

    def __init__(self) -> None:
        self.total = 0  # the part already multiplied (тысяча, миллион)
        self.current = 0  # the part below the last multiplier
        self.min_slot = 99  # the smallest slot filled since the last multiplier
        self.top_mult = 99  # the smallest multiplier slot used so far
        self.closed = False
        self.words = 0
        self.start = 0
        self.end = 0
        self.ordinal = False
        self.literal: str | None = None

    def accepts(self, value: int, slot: int) -> bool:
        if self.closed or self.literal is not None or self.words == 0:
            return self.words == 0
        if slot >= 4:
            return slot < self.top_mult and self.current > 0
        if slot == 0 or self.min_slot <= 1:
            return False
        return slot < self.min_slot and not (value in _TEEN_VALUES and self.min_slot <= 2)

    def add(self, value: int, slot: int, ordinal: bool, start: int, end: int) -> None:
        if self.words == 0:
            self.start = start
        self.words += 1
        self.end = end
        if slot >= 4:
            self.total += (self.current or 1) * value
            self.current = 0
            self.top_mult = slot
            self.min_slot = slot
        else:
            self.current += value
            self.min_slot = 1 if value in _TEEN_VALUES else slot
        if slot == 0:
            self.closed = True
        if ordinal:
            self.ordinal = True
            self.closed = True

    @property
    def value(self) -> int:
        return int(self.literal) if self.literal is not None else self.total + self.current

    def finish(self) -> SpokenNumber:
        digits = self.literal if self.literal is not None else str(self.value)
        return SpokenNumber(self.start, self.end, self.value, self.ordinal, digits)


def _number_tokens(text: str) -> list[tuple[int, int, str, tuple[int, int, bool] | None]]:
    """Tokens with their number reading; digits read as (value, -1, False)."""
    out: list[tuple[int, int, str, tuple[int, int, bool] | None]] = []
    for match in _TOKEN_RE.finditer(text):
        word = match.group(0)
        reading: tuple[int, int, bool] | None
        if word.isdigit():
            reading = (int(word), -1, False)
        elif word == "+":
            reading = None
        else:
            reading = number_word(word)
        out.append((match.start(), match.end(), word, reading))
    return out


def _groups(
    text: str, tokens: list[tuple[int, int, str, tuple[int, int, bool] | None]]
) -> list[SpokenNumber]:
    numbers: list[SpokenNumber] = []
    group = _Group()
    previous_end: int | None = None
    for start, end, word, reading in tokens:
        adjacent = previous_end is not None and _GAP_RE.fullmatch(text, previous_end, start)
        if reading is None or not adjacent:
            if group.words:
                numbers.append(group.finish())
            group = _Group()
        if reading is None:
            previous_end = None
            continue
        value, slot, ordinal = reading
        if slot == -1:  # a digit group stands alone
            if group.words:
                numbers.append(group.finish())
            group = _Group()
            group.add(value, 3, False, start, end)
            group.literal = word
            group.closed = True
        else:
            if not group.accepts(value, slot):
                numbers.append(group.finish())
                group = _Group()
            group.add(value, slot, ordinal, start, end)
        previous_end = end
    if group.words:
        numbers.append(group.finish())
    return numbers


def spoken_numbers(text: str) -> list[SpokenNumber]:
    """Every number in `text`, words composed the way they are said ("сто двадцать три")."""
    return _groups(text, _number_tokens(text))


def parse_number(text: str) -> int | None:
    """The value of `text` when it is exactly one number ("двухсотый" -> 200), else None."""
    found = spoken_numbers(text)
    if len(found) != 1:
        return None
    only = found[0]
    if text[: only.start].strip() or text[only.end :].strip(" .,!?"):
        return None
    return only.value


def spoken_digits(text: str) -> str:
    """The digits of a dictated number read group after group ("восемь девятьсот ..." -> "8900...").

    A leading "плюс"/"+" is kept as "+".
    """
    tokens = _number_tokens(text)
    plus = "+" if tokens and fold(tokens[0][2]) in _PLUS_WORDS else ""
    return plus + "".join(number.digits for number in _groups(text, tokens))


def _runs(text: str, numbers: list[SpokenNumber]) -> list[list[SpokenNumber]]:
    """Numbers that follow each other with only spaces or punctuation between."""
    runs: list[list[SpokenNumber]] = []
    for number in numbers:
        if runs and _GAP_RE.fullmatch(text, runs[-1][-1].end, number.start):
            runs[-1].append(number)
        else:
            runs.append([number])
    return runs


def _plus_before(text: str, start: int) -> int | None:
    """Start of a "плюс"/"+" right before `start`, if there is one."""
    match = re.search(r"(?:\+|\bплюс)[\s\-]*$", text[:start], re.IGNORECASE)
    return match.start() if match else None


def _as_phone(digits: str, plus: bool, region: str) -> str | None:
    if not 10 <= len(digits) <= 15:
        return None
    if not plus and region.upper() == "RU" and len(digits) == 11 and digits[0] not in "78":
        return None
    try:
        return normalize_phone(("+" if plus else "") + digits, region)
    except ValueError:
        return None


def find_phones(text: str, region: str = "RU") -> list[PhoneMention]:
    """Phone numbers in `text`, written in any format or dictated in words, with spans.

    Within a run of adjacent numbers the longest stretch that libphonenumber
    accepts wins, so a date or unit number next to a phone number stays apart.
    """
    found: list[PhoneMention] = []
    for run in _runs(text, spoken_numbers(text)):
        i = 0
        while i < len(run):
            hit: tuple[int, str, int] | None = None
            for j in range(len(run), i, -1):
                if any(n.ordinal for n in run[i:j]):
                    continue
                digits = "".join(n.digits for n in run[i:j])
                if len(digits) < 10:
                    break
                plus_start = _plus_before(text, run[i].start) if i == 0 else None
                e164 = _as_phone(digits, plus_start is not None, region)
                if e164 is None and plus_start is None:
                    continue
                if e164 is None:
                    e164 = _as_phone(digits, False, region)
                    plus_start = None
                if e164 is not None:
                    start = plus_start if plus_start is not None else run[i].start
                    hit = (j, e164, start)
                    break
            if hit is None:
                i += 1
                continue
            j, e164, start = hit
            end = run[j - 1].end
            found.append(PhoneMention(start, end, text[start:end], e164))
            i = j
    return found
