"""Find front-line slang in colloquial Russian text, in any inflection, with character spans.

Matching is on lemma sequences, not strings: every form in the lexicon is lemmatised once
(with *all* of pymorphy3's candidate lemmas, plus the folded surface itself, so unknown slang
still matches its own spelling), and every token of the text likewise; a form matches where
each of its words shares a key with the consecutive tokens. That makes "двухсотых", "за
ленточку" or "мясных штурмов" match their dictionary forms without listing inflections.
Digit codes ("200-е", "груз 200") are regexes over the raw text. Ambiguous words only count
with a context word nearby (`requires`), and `excludes` vetoes a hit: precision comes first,
because a reader trusts a gloss the tool shows.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from earshot.language.forms import surface_table
from earshot.language.lexicon import (
    GAP,
    SlangEntry,
    SlangLexicon,
    load_slang_lexicon,
    phrase_parts,
)
from earshot.language.morph import fold, lemmas, paradigm, tokens
from earshot.language.needles import NeedleScan, needles

__all__ = [
    "CompiledPhrase",
    "MatcherOptions",
    "PhraseIndex",
    "SlangHit",
    "SlangMatcher",
    "compile_phrase",
    "default_matcher",
    "form_keys",
    "word_keys",
]

# How many arbitrary words a '*' in a theme phrase may stand for.
MAX_GAP = 2


@lru_cache(maxsize=200_000)
def word_keys(surface: str) -> frozenset[str]:
    """Every lemma pymorphy3 proposes for `surface`, plus its folded spelling."""
    return frozenset((*lemmas(surface), fold(surface)))


@lru_cache(maxsize=20_000)
def form_keys(word: str) -> frozenset[str]:
    """Keys of a lexicon word: its `word_keys` plus every surface of its own paradigm.

    pymorphy3 guesses unknown inflected slang poorly ("русни" -> "руснуть"), but it can
    inflect the dictionary form the lexicon gives; matching those surfaces directly covers
    the words it would otherwise mis-lemmatise.
    """
    return frozenset(word_keys(word) | paradigm(word))


@dataclass(frozen=True)
class CompiledPhrase:
    """A phrase as a sequence of key sets; `None` is a gap of 0..MAX_GAP words."""

    label: str
    steps: tuple[frozenset[str] | None, ...]


def compile_phrase(phrase: str, label: str | None = None) -> CompiledPhrase:
    """Lemmatise `phrase` once ("мясные штурмы" -> ({мясной,...}, {штурм,...}))."""
    steps = tuple(None if part == GAP else form_keys(part) for part in phrase_parts(phrase))
    return CompiledPhrase(label if label is not None else phrase, steps)


class PhraseIndex:
    """Phrases indexed by the keys of their first word, matched against tokenised text."""

    def __init__(self, phrases: Iterable[CompiledPhrase]) -> None:
        self._by_first: dict[str, list[CompiledPhrase]] = {}
        for phrase in phrases:
            first = phrase.steps[0]
            if first is None:
                raise ValueError(f"phrase {phrase.label!r} starts with a gap")
            for key in first:
                self._by_first.setdefault(key, []).append(phrase)

    def matches(self, keys: Sequence[frozenset[str]]) -> list[tuple[int, int, CompiledPhrase]]:
        """(first token, token after the last, phrase) for every match, longest per start."""
        found: list[tuple[int, int, CompiledPhrase]] = []
        by_first = self._by_first
        for i, token_keys in enumerate(keys):
            seen: set[int] = set()
            for key in token_keys:
                for phrase in by_first.get(key, ()):
                    if id(phrase) in seen:
                        continue
                    seen.add(id(phrase))
                    end = _match_steps(phrase.steps, 1, keys, i + 1)
                    if end is not None:
                        found.append((i, end, phrase))
        return found


def _match_steps(
    steps: tuple[frozenset[str] | None, ...], s: int, keys: Sequence[frozenset[str]], t: int
) -> int | None:
    """Token index after the match of steps[s:] starting at token t, or None."""
    if s == len(steps):
        return t
    step = steps[s]
    if step is None:
        for skip in range(MAX_GAP + 1):
            end = _match_steps(steps, s + 1, keys, t + skip)
            if end is not None:
                return end
        return None
    if t < len(keys) and not step.isdisjoint(keys[t]):
        return _match_steps(steps, s + 1, keys, t + 1)
    return None


@dataclass(frozen=True)
class SlangHit:
    """One slang occurrence: `text` is `original[start:end]`; `term` is the lexicon id."""

    start: int
    end: int
    text: str
    term: str
    gloss: str
    category: str
    slur: bool


@dataclass(frozen=True)
class MatcherOptions:
    """`context_window`: words on each side searched for `requires`/`excludes` context."""

    context_window: int = 6


@dataclass(frozen=True)
class _Rule:
    entry: SlangEntry
    requires: frozenset[str]
    excludes: frozenset[str]


def _keys_of(words: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for word in words:
        out |= word_keys(word)
    return frozenset(out)


class SlangMatcher:
    """Built once per lexicon (lemmatising every form); `find` is then cheap per segment."""

    def __init__(self, lexicon: SlangLexicon, options: MatcherOptions | None = None) -> None:
        self.lexicon = lexicon
        self.options = options or MatcherOptions()
        self._rules: dict[str, _Rule] = {}
        phrases: list[CompiledPhrase] = []
        self._patterns: list[tuple[re.Pattern[str], str, frozenset[str] | None]] = []
        for entry in lexicon.entries:
            self._rules[entry.id] = _Rule(entry, _keys_of(entry.requires), _keys_of(entry.excludes))
            phrases.extend(compile_phrase(form, entry.id) for form in entry.forms)
            for pattern in entry.patterns:
                regex = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)
                self._patterns.append((regex, entry.id, needles(pattern)))
        self._index = PhraseIndex(phrases)
        self._scan = NeedleScan([needed for _, _, needed in self._patterns])
        # Generated once: inflections, suffixed abbreviations, soft-sign slips -> lexicon words.
        self._surfaces = surface_table(lexicon)
        self._token_cache: dict[str, frozenset[str]] = {}

    def token_keys(self, surface: str) -> frozenset[str]:
        """A token's lemma keys plus the lexicon words it is a generated form of."""
        cached = self._token_cache.get(surface)
        if cached is None:
            extra = self._surfaces.get(fold(surface))
            cached = word_keys(surface) | extra if extra else word_keys(surface)
            if len(self._token_cache) < 500_000:
                self._token_cache[surface] = cached
        return cached

    def find(self, text: str, *, without_context: frozenset[str] = frozenset()) -> list[SlangHit]:
        """Non-overlapping hits in text order; where candidates overlap the longest wins.

        `without_context`: term ids whose `requires`/`excludes` are ignored (to measure what a
        context rule does, see :func:`earshot.language.evaluation.context_rule_effects`).
        """
        toks = tokens(text)
        token_keys = self.token_keys
        keys = [token_keys(tok[2]) for tok in toks]
        candidates: list[tuple[int, int, int, int, str]] = []  # char span, token span, term
        for first, after, phrase in self._index.matches(keys):
            start, end = toks[first][0], toks[after - 1][1]
            candidates.append((start, end, first, after, phrase.label))
        if self._patterns:
            starts = [tok[0] for tok in toks]
            ends = [tok[1] for tok in toks]
            present = self._scan.present(text.lower())
            for regex, term, needed in self._patterns:
                if needed is not None and needed.isdisjoint(present):
                    continue  # cannot match: skip the regex (see earshot.language.needles)
                for m in regex.finditer(text):
                    first = bisect.bisect_right(ends, m.start())
                    after = bisect.bisect_left(starts, m.end())
                    candidates.append((m.start(), m.end(), first, after, term))
        kept = [
            c
            for c in candidates
            if c[4] in without_context or self._context_ok(c[4], keys, c[2], c[3])
        ]
        return self._resolve(text, kept)

    def _context_ok(
        self, term: str, keys: Sequence[frozenset[str]], first: int, after: int
    ) -> bool:
        rule = self._rules[term]
        if not rule.requires and not rule.excludes:
            return True
        window = self.options.context_window
        context: set[str] = set()
        for near in (*keys[max(0, first - window) : first], *keys[after : after + window]):
            context |= near
        if rule.excludes and not rule.excludes.isdisjoint(context):
            return False
        return not rule.requires or not rule.requires.isdisjoint(context)

    def _resolve(
        self, text: str, candidates: list[tuple[int, int, int, int, str]]
    ) -> list[SlangHit]:
        ordered = sorted(candidates, key=lambda c: (c[0] - c[1], c[0]))
        taken: list[tuple[int, int]] = []
        hits: list[SlangHit] = []
        for start, end, _first, _after, term in ordered:
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            entry = self._rules[term].entry
            hits.append(
                SlangHit(
                    start=start,
                    end=end,
                    text=text[start:end],
                    term=term,
                    gloss=entry.gloss,
                    category=entry.category,
                    slur=entry.slur,
                )
            )
        hits.sort(key=lambda hit: hit.start)
        return hits


@cache
def default_matcher() -> SlangMatcher:
    """The matcher over the built-in lexicon, built once per process."""
    return SlangMatcher(load_slang_lexicon())
