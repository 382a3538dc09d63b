"""Shared Russian morphology: one pymorphy3 analyzer per process, ё folded to е.

Loading the dictionaries takes a moment and a few tens of MB, so every language
module goes through :func:`analyzer` instead of building its own.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pymorphy3

__all__ = ["TOKEN_RE", "analyzer", "fold", "lemma", "lemmas", "paradigm", "tokens"]

# Words (Cyrillic or Latin, with inner hyphens) and digit groups ("200-е" stays one token).
TOKEN_RE = re.compile(r"[0-9]+(?:-[а-яёa-z]+)?|[а-яёa-z]+(?:-[а-яёa-z]+)*", re.IGNORECASE)


@cache
def analyzer() -> pymorphy3.MorphAnalyzer:
    """The process-wide analyzer (loaded on first use)."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def fold(text: str) -> str:
    """Lower-case and fold ё to е, the way Russian is commonly typed."""
    return text.lower().replace("ё", "е")


def tokens(text: str) -> list[tuple[int, int, str]]:
    """Tokens of `text` as (start, end, surface) character spans."""
    return [(m.start(), m.end(), m.group(0)) for m in TOKEN_RE.finditer(text)]


@lru_cache(maxsize=200_000)
def lemmas(word: str) -> tuple[str, ...]:
    """Every dictionary lemma pymorphy3 proposes for `word` (folded), best first."""
    folded = fold(word)
    if not folded or not folded[0].isalpha():
        return (folded,)
    seen: dict[str, None] = {}
    for parse in analyzer().parse(folded):
        seen.setdefault(fold(parse.normal_form), None)
    return tuple(seen) or (folded,)


def lemma(word: str) -> str:
    """The most likely lemma of `word` (folded)."""
    return lemmas(word)[0]


_VERBAL = frozenset({"VERB", "INFN", "PRTF", "PRTS", "GRND"})


@lru_cache(maxsize=50_000)
def paradigm(word: str) -> frozenset[str]:
    """Folded surfaces of `word`'s own paradigm(s): every parse whose lemma is `word`.

    A generated surface that the dictionary knows only as a form of *another* word is left
    out: the guessed plural genitive of unknown «промка» is «промок», which is the past tense
    of «промокнуть» (a verb form), and must not make «спальник промок» a place name.
    """
    folded = fold(word)
    out = {folded}
    if not folded[:1].isalpha():
        return frozenset(out)
    morph = analyzer()
    for parse in morph.parse(folded):
        if fold(parse.normal_form) != folded:
            continue
        for form in parse.lexeme:
            surface = fold(form.word)
            if surface in out:
                continue
            others = morph.parse(surface) if morph.word_is_known(surface) else []
            if others and all(
                fold(o.normal_form) != folded and o.tag.POS in _VERBAL for o in others
            ):
                continue
            out.add(surface)
    return frozenset(out)
