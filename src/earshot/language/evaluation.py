"""Score the slang decoder and the theme tagger on a labelled development set.

One implementation shared by ``bench/language.py`` (which prints it) and the tests (which hold
it to a floor), so the figures in docs/benchmarks.md are what the tests check. A set is a list of
:class:`LabelledSentence`; scoring counts, per sentence, the term ids found against the term ids
labelled (and likewise theme ids), then sums per category.

:func:`context_rule_effects` measures every context restriction (``requires`` / ``excludes``):
the false positives it removes and the true hits it costs on the set. A rule is worth keeping only
when it removes more false positives than true hits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from earshot.errors import LexiconError
from earshot.language.lexicon import SlangLexicon
from earshot.language.slang import SlangMatcher
from earshot.language.themes import ThemeTagger

__all__ = [
    "LabelledSentence",
    "RuleEffect",
    "Score",
    "context_rule_effects",
    "load_labelled",
    "score_slang",
    "score_themes",
]


@dataclass(frozen=True)
class LabelledSentence:
    """One development sentence and what an editor marked in it."""

    text: str
    jargon: Mapping[str, str] = field(default_factory=dict)  # surface -> term id
    themes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(self.jargon.values())


@dataclass
class Score:
    """True positives, false positives and misses; precision/recall are 1.0 when undefined."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, found: set[str] | frozenset[str], wanted: set[str] | frozenset[str]) -> None:
        self.tp += len(found & wanted)
        self.fp += len(found - wanted)
        self.fn += len(wanted - found)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


def _strings(path: Path, index: int, row: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = row.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LexiconError(f"{path}: sentence #{index + 1}: '{key}' must be a list of strings.")
    return tuple(value)


def load_labelled(path: Path) -> list[LabelledSentence]:
    """Read a development set (layout: tests/language/data/dev_set.yaml); checks each row."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = data.get("sentences") if isinstance(data, Mapping) else None
    if not isinstance(rows, list):
        raise LexiconError(f"{path}: expected a mapping with a 'sentences' list.")
    out: list[LabelledSentence] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping) or not isinstance(row.get("text"), str):
            raise LexiconError(f"{path}: sentence #{index + 1} needs 'text'.")
        jargon = row.get("jargon") or {}
        if not isinstance(jargon, Mapping):
            raise LexiconError(f"{path}: sentence #{index + 1}: 'jargon' must be a mapping.")
        text = row["text"]
        for surface in jargon:
            if str(surface) not in text:
                raise LexiconError(
                    f"{path}: sentence #{index + 1}: jargon span {surface!r} is not in the text."
                )
        out.append(
            LabelledSentence(
                text=text,
                jargon={str(k): str(v) for k, v in jargon.items()},
                themes=_strings(path, index, row, "themes"),
                names=_strings(path, index, row, "names"),
                places=_strings(path, index, row, "places"),
                numbers=_strings(path, index, row, "numbers"),
            )
        )
    return out


def score_slang(
    matcher: SlangMatcher, rows: Iterable[LabelledSentence]
) -> tuple[Score, dict[str, Score]]:
    """Overall and per-category scores of the term ids found in each sentence."""
    total = Score()
    per: dict[str, Score] = {}
    lexicon = matcher.lexicon
    for row in rows:
        found = {hit.term for hit in matcher.find(row.text)}
        wanted = set(row.terms)
        total.add(found, wanted)
        for term in found | wanted:
            entry = lexicon.get(term)
            category = entry.category if entry is not None else "unknown"
            per.setdefault(category, Score()).add(found & {term}, wanted & {term})
    return total, dict(sorted(per.items()))


def score_themes(
    tagger: ThemeTagger, rows: Iterable[LabelledSentence]
) -> tuple[Score, dict[str, Score]]:
    """Overall and per-theme scores of segment-level themes."""
    total = Score()
    per: dict[str, Score] = {}
    for row in rows:
        found = {hit.theme for hit in tagger.tag(row.text)}
        wanted = set(row.themes)
        total.add(found, wanted)
        for theme in found | wanted:
            per.setdefault(theme, Score()).add(found & {theme}, wanted & {theme})
    return total, dict(sorted(per.items()))


@dataclass(frozen=True)
class RuleEffect:
    """What one entry's context rule does on the set, compared with the entry without it."""

    term: str
    prevents: str
    false_positives_removed: int
    true_hits_lost: int

    @property
    def kept(self) -> bool:
        """A rule earns its place by removing more false positives than true hits."""
        return self.false_positives_removed > self.true_hits_lost


def context_rule_effects(
    lexicon: SlangLexicon, rows: Sequence[LabelledSentence], matcher: SlangMatcher | None = None
) -> list[RuleEffect]:
    """For every entry with `requires`/`excludes`: its hits on `rows` with and without its rule.

    Only that entry's rule is lifted (the others stay), so each rule is judged on its own.
    """
    matcher = matcher or SlangMatcher(lexicon)
    found = [{h.term for h in matcher.find(row.text)} for row in rows]
    effects: list[RuleEffect] = []
    for entry in lexicon.entries:
        if not (entry.requires or entry.excludes):
            continue
        lifted = frozenset({entry.id})
        removed = lost = 0
        for row, terms in zip(rows, found, strict=True):
            kept = entry.id in terms
            loose = any(h.term == entry.id for h in matcher.find(row.text, without_context=lifted))
            if loose and not kept:
                if entry.id in row.terms:
                    lost += 1
                else:
                    removed += 1
        effects.append(RuleEffect(entry.id, entry.prevents, removed, lost))
    return effects
