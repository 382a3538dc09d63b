"""What a search for one word should also find, according to the slang lexicon.

A reader searching «двухсотый» wants «200-х», «груз 200» and «задвухсотили» too; one
searching in English for "killed" or "AWOL" wants the segments the decoder glossed that
way. The search query planner calls :func:`slang_expansion` for each plain query word and
ORs in what it returns:

* ``words`` / ``phrases``: the surface forms of every lexicon entry the word is a form of,
  and of the entries sharing its ``group`` (codes: 200 / груз 200 / задвухсотить), plus
  their ``search_forms`` (codes written in digits; «200-х» is one token, «груз 200» two).
  They are ordinary text, so the results stay ranked (the planner keeps each index key
  once). Entries with a context rule are left out: a search for «подвал»
  must not turn into every cellar;
* ``terms``: lexicon ids whose English gloss holds the word, searched as slang tags
  (``term:`` filters over the decoder's hits), so "killed" finds «двухсотых».

Tables are built once per process from the built-in lexicon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from earshot.language.lexicon import GAP, SlangEntry, load_slang_lexicon, phrase_parts
from earshot.language.morph import fold, lemma
from earshot.language.slang import default_matcher

__all__ = ["MAX_EXPANSION", "SlangExpansion", "slang_expansion"]

MAX_EXPANSION = 40  # surface forms added for one query word at most
_LATIN = re.compile(r"^[a-z][a-z'-]{2,}$", re.IGNORECASE)
_GLOSS_STOP = frozenset(
    {"the", "and", "for", "with", "from", "one", "who", "are", "not", "its", "our", "his"}
)


@dataclass(frozen=True)
class SlangExpansion:
    """Extra words and phrases (text search) and term ids (slang-tag search) for a word."""

    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    terms: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases or self.terms)


def _surfaces(entry: SlangEntry) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for form in (*entry.forms, *entry.search_forms):
        parts = tuple(p for p in phrase_parts(form) if p != GAP)
        if parts:
            out.append(parts)
    return out


@cache
def _groups() -> dict[str, tuple[SlangEntry, ...]]:
    lexicon = load_slang_lexicon()
    groups: dict[str, list[SlangEntry]] = {}
    for entry in lexicon.entries:
        groups.setdefault(entry.group or entry.id, []).append(entry)
    return {key: tuple(value) for key, value in groups.items()}


@cache
def _gloss_index() -> dict[str, tuple[str, ...]]:
    """Lower-case English gloss word -> term ids (whole words only)."""
    index: dict[str, list[str]] = {}
    for entry in load_slang_lexicon().entries:
        for word in set(re.findall(r"[a-z]+", entry.gloss.lower())):
            if len(word) >= 3 and word not in _GLOSS_STOP:
                index.setdefault(word, []).append(entry.id)
    return {word: tuple(ids) for word, ids in index.items()}


def _gloss_terms(word: str) -> tuple[str, ...]:
    index = _gloss_index()
    folded = word.lower()
    found: dict[str, None] = {}
    for candidate in (folded, folded.rstrip("s"), folded + "s", folded + "ed", folded + "d"):
        for term in index.get(candidate, ()):
            found.setdefault(term, None)
    return tuple(found)


@lru_cache(maxsize=8192)
def slang_expansion(word: str) -> SlangExpansion:
    """The lexicon's expansion of one query word (empty when it is no slang).

    Cached: the built-in lexicon is fixed for the life of a process, and the search
    planner asks for every word of every query."""
    matcher = default_matcher()
    lexicon = matcher.lexicon
    every = frozenset(lexicon.ids)
    hits = matcher.find(word, without_context=every)
    ids = {hit.term for hit in hits if hit.start == 0 and hit.end == len(word)}
    terms = _gloss_terms(word) if _LATIN.match(word) and not ids else ()
    words: dict[str, None] = {}
    phrases: dict[tuple[str, ...], None] = {}
    groups = _groups()
    folded = fold(word)
    seen_phrases: set[tuple[str, ...]] = set()
    for term in sorted(ids):
        entry = lexicon.get(term)
        if entry is None:
            continue
        for member in groups.get(entry.group or entry.id, (entry,)):
            if member.requires or member.excludes:
                continue
            for parts in _surfaces(member):
                if len(parts) == 1:
                    if fold(parts[0]) != folded:
                        words.setdefault(parts[0], None)
                else:
                    key = tuple(lemma(p) for p in parts)
                    if key not in seen_phrases:
                        seen_phrases.add(key)
                        phrases.setdefault(parts, None)
    chosen_words = tuple(words)[:MAX_EXPANSION]
    chosen_phrases = tuple(phrases)[: max(0, MAX_EXPANSION - len(chosen_words))]
    return SlangExpansion(chosen_words, chosen_phrases, terms)
