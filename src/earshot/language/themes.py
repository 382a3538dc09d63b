"""Tag segments and calls with investigative themes (wants out, casualties, conditions, ...).

Why cues and counting instead of a classifier: a journalist must be able to see *why* a call
was tagged, and to fix a theme by editing YAML. The rule (documented in themes.yaml) is
precision first: a theme fires on **one strong cue or two distinct weak cues**, and not at
all in a segment where one of its negative cues occurs. Cues are lemma phrases (any
inflection, '*' = up to two words in between), regexes over the raw text, or slang term ids
from the :mod:`earshot.language.slang` lexicon.

At call level the distinct cues of all segments are pooled (segments vetoed by a negative cue
contribute nothing to that theme) and the same rule applies, so two weak cues said a minute
apart still count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from earshot.errors import LexiconError
from earshot.language.lexicon import Theme, ThemeSet, load_themes
from earshot.language.morph import tokens
from earshot.language.needles import NeedleScan, needles
from earshot.language.slang import (
    PhraseIndex,
    SlangHit,
    SlangMatcher,
    compile_phrase,
    default_matcher,
)

__all__ = ["ThemeHit", "ThemeOptions", "ThemeTagger", "default_tagger"]

_STRONG, _WEAK, _NEGATIVE = "strong", "weak", "negative"


@dataclass(frozen=True)
class ThemeHit:
    """A theme found in one text: the cues that fired it and their character spans."""

    theme: str
    cues: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ThemeOptions:
    """`weak_needed`: distinct weak cues that together count as evidence (default two)."""

    weak_needed: int = 2


@dataclass
class _Evidence:
    strong: dict[str, tuple[int, int]] = field(default_factory=dict)
    weak: dict[str, tuple[int, int]] = field(default_factory=dict)
    negated: bool = False


class ThemeTagger:
    """Built once from the theme definitions and a slang matcher; `tag` per segment."""

    def __init__(
        self,
        themes: ThemeSet,
        slang: SlangMatcher,
        options: ThemeOptions | None = None,
    ) -> None:
        self.themes = themes
        self.slang = slang
        self.options = options or ThemeOptions()
        self._order = [theme.id for theme in themes.themes]
        self._phrase_cues: dict[str, list[tuple[str, str]]] = {}
        self._slang_cues: dict[str, list[tuple[str, str]]] = {}
        self._patterns: list[tuple[re.Pattern[str], str, str, str, frozenset[str] | None]] = []
        known_terms = slang.lexicon.ids
        for theme in themes.themes:
            for strength, cues in (
                (_STRONG, theme.strong),
                (_WEAK, theme.weak),
                (_NEGATIVE, theme.negative),
            ):
                self._add_cues(theme, strength, cues.phrases, cues.patterns)
                for term in cues.slang:
                    if term not in known_terms:
                        raise LexiconError(
                            f"{', '.join(map(str, themes.paths))}: entry '{theme.id}', key "
                            f"'{strength}.slang': unknown slang term id {term!r}. Use an id "
                            "from the slang lexicon or remove it."
                        )
                    self._slang_cues.setdefault(term, []).append((theme.id, strength))
        self._index = PhraseIndex(compile_phrase(phrase) for phrase in self._phrase_cues)
        self._scan = NeedleScan([p[4] for p in self._patterns])

    def _add_cues(
        self, theme: Theme, strength: str, phrases: Iterable[str], patterns: Iterable[str]
    ) -> None:
        for phrase in phrases:
            self._phrase_cues.setdefault(phrase, []).append((theme.id, strength))
        for pattern in patterns:
            regex = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)
            self._patterns.append((regex, theme.id, strength, f"re:{pattern}", needles(pattern)))

    def _evidence(self, text: str, slang_hits: Sequence[SlangHit] | None) -> dict[str, _Evidence]:
        found: dict[str, _Evidence] = {}

        def note(theme_id: str, strength: str, cue: str, span: tuple[int, int]) -> None:
            evidence = found.setdefault(theme_id, _Evidence())
            if strength == _NEGATIVE:
                evidence.negated = True
            else:
                getattr(evidence, strength).setdefault(cue, span)

        toks = tokens(text)
        keys = [self.slang.token_keys(tok[2]) for tok in toks]
        for first, after, phrase in self._index.matches(keys):
            span = (toks[first][0], toks[after - 1][1])
            negated = _negated(toks, first)
            for theme_id, strength in self._phrase_cues[phrase.label]:
                if negated and strength != _NEGATIVE:
                    continue  # «никто не погиб», «не ранен»: the cue is denied
                note(theme_id, strength, phrase.label, span)
        present = self._scan.present(text.lower())
        for regex, theme_id, strength, cue, needed in self._patterns:
            if needed is not None and needed.isdisjoint(present):
                continue  # cannot match (see earshot.language.needles)
            for m in regex.finditer(text):
                note(theme_id, strength, cue, (m.start(), m.end()))
        hits = self.slang.find(text) if slang_hits is None else slang_hits
        for hit in hits:
            for theme_id, strength in self._slang_cues.get(hit.term, ()):
                note(theme_id, strength, f"slang:{hit.term}", (hit.start, hit.end))
        return found

    def _fires(self, evidence: _Evidence) -> bool:
        # Weak cues count by place, not by name: «осколок» as a phrase and as a slang term
        # is one piece of evidence, not two.
        places = set(evidence.weak.values())
        return bool(evidence.strong) or len(places) >= self.options.weak_needed

    def tag(self, text: str, slang_hits: Sequence[SlangHit] | None = None) -> list[ThemeHit]:
        """Themes of one segment, in theme-file order.

        Pass `slang_hits` when the caller already ran the slang matcher on `text`.
        """
        return self._hits(self._evidence(text, slang_hits))

    def _hits(self, found: dict[str, _Evidence]) -> list[ThemeHit]:
        out: list[ThemeHit] = []
        for theme_id in self._order:
            evidence = found.get(theme_id)
            if evidence is None or evidence.negated or not self._fires(evidence):
                continue
            cues = {**evidence.strong, **evidence.weak}
            ordered = sorted(cues.items(), key=lambda item: item[1])
            out.append(
                ThemeHit(
                    theme=theme_id,
                    cues=tuple(cue for cue, _ in ordered),
                    spans=tuple(span for _, span in ordered),
                )
            )
        return out

    def tag_call(self, segment_texts: Iterable[str]) -> list[str]:
        """Call-level themes: cues pooled over segments (see module docstring)."""
        return self._pool([self._evidence(text, None) for text in segment_texts])

    def tag_segments(
        self, texts: Sequence[str], slang_hits: Sequence[Sequence[SlangHit]]
    ) -> tuple[list[list[ThemeHit]], list[str]]:
        """:meth:`tag` of each segment and :meth:`tag_call` of them all, matching once."""
        found = [self._evidence(t, h) for t, h in zip(texts, slang_hits, strict=True)]
        return [self._hits(f) for f in found], self._pool(found)

    def _pool(self, per_segment: Iterable[dict[str, _Evidence]]) -> list[str]:
        pooled: dict[str, _Evidence] = {}
        first_seen: dict[str, int] = {}
        for position, found in enumerate(per_segment):
            for theme_id, evidence in found.items():
                if evidence.negated:
                    continue
                total = pooled.setdefault(theme_id, _Evidence())
                total.strong.update(evidence.strong)
                total.weak.update(evidence.weak)
                if self._fires(total):
                    first_seen.setdefault(theme_id, position)
        return sorted(first_seen, key=lambda t: (first_seen[t], self._order.index(t)))


_NOT = frozenset({"не", "ни"})
# Words that may stand between a negation and the cue it denies: «не был ранен», «не всех убило».
_BETWEEN = frozenset({"был", "была", "было", "были", "бы", "уже", "всех", "всё", "все", "сильно"})


def _negated(toks: Sequence[tuple[int, int, str]], first: int) -> bool:
    """Whether the phrase starting at token `first` is denied by «не»/«ни» just before it."""
    if first >= 1 and toks[first - 1][2].lower() in _NOT:
        return True
    return (
        first >= 2 and toks[first - 2][2].lower() in _NOT and toks[first - 1][2].lower() in _BETWEEN
    )


@cache
def default_tagger() -> ThemeTagger:
    """The tagger over the built-in themes and slang lexicon, built once per process."""
    return ThemeTagger(load_themes(), default_matcher())
