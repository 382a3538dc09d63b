"""The spans to highlight in a hit, found in Python with the index's own keys.

Uses the same keys as the index (:mod:`.text`), so it marks exactly the words and
phrases the index matched. A :class:`Highlighter` is made once per query (the query's
words become key sets once) and then marks each hit of the page: a word of the hit is
looked up once per page, not once per query word.

A hit read from the index comes with each word's signature as indexed (``ru_words`` /
``en_words``, :mod:`.tindex`): its keys are read from there, so showing a page
lemmatises nothing. Lemmatising is slow while a process's caches are cold (pymorphy3:
0.1–0.2 ms a new word, 20 hits of 15 words each), which is every page a fresh web
worker shows. A text without signatures, or whose word count does not match them,
is lemmatised as before.
"""

from __future__ import annotations

from ..language.morph import TOKEN_RE
from .query import And, Node, Or, Phrase, Term
from .text import COLUMNS, Column, column_keys, signature_keys, word_keys

__all__ = ["Highlighter"]

Spans = list[tuple[int, int]]
_Info = tuple[bool, tuple[int, ...]]


def _positive(node: Node) -> list[Term | Phrase]:
    if isinstance(node, Term | Phrase):
        return [node]
    if isinstance(node, And | Or):
        return [leaf for item in node.items for leaf in _positive(item)]
    return []


class _ColumnMarks:
    """The query's positive words and phrases as key sets, for one column."""

    def __init__(self, leaves: list[Term | Phrase], column: Column) -> None:
        self.column = column
        self.words: frozenset[str] = frozenset(
            k for leaf in leaves if isinstance(leaf, Term) for k in word_keys(leaf.word)[column]
        )
        self.phrases: list[list[frozenset[str]]] = [
            [frozenset(word_keys(w)[column]) for w in leaf.words]
            for leaf in leaves
            if isinstance(leaf, Phrase)
        ]
        # per phrase: key -> bit j set when a word with that key may be the phrase's word j
        self._bits: list[dict[str, int]] = []
        for phrase in self.phrases:
            bits: dict[str, int] = {}
            for j, wanted in enumerate(phrase):
                for key in wanted:
                    bits[key] = bits.get(key, 0) | 1 << j
            self._bits.append(bits)
        # surface word (or stored signature) -> (is a query word?, per phrase: the bits
        # of the positions it may take), worked out once per word per query
        self._seen: dict[str, _Info] = {}
        self._signed: dict[str, _Info] = {}

    def _word(self, word: str) -> tuple[bool, tuple[int, ...]]:
        info = self._keys(column_keys(word, self.column))
        self._seen[word] = info
        return info

    def _signature(self, signature: str) -> tuple[bool, tuple[int, ...]]:
        info = self._keys(signature_keys(signature))
        self._signed[signature] = info
        return info

    def _keys(self, keys: tuple[str, ...]) -> tuple[bool, tuple[int, ...]]:
        masks: tuple[int, ...] = ()
        if self._bits:
            found = []
            for bits in self._bits:
                mask = 0
                for key in keys:
                    mask |= bits.get(key, 0)
                found.append(mask)
            masks = tuple(found)
        return (not self.words.isdisjoint(keys), masks)

    def _infos(self, body: str, words: str) -> tuple[list[tuple[int, int]], list[_Info]]:
        """Each word's span in `body` and what it is to the query: from its stored
        signature in `words` when they match one to one, else from its keys."""
        matches = list(TOKEN_RE.finditer(body))
        spans = [m.span() for m in matches]
        signatures = words.split(" ") if words else []
        if len(signatures) == len(matches):
            signed, by_signature = self._signed, self._signature
            return spans, [signed.get(g) or by_signature(g) for g in signatures]
        seen, lookup = self._seen, self._word
        return spans, [seen.get(w) or lookup(w) for w in (m.group() for m in matches)]

    def spans(self, body: str, words: str = "") -> Spans:
        """The spans to mark in `body`; `words`: its words' signatures as indexed."""
        if not body or not (self.words or self.phrases):
            return []
        toks, infos = self._infos(body, words)
        if not self.phrases:  # words only: one pass, spans in order
            out: Spans = []
            for (start, end), (term, _m) in zip(toks, infos, strict=True):
                if term:
                    if out and out[-1][1] == start:  # touching words ("200ые") merge
                        out[-1] = (out[-1][0], end)
                    else:
                        out.append((start, end))
            return out
        found: set[tuple[int, int]] = {
            span for span, (term, _m) in zip(toks, infos, strict=True) if term
        }
        for p, phrase in enumerate(self.phrases):
            size = len(phrase)
            masks = [info[1][p] for info in infos]
            for i in range(len(masks) - size + 1):
                if masks[i] & 1 and all(masks[i + j] >> j & 1 for j in range(1, size)):
                    found.add((toks[i][0], toks[i + size - 1][1]))
        merged: Spans = []
        for start, end in sorted(found):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged


class Highlighter:
    """Character spans of every positive word and phrase of a query, per column."""

    def __init__(self, node: Node) -> None:
        leaves = _positive(node)
        self._columns = {column: _ColumnMarks(leaves, column) for column in COLUMNS}

    def shown(
        self, ru: str, en: str, ru_words: str = "", en_words: str = ""
    ) -> tuple[Column, str, Spans]:
        """The text a hit shows and its spans: the Russian when the query matched there,
        else the English when it did there (or the Russian is empty), else the Russian.
        The English is only read when the Russian had nothing to mark: most hits do.
        `ru_words` / `en_words`: the texts' word signatures as indexed, if known."""
        marks = self._columns["ru"].spans(ru, ru_words)
        if marks:
            return "ru", ru, marks
        english = self._columns["en"].spans(en, en_words)
        return ("en", en, english) if english or not ru else ("ru", ru, marks)
