"""Word and character error rates: the edit distance between a reference and a hypothesis.

Normalisation (case, punctuation, ё, numbers) is the caller's: these functions compare the
token lists they are given.  Distances are computed row by row with numpy (the insertion chain
of a row is a running minimum), so a whole call's characters compare in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["ErrorCount", "char_errors", "edit_distance", "word_errors"]


@dataclass(frozen=True)
class ErrorCount:
    """Edits (substitutions + deletions + insertions) against ``reference`` tokens."""

    errors: int
    reference: int

    @property
    def rate(self) -> float | None:
        """errors / reference tokens; None when the reference is empty."""
        return None if self.reference == 0 else self.errors / self.reference

    def __add__(self, other: ErrorCount) -> ErrorCount:
        return ErrorCount(self.errors + other.errors, self.reference + other.reference)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate}


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (unit costs)."""
    if not reference:
        return len(hypothesis)
    if not hypothesis:
        return len(reference)
    vocabulary = {token: i for i, token in enumerate({*reference, *hypothesis})}
    ref = np.fromiter((vocabulary[t] for t in reference), np.int64, len(reference))
    hyp = np.fromiter((vocabulary[t] for t in hypothesis), np.int64, len(hypothesis))
    positions = np.arange(len(hyp) + 1, dtype=np.int64)
    previous = positions.copy()
    for i, token in enumerate(ref, start=1):
        current = np.empty_like(previous)
        current[0] = i
        # deletion (from above) or match/substitution (diagonal)
        current[1:] = np.minimum(previous[1:] + 1, previous[:-1] + (hyp != token))
        # insertions chain along the row: cur[j] = min_k<=j (cur[k] + j - k)
        current = np.minimum.accumulate(current - positions) + positions
        previous = current
    return int(previous[-1])


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> ErrorCount:
    """Word errors of normalised word lists."""
    return ErrorCount(edit_distance(reference, hypothesis), len(reference))


def char_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> ErrorCount:
    """Character errors of normalised word lists, words joined by single spaces."""
    return ErrorCount(
        edit_distance(list(" ".join(reference)), list(" ".join(hypothesis))),
        len(" ".join(reference)),
    )
