"""Surface-form tables for the slang lexicon, generated once by morphology.

Soldiers do not say the dictionary form the lexicon lists: they say «ПВОшники»,
«ФПВ-шку», «РЭБа», «артилерия» (soft sign dropped), «Джавелин» for «Javelin». Lemma
matching (see :mod:`earshot.language.slang`) already covers the regular inflections
pymorphy3 knows; this module adds what lemmas cannot reach, computed **once per
lexicon** so that matching stays one dictionary lookup per token:

* every inflection of every lexicon word (pymorphy3's lexeme of each parse whose lemma is
  the word: nouns in all cases, adjectives, and for verbs their participles and gerunds);
* spellings with the soft sign dropped (a common typing/ASR slip);
* abbreviations (a lexicon word in capitals: ПВО, ФПВ, ДРГ, БК) with case endings and the
  suffixes soldiers put on them (-шник, -шка, -ка, -щик, -шный), with or without a hyphen.

:func:`surface_table` maps a folded surface to the lexicon keys it stands for; the matcher
adds those keys to a token's own lemmas.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from earshot.language.lexicon import GAP, SlangLexicon, phrase_parts
from earshot.language.morph import analyzer, fold, paradigm

__all__ = [
    "ABBREVIATION_ENDINGS",
    "abbreviation_forms",
    "is_abbreviation",
    "surface_table",
    "word_forms",
]

_NOUN_ENDINGS = ("", "а", "у", "ом", "е", "ы", "и", "ов", "ам", "ами", "ах", "ой", "ом")
_NIK = ("", "а", "у", "ом", "е", "и", "ов", "ам", "ами", "ах")
_KA = ("а", "и", "у", "ой", "е", "ек", "ам", "ами", "ах", "ою")
_ADJ = ("ый", "ая", "ое", "ые", "ого", "ой", "ому", "ым", "ых", "ыми", "ую", "ий", "ие", "их")

# Endings and suffixes after an abbreviation; each is tried with and without a hyphen.
ABBREVIATION_ENDINGS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *_NOUN_ENDINGS,
            *(f"шник{e}" for e in _NIK),
            *(f"щик{e}" for e in _NIK),
            *(f"овец{e}" for e in ("", "")),
            *(f"овц{e}" for e in ("а", "у", "ем", "е", "ы", "ев", "ам", "ами", "ах")),
            *(f"шк{e}" for e in _KA),
            *(f"к{e}" for e in _KA),
            *(f"шн{e}" for e in _ADJ),
            *(f"ов{e}" for e in _ADJ if e[0] in "ыао"),
        )
    )
)


def is_abbreviation(word: str) -> bool:
    """A lexicon word written in capitals (ПВО, ФПВ, РЭБ): it takes suffixes, not a paradigm."""
    letters = word.replace("-", "")
    return 2 <= len(letters) <= 6 and letters.isalpha() and letters.isupper()


def abbreviation_forms(word: str) -> set[str]:
    """Folded spellings of an abbreviation with endings and suffixes («пвошники», «фпв-шку»)."""
    stem = fold(word).replace("-", "")
    out = {stem}
    known = analyzer().word_is_known
    for ending in ABBREVIATION_ENDINGS:
        if not ending:
            continue
        glued = stem + ending
        if not known(glued):  # «СВО» + «и» is «свои»: never a form of the abbreviation
            out.add(glued)
        out.add(f"{stem}-{ending}")
    return out


@lru_cache(maxsize=20_000)
def word_forms(word: str) -> frozenset[str]:
    """Folded surfaces of a lexicon word: its paradigm(s), ё/е, soft-sign-dropped spellings."""
    if is_abbreviation(word):
        return frozenset(abbreviation_forms(word))
    out = set(paradigm(word))
    for surface in list(out):
        if "ь" in surface[1:] and len(surface) > 4:
            dropped = surface[0] + surface[1:].replace("ь", "")
            if not analyzer().word_is_known(dropped):  # «полька» is not a slip for «полка»
                out.add(dropped)
    return frozenset(out)


def surface_table(
    lexicon: SlangLexicon, extra_words: Iterable[str] = ()
) -> dict[str, frozenset[str]]:
    """Folded surface -> the lexicon words (folded) it is a form of, for every lexicon word.

    A surface equal to its own key is left out (lemma matching already finds it).
    """
    table: dict[str, set[str]] = {}
    words: dict[str, None] = {}
    for entry in lexicon.entries:
        for form in entry.forms:
            for part in phrase_parts(form):
                if part != GAP:
                    words.setdefault(part, None)
    for word in extra_words:
        words.setdefault(word, None)
    for word in words:
        key = fold(word)
        for surface in word_forms(word):
            if surface != key:
                table.setdefault(surface, set()).add(key)
    return {surface: frozenset(keys) for surface, keys in table.items()}
