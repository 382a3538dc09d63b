"""Literal strings a regex cannot match without: a cheap test before running it.

The lexicon and the themes hold dozens of regexes (codes such as «200-х», loss statements
such as «из роты осталось семеро»); running each over every segment cost more than the
rest of the slang and theme matching together. :func:`needles` reads a pattern's syntax
tree and returns a set of lower-case strings of which every match must contain at least
one («позици», or {«остал», «живых», «выжил», «вернул»}); a segment holding none of them is
skipped without running the regex. When no such set can be proved the answer is ``None``
and the regex always runs, so the filter never loses a match.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

# The stdlib's own regex parser (Python 3.11: re._parser / re._constants; untyped).
_p: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

__all__ = ["MIN_NEEDLE", "NeedleScan", "needles"]

MIN_NEEDLE = 3  # shorter literals ("на", "из") are in nearly every segment: no use

Need = frozenset[str] | None


def _best(options: list[frozenset[str]]) -> Need:
    """The most selective requirement: fewest alternatives, then the longest shortest one."""
    if not options:
        return None
    return min(options, key=lambda s: (len(s), -min(len(x) for x in s)))


def _sequence(items: Any) -> Need:
    options: list[frozenset[str]] = []
    run: list[str] = []

    def close() -> None:
        if len(run) >= MIN_NEEDLE:
            options.append(frozenset({"".join(run)}))
        run.clear()

    for op, arg in items:
        if op is _c.LITERAL:
            run.append(chr(arg).lower())
            continue
        close()
        if op is _c.SUBPATTERN:
            inner = _sequence(arg[-1])
            if inner:
                options.append(inner)
        elif op is _c.BRANCH:
            branches = [_sequence(b) for b in arg[1]]
            if branches and all(branches):
                options.append(frozenset().union(*(b for b in branches if b)))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            low, _high, inner_items = arg
            if low >= 1:
                inner = _sequence(inner_items)
                if inner:
                    options.append(inner)
    close()
    return _best(options)


def needles(pattern: str) -> Need:
    """Lower-case strings one of which every match of `pattern` contains, or None."""
    try:
        tree = _p.parse(pattern, re.IGNORECASE)
    except re.error:
        return None
    found = _sequence(list(tree))
    if found is None or any(len(n) < MIN_NEEDLE for n in found):
        return None
    return found


class NeedleScan:
    """Which of many needles a text holds, in one regex pass instead of one test each."""

    def __init__(self, needle_sets: list[frozenset[str] | None]) -> None:
        every = sorted({n for s in needle_sets if s for n in s}, key=lambda n: (-len(n), n))
        # A needle found also means every needle inside it is there («позиция» ⊃ «позици»).
        self._implied = {n: frozenset(m for m in every if m in n) for n in every}
        alternation = "|".join(re.escape(n) for n in every)
        self._regex = re.compile(f"(?=({alternation}))") if every else None

    def present(self, lowered: str) -> frozenset[str]:
        if self._regex is None:
            return frozenset()
        found: set[str] = set()
        for match in self._regex.finditer(lowered):
            found |= self._implied[match.group(1)]
        return frozenset(found)
