"""Index tokens: what a word becomes in the search index, for Russian and English.

Russian inflects every word, so the index holds lemmas, not surfaces: a Cyrillic
word is stored as *every* lemma pymorphy3 proposes for it (so any inflection of any
reading finds it), folded (ё → е). English translation text is stored as Snowball
stems. Digits stay as they are. Query words go through the very same functions, so
a query word matches a text word exactly when their key sets meet; the index
and the Python verifier (phrases, highlights) can therefore never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Literal

import snowballstemmer  # type: ignore[import-untyped,unused-ignore]

from ..language.morph import TOKEN_RE, fold, lemmas, tokens

__all__ = [
    "COLUMNS",
    "Column",
    "DocParts",
    "TokenKeys",
    "column_keys",
    "doc_parts",
    "index_text",
    "pair_terms",
    "signature_keys",
    "text_keys",
    "word_keys",
    "word_signature",
]

Column = Literal["ru", "en"]
COLUMNS: tuple[Column, Column] = ("ru", "en")

_STEMMER = snowballstemmer.stemmer("english")


def _script(word: str) -> str:
    first = word[0]
    if first.isdigit():
        return "digit"
    if "a" <= first.lower() <= "z":
        return "latin"
    return "cyrillic"


@lru_cache(maxsize=200_000)
def column_keys(word: str, column: Column) -> tuple[str, ...]:
    """The index keys of one word (a token from :func:`earshot.language.morph.tokens`) in `column`.

    Russian column: Cyrillic → all lemmas, Latin and digits → folded surface.
    English column: Latin → Snowball stem, digits → surface, Cyrillic → all lemmas.
    """
    script = _script(word)
    if script == "cyrillic":
        return lemmas(word)
    folded = fold(word)
    if script == "latin" and column == "en":
        return tuple(dict.fromkeys(_STEMMER.stemWord(part) for part in (folded,)))
    return (folded,)


def word_keys(word: str) -> dict[Column, tuple[str, ...]]:
    """The keys a query word looks for, per column."""
    return {column: column_keys(word, column) for column in COLUMNS}


@dataclass(frozen=True)
class TokenKeys:
    """One word of a text: its character span and its keys in one column."""

    start: int
    end: int
    keys: tuple[str, ...]


def text_keys(text: str, column: Column) -> list[TokenKeys]:
    """Every word of `text` with its span and its keys in `column`, in order."""
    return [TokenKeys(s, e, column_keys(w, column)) for s, e, w in tokens(text)]


_JOINED: dict[Column, dict[str, str]] = {"ru": {}, "en": {}}
_JOINED_MAX = 500_000


def _joined(word: str, column: Column) -> str:
    joined = " ".join(column_keys(word, column))
    cache = _JOINED[column]
    if len(cache) < _JOINED_MAX:
        cache[word] = joined
    return joined


def index_text(text: str, column: Column) -> str:
    """The space-separated index tokens of `text` in `column` (the bulk path: a plain
    dict lookup per word once the vocabulary has been seen)."""
    cache = _JOINED[column]
    return " ".join([cache.get(w) or _joined(w, column) for w in TOKEN_RE.findall(text)])


def word_signature(keys: tuple[str, ...]) -> str:
    """One token standing for a word in the pair columns: its keys, sorted, joined by ``_``.

    A phrase query word matches every signature that holds one of its keys (found through
    the index's ``*_sig`` terms), so phrases keep the any-reading semantics of single words.
    """
    return keys[0] if len(keys) == 1 else "_".join(sorted(keys))


_DOC: dict[Column, dict[str, tuple[str, str, str]]] = {"ru": {}, "en": {}}


def _doc_part(word: str, column: Column) -> tuple[str, str, str]:
    keys = column_keys(word, column)
    signature = word_signature(keys)
    terms = " ".join(f"{k}>{signature}" for k in keys) if len(keys) > 1 else ""
    part = (" ".join(keys), signature, terms)
    cache = _DOC[column]
    if len(cache) < _JOINED_MAX:
        cache[word] = part
    return part


PAIR_JOIN = "|"  # never in a key (see TOKEN_RE): joins two signatures into a pair term


def pair_terms(signatures: list[str] | tuple[str, ...]) -> list[str]:
    """The pair terms of consecutive word signatures (``a|b``, ``b|c``, ...): the
    ``*_pair`` columns. A two-word phrase is then one term, and a longer one a phrase of
    pairs, whose postings are far shorter than its words' (Elasticsearch's
    ``index_phrases`` idea)."""
    return list(map(PAIR_JOIN.join, pairwise(signatures)))


@dataclass(frozen=True)
class DocParts:
    """`text` as the index document wants it in one column (:func:`doc_parts`)."""

    keys: str  #: every lemma key of every word, space-separated (the scored terms)
    pairs: str  #: the pair terms of consecutive word signatures
    ambiguous: str  #: a ``key>signature`` term for each key of an ambiguous word
    signatures: str  #: one signature per word, in order (stored: what hits highlight by)


_NO_PARTS = DocParts("", "", "", "")


def doc_parts(text: str, column: Column) -> DocParts:
    """`text` as the index document wants it in `column` (see :class:`DocParts` and
    :mod:`earshot.search.tindex`). One dict lookup per word once its word was seen."""
    if not text:
        return _NO_PARTS
    cache = _DOC[column]
    parts = [cache.get(w) or _doc_part(w, column) for w in TOKEN_RE.findall(text)]
    if not parts:
        return _NO_PARTS
    keys, signatures, terms = zip(*parts, strict=True)
    return DocParts(
        " ".join(keys),
        " ".join(pair_terms(signatures)),
        " ".join(filter(None, terms)),
        " ".join(signatures),
    )


def signature_keys(signature: str) -> tuple[str, ...]:
    """The keys a stored word signature stands for (:func:`word_signature` undone: no
    key holds ``_``, which :data:`earshot.language.morph.TOKEN_RE` never matches)."""
    return tuple(signature.split("_"))
