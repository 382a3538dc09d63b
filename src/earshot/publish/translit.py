"""Russian names as an English translator writes them, and a key that matches them all.

A translation says "Andryushenka", "Olyushka", "Alekseyevich"; another translator
writes "Andriushenka" or "Alekseevich". We transliterate every form of a protected
name with several of iuliia's standard schemas (Wikipedia, BGN/PCGN, passport
ICAO, GOST 52535, scientific) and compare words by a *key* that folds the
differences between schemas (ya/ia/ja, yu/iu, kh/h, ts/c, doubled letters...), so
one protected form catches every common spelling.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import iuliia

__all__ = ["LATIN_WORD_RE", "latin_key", "latin_keys_of", "transliterations"]

_SCHEMAS = (
    iuliia.WIKIPEDIA,
    iuliia.BGN_PCGN,
    iuliia.ICAO_DOC_9303,
    iuliia.GOST_52535,
    iuliia.SCIENTIFIC,
    iuliia.MOSMETRO,
)
# Latin words with inner hyphens and apostrophes (soft signs written as ').
LATIN_WORD_RE = re.compile(r"[A-Za-z\u00C0-\u024F]+(?:['\u2019\u02B9-][A-Za-z\u00C0-\u024F]+)*")
_FOLDS = (
    ("shch", "s"),
    ("sch", "s"),
    ("zh", "j"),
    ("kh", "h"),
    ("tch", "c"),
    ("ts", "c"),
    ("tz", "c"),
    ("ch", "c"),
    ("sh", "s"),
    ("ks", "x"),
    ("yo", "e"),
    ("io", "e"),
    ("ye", "e"),
    ("ie", "e"),
    ("je", "e"),
    ("yu", "u"),
    ("iu", "u"),
    ("ju", "u"),
    ("ya", "a"),
    ("ia", "a"),
    ("ja", "a"),
    ("w", "v"),
    ("y", "i"),
    ("j", "i"),
)


@lru_cache(maxsize=100_000)
def latin_key(word: str) -> str:
    """A spelling-insensitive key of a Latin word ("Andryusha" and "Andriusha" agree)."""
    text = unicodedata.normalize("NFKD", word.lower())
    text = "".join(c for c in text if c.isascii() and c.isalpha())
    for old, new in _FOLDS:
        text = text.replace(old, new)
    return re.sub(r"(.)\1+", r"\1", text)


@cache
def transliterations(word: str) -> frozenset[str]:
    """`word` written in Latin letters by each schema (Cyrillic only; others as given)."""
    if word.isascii():
        return frozenset({word})
    return frozenset(schema.translate(word) for schema in _SCHEMAS)


def latin_keys_of(word: str) -> frozenset[str]:
    """Keys of every transliteration of a Cyrillic word (one per distinct spelling)."""
    return frozenset(latin_key(t) for t in transliterations(word)) - {""}
