"""Splitting id lists for ``IN (...)`` statements.

SQLite caps the host parameters of one statement (32,766 since 3.32, 999 before) and a
huge ``IN`` list is slow to plan on every backend, so every module that reads or deletes
rows by id sends them in batches. One helper (``itertools.batched`` arrives only in
Python 3.12) instead of one copy per module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

__all__ = ["batched", "id_list"]

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of at most `size`, in order (the last one may be shorter).

    Streams: `items` may be a generator that is never held whole in memory."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def id_list(ids: Iterable[int]) -> str:
    """`ids` as a comma-separated list of integers for ``id IN (...)`` in SQL text: each
    value goes through ``int()``, so nothing but digits and signs reaches the statement."""
    return ", ".join(str(int(i)) for i in ids)
