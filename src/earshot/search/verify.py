"""The spans to highlight in a hit, found in Python with the index's own keys.

Uses the same keys as the index (:mod:`.text`), so it marks exactly the words and
phrases the index matched. A :class:`Highlighter` is made once per query (the query's
words become key sets once) and then marks each hit of the page: a word of the hit is
looked up once per page, not once per query word.
"""

from __future__ import annotations

from ..language.morph import TOKEN_RE
from .index import SegmentText
from .query import And, Node, Or, Phrase, Term
from .text import COLUMNS, Column, column_keys, word_keys

__all__ = ["Highlighter"]

Spans = list[tuple[int, int]]


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
        self._word_hit: dict[str, bool] = {}

    def spans(self, body: str) -> Spans:
        if not body or not (self.words or self.phrases):
            return []
        found: set[tuple[int, int]] = set()
        if self.phrases:
            toks = [
                (m.start(), m.end(), column_keys(m.group(0), self.column))
                for m in TOKEN_RE.finditer(body)
            ]
            if self.words:
                found.update((s, e) for s, e, keys in toks if not self.words.isdisjoint(keys))
            for phrase in self.phrases:
                size = len(phrase)
                for i in range(len(toks) - size + 1):
                    if all(not want.isdisjoint(toks[i + j][2]) for j, want in enumerate(phrase)):
                        found.add((toks[i][0], toks[i + size - 1][1]))
        else:
            hit = self._word_hit
            for m in TOKEN_RE.finditer(body):
                word = m.group(0)
                flag = hit.get(word)
                if flag is None:
                    flag = hit[word] = not self.words.isdisjoint(column_keys(word, self.column))
                if flag:
                    found.add((m.start(), m.end()))
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

    def spans(self, row: SegmentText) -> dict[Column, Spans]:
        """The merged spans to mark in `row`'s Russian and English text."""
        return {"ru": self._columns["ru"].spans(row.ru), "en": self._columns["en"].spans(row.en)}
