"""Jargon the lexicon does not know yet, surfaced from a case's own transcripts.

Real calls hold words no glossary has: a unit's nickname for a drone, a fresh abbreviation
with a suffix, a phrase that means more than its words. Three signals, each cheap, each
shown with counts and example segments so an editor can decide (and add a case-lexicon
entry, see :mod:`earshot.language.case_lexicon`):

* **unknown words**: Cyrillic words the Russian dictionary (pymorphy3) does not know, grouped
  by their guessed lemma (names are left out: a capital counts only at a sentence start);
* **abbreviations**: capitalised letter groups, alone or with a suffix or case ending
  («ПВОшники», «ФПВ-шку», «РЭБа»), grouped by the capital stem;
* **phrases**: two content words that follow one another far more often than chance
  (pointwise mutual information), at least `min_count` times.

Whatever the built-in or the case lexicon already matches is skipped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.language.analysis_store import segments_by_call
from earshot.language.case_lexicon import case_lexicon
from earshot.language.forms import is_abbreviation
from earshot.language.lexicon import GAP, phrase_parts
from earshot.language.morph import analyzer, fold, lemma, tokens
from earshot.language.slang import SlangMatcher, default_matcher
from earshot.store.batches import batched
from earshot.store.models import Call

__all__ = ["KINDS", "Candidate", "CandidateExample", "find_candidates"]

KINDS = ("unknown_word", "abbreviation", "phrase")
_ABBREVIATION = re.compile(r"^([А-ЯЁA-Z]{2,6})(?:-?([а-яёa-z]{1,8}))?$")
# Abbreviations of everyday life, not jargon.
_COMMON_ABBREVIATIONS = frozenset(
    {"рф", "сша", "смс", "тв", "ок", "мчс", "жкх", "мфц", "гибдд", "дтп", "ес", "ссср", "вк"}
)
_STOP = frozenset(
    [
        "а",
        "без",
        "более",
        "бы",
        "был",
        "была",
        "были",
        "было",
        "быть",
        "в",
        "вам",
        "вас",
        "весь",
        "во",
        "вот",
        "впрочем",
        "все",
        "всё",
        "всего",
        "всех",
        "вы",
        "где",
        "да",
        "даже",
        "для",
        "до",
        "его",
        "ее",
        "её",
        "ей",
        "ему",
        "если",
        "есть",
        "еще",
        "ещё",
        "же",
        "за",
        "здесь",
        "и",
        "из",
        "или",
        "им",
        "их",
        "к",
        "как",
        "когда",
        "кто",
        "ли",
        "либо",
        "мне",
        "может",
        "мы",
        "на",
        "над",
        "надо",
        "наш",
        "не",
        "него",
        "нее",
        "неё",
        "нет",
        "ни",
        "них",
        "но",
        "ну",
        "о",
        "об",
        "однако",
        "он",
        "она",
        "они",
        "оно",
        "от",
        "очень",
        "по",
        "под",
        "при",
        "с",
        "со",
        "так",
        "также",
        "такой",
        "там",
        "те",
        "тем",
        "то",
        "того",
        "тоже",
        "той",
        "только",
        "том",
        "ты",
        "у",
        "уже",
        "хотя",
        "чего",
        "чей",
        "чем",
        "что",
        "чтобы",
        "чье",
        "чья",
        "эта",
        "эти",
        "это",
        "я",
        "мой",
        "моя",
        "мои",
        "твой",
        "твоя",
        "свой",
        "своя",
        "сам",
        "сама",
        "себя",
        "себе",
        "тут",
        "тебе",
        "тебя",
        "меня",
        "нас",
        "нам",
        "вами",
        "нами",
        "ними",
        "ним",
        "ней",
        "нём",
        "этот",
        "этого",
        "этом",
        "этой",
        "этих",
        "тот",
        "та",
        "ту",
        "тех",
        "там",
        "туда",
        "сюда",
        "потом",
        "теперь",
        "сейчас",
        "вообще",
        "просто",
        "ладно",
        "короче",
        "давай",
        "слушай",
        "блин",
        "типа",
        "вроде",
        "значит",
        "мам",
        "мама",
        "пап",
        "папа",
        "ага",
        "угу",
        "алло",
        "привет",
        "пока",
    ]
)


@dataclass(frozen=True)
class CandidateExample:
    segment_id: int
    call_id: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"segment_id": self.segment_id, "call_id": self.call_id, "text": self.text}


@dataclass
class Candidate:
    """A would-be lexicon entry: how it was spotted, how often, and where."""

    kind: str
    text: str
    count: int = 0
    segments: int = 0
    spellings: Counter[str] = field(default_factory=Counter)
    examples: list[CandidateExample] = field(default_factory=list)
    score: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "count": self.count,
            "segments": self.segments,
            "spellings": [s for s, _ in self.spellings.most_common(5)],
            "score": round(self.score, 3),
            "examples": [e.as_dict() for e in self.examples],
        }


def _known_abbreviations(matchers: Iterable[SlangMatcher]) -> frozenset[str]:
    out: set[str] = set()
    for matcher in matchers:
        for entry in matcher.lexicon.entries:
            for form in entry.forms:
                for part in phrase_parts(form):
                    if part != GAP and is_abbreviation(part):
                        out.add(fold(part))
    return frozenset(out)


def _excerpt(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def find_candidates(
    session: Session,
    *,
    min_count: int = 2,
    limit: int = 50,
    examples: int = 3,
    chunk: int = 200,
    kinds: Sequence[str] = KINDS,
) -> list[Candidate]:
    """Candidates over every current segment of the case, most frequent first.

    `min_count`: fewest occurrences for a word or abbreviation (phrases need one more,
    since two words together by chance are common).
    """
    unknown_kinds = sorted(set(kinds) - set(KINDS))
    if unknown_kinds:
        raise ValueError(f"unknown candidate kind(s) {unknown_kinds}; use {list(KINDS)}")
    matchers = [default_matcher()]
    own = case_lexicon(session)
    if own.entries:
        matchers.append(SlangMatcher(own))
    known_abbr = _known_abbreviations(matchers) | _COMMON_ABBREVIATIONS
    morph = analyzer()
    found: dict[tuple[str, str], Candidate] = {}
    seen_in: dict[tuple[str, str], set[int]] = {}
    unigrams: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    bigram_examples: dict[tuple[str, str], list[CandidateExample]] = {}
    bigram_segments: dict[tuple[str, str], set[int]] = {}
    total_words = 0

    def note(kind: str, key: str, surface: str, example: CandidateExample) -> None:
        candidate = found.setdefault((kind, key), Candidate(kind, key))
        candidate.count += 1
        candidate.spellings[surface] += 1
        segments = seen_in.setdefault((kind, key), set())
        if example.segment_id not in segments:
            segments.add(example.segment_id)
            if len(candidate.examples) < examples:
                candidate.examples.append(example)

    call_ids = list(session.execute(select(Call.id).order_by(Call.id)).scalars())
    for batch in batched(call_ids, chunk):
        for segments in segments_by_call(session, batch).values():
            for segment in segments:
                text = segment.text
                covered = [(h.start, h.end) for m in matchers for h in m.find(text)]
                example = CandidateExample(segment.id, segment.call_id, _excerpt(text))
                previous: str | None = None
                for begin, end, surface in tokens(text):
                    if any(s <= begin and end <= e for s, e in covered):
                        previous = None
                        continue
                    match = _ABBREVIATION.match(surface)
                    if match and "abbreviation" in kinds:
                        stem = fold(match.group(1))
                        if stem not in known_abbr and (match.group(2) or len(stem) >= 2):
                            note("abbreviation", stem.upper(), surface, example)
                        previous = None
                        continue
                    word = fold(surface)
                    if not word.isalpha() or not re.match(r"[а-я]", word):
                        previous = None
                        continue
                    total_words += 1
                    opening = begin == 0 or text[:begin].rstrip()[-1:] in ".!?…"
                    if (
                        "unknown_word" in kinds
                        and (surface[:1].islower() or (opening and not surface[1:2].isupper()))
                        and len(word) >= 4
                        and not morph.word_is_known(word)
                    ):
                        note("unknown_word", lemma(word), surface, example)
                    if word in _STOP or len(word) < 3 or not (surface[:1].islower() or opening):
                        previous = None
                        continue
                    key = lemma(word)
                    unigrams[key] += 1
                    if previous is not None and "phrase" in kinds:
                        pair = (previous, key)
                        bigrams[pair] += 1
                        segs = bigram_segments.setdefault(pair, set())
                        if segment.id not in segs:
                            segs.add(segment.id)
                            shown = bigram_examples.setdefault(pair, [])
                            if len(shown) < examples:
                                shown.append(example)
                    previous = key
    out: list[Candidate] = []
    for (_kind, _key), candidate in found.items():
        candidate.segments = len(seen_in[(candidate.kind, candidate.text)])
        if candidate.count >= min_count:
            candidate.score = float(candidate.count)
            out.append(candidate)
    for pair, count in bigrams.items():
        if count < min_count + 1:
            continue
        pmi = math.log(count * max(total_words, 1) / (unigrams[pair[0]] * unigrams[pair[1]]))
        if pmi < 2.5:
            continue
        candidate = Candidate(
            "phrase",
            " ".join(pair),
            count=count,
            segments=len(bigram_segments[pair]),
            examples=bigram_examples[pair],
            score=count * pmi,
        )
        candidate.spellings[" ".join(pair)] = count
        out.append(candidate)
    out.sort(key=lambda c: (-c.count, -c.score, c.kind, c.text))
    return out[:limit]
