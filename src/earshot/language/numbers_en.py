"""Numbers spoken in English words, with their place in the text ("nine one six, double five").

Why: translations are English, and a translator writes a dictated phone number or a unit
number the way it was said ("plus seven, nine one six, five five five, twelve thirty-four").
The leak guard and the redactor must see those digits as surely as written ones.

Runs of number words are found here (with offsets, so they can be redacted) and each run
is turned into digits by ``text2num`` (``alpha2digit``, the maintained English number
parser); telephone habits it does not know ("oh" for zero, "double five", "triple
seven") are handled around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from text_to_num import alpha2digit

__all__ = ["EnglishNumberRun", "english_number_runs"]

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred", "thousand"}
_ZERO = {"oh", "o", "nought", "naught"}
_REPEAT = {"double": 2, "triple": 3}
_TOKEN_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*|\d+")
_GAP_RE = re.compile(r"[\s,.;:\-\u2010-\u2015()/]*")


@dataclass(frozen=True)
class EnglishNumberRun:
    """One run of number words (and digits) between `start` and `end`, as digits."""

    start: int
    end: int
    text: str
    digits: str


def _kind(token: str) -> str | None:
    word = token.lower()
    if word.isdigit():
        return "digits"
    parts = word.split("-")
    if all(p in _SMALL for p in parts):
        return "number"
    if word in _SCALES:
        return "scale"
    if word in _ZERO:
        return "zero"
    if word in _REPEAT:
        return "repeat"
    return None


def _to_digits(tokens: list[str]) -> str:
    """Digits of one run, left to right ("twelve thirty-four" -> "1234")."""
    words: list[str] = []
    for token in tokens:
        kind = _kind(token)
        words.append("zero" if kind == "zero" else token.lower())
    converted = alpha2digit(" ".join(words), "en")
    # alpha2digit leaves a lone small number as a word ("one"): map what is left.
    converted = re.sub(
        r"[a-z]+(?:-[a-z]+)*",
        lambda m: (
            str(sum(_SMALL[p] for p in m.group(0).split("-")))
            if all(p in _SMALL for p in m.group(0).split("-"))
            else m.group(0)
        ),
        converted,
    )
    converted = re.sub(
        r"\b(double|triple)\s+(\d)",
        lambda m: m.group(2) * _REPEAT[m.group(1)],
        converted,
    )
    return re.sub(r"\D", "", converted)


def english_number_runs(text: str, min_digits: int = 1) -> list[EnglishNumberRun]:
    """Every run of English number words in `text`, with at least `min_digits` digits.

    A run is number words, digits, "oh" and "double"/"triple" separated only by spaces
    and punctuation; it holds at least one number word (a bare "oh" or digits alone are
    not a spoken number).
    """
    runs: list[EnglishNumberRun] = []
    current: list[re.Match[str]] = []

    def close() -> None:
        while current and _kind(current[-1].group(0)) in {"repeat", "zero"}:
            if _kind(current[-1].group(0)) == "zero" and len(current) > 1:
                break  # "... five oh" ends in a zero
            current.pop()
        if any(_kind(m.group(0)) in {"number", "scale"} for m in current):
            start, end = current[0].start(), current[-1].end()
            digits = _to_digits([m.group(0) for m in current])
            if len(digits) >= min_digits:
                runs.append(EnglishNumberRun(start, end, text[start:end], digits))
        current.clear()

    for match in _TOKEN_RE.finditer(text):
        kind = _kind(match.group(0))
        if match.group(0).lower() == "o" and text[match.end() : match.end() + 1] in {"'", "’"}:
            kind = None  # o'clock
        joined = bool(current) and _GAP_RE.fullmatch(text[current[-1].end() : match.start()])
        if kind is None or (current and not joined):
            close()
        if kind is not None:
            current.append(match)
    close()
    return runs
