"""The id batching every ``IN (...)`` reader and deleter shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from earshot.store.batches import batched, id_list


def test_batches_keep_order_and_the_last_one_is_short() -> None:
    assert list(batched([5, 3, 9, 1, 7], 2)) == [[5, 3], [9, 1], [7]]
    assert list(batched(range(4), 4)) == [[0, 1, 2, 3]]
    assert list(batched([], 3)) == []


def test_a_generator_is_read_one_batch_at_a_time() -> None:
    pulled: list[int] = []

    def ids() -> Iterator[int]:
        for i in range(10):
            pulled.append(i)
            yield i

    first = next(batched(ids(), 3))
    assert first == [0, 1, 2]
    assert pulled == [0, 1, 2]  # nothing beyond the first batch was read


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1, not 0"):
        next(batched([1], 0))


def test_an_id_list_holds_integers_only() -> None:
    assert id_list([3, 10, -1]) == "3, 10, -1"
    with pytest.raises(ValueError):
        id_list(["1); DROP TABLE segments; --"])  # type: ignore[list-item]
