"""The spans to highlight in a hit, found in Python with the index's own keys.

Uses the same keys as the index (:mod:`.text`), so it marks exactly the words and
phrases the index matched.
"""

from __future__ import annotations

from .index import SegmentText
from .query import And, Node, Or, Phrase, Term
from .text import COLUMNS, Column, TokenKeys, text_keys, word_keys

__all__ = ["RowTokens", "highlight_spans", "row_tokens"]

RowTokens = dict[Column, list[TokenKeys]]


def row_tokens(row: SegmentText) -> RowTokens:
    return {"ru": text_keys(row.ru, "ru"), "en": text_keys(row.en, "en")}


def _word_hits(word: str, toks: RowTokens) -> dict[Column, list[int]]:
    wanted = word_keys(word)
    return {
        col: [i for i, t in enumerate(toks[col]) if set(t.keys) & set(wanted[col])]
        for col in COLUMNS
    }


def _phrase_hits(words: tuple[str, ...], toks: RowTokens) -> dict[Column, list[tuple[int, int]]]:
    """Token index ranges [first, last] where the phrase occurs, per column."""
    out: dict[Column, list[tuple[int, int]]] = {}
    hits = [_word_hits(w, toks) for w in words]
    for col in COLUMNS:
        starts = set(hits[0][col])
        for offset, h in enumerate(hits[1:], start=1):
            starts &= {i - offset for i in h[col]}
        out[col] = [(i, i + len(words) - 1) for i in sorted(starts)]
    return out


def _positive(node: Node) -> list[Term | Phrase]:
    if isinstance(node, Term | Phrase):
        return [node]
    if isinstance(node, And | Or):
        return [leaf for item in node.items for leaf in _positive(item)]
    return []


def highlight_spans(node: Node, toks: RowTokens) -> dict[Column, list[tuple[int, int]]]:
    """Character spans of every positive word and phrase of `node`, per column, merged."""
    out: dict[Column, list[tuple[int, int]]] = {}
    for col in COLUMNS:
        spans: set[tuple[int, int]] = set()
        for leaf in _positive(node):
            if isinstance(leaf, Term):
                for i in _word_hits(leaf.word, toks)[col]:
                    spans.add((toks[col][i].start, toks[col][i].end))
            else:
                for first, last in _phrase_hits(leaf.words, toks)[col]:
                    spans.add((toks[col][first].start, toks[col][last].end))
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        out[col] = merged
    return out
