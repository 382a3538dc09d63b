"""Numbers said in English words: the runs, their places in the text and their digits."""

from __future__ import annotations

import pytest

from earshot.language.numbers_en import english_number_runs

# Fictional numbers only (the 555 exchange).
CASES = [
    ("Call me on nine one six, five five five, twelve thirty-four. Bye.",
     [("nine one six, five five five, twelve thirty-four", "9165551234")]),
    ("plus seven nine one six five five five one two three four",
     [("seven nine one six five five five one two three four", "79165551234")]),
    ("His unit is four five six seven eight, write it down",
     [("four five six seven eight", "45678")]),
    ("double five oh two, triple seven", [("double five oh two, triple seven", "5502777")]),
    ("it's 8 nine one six 555 forty-eight twenty-two",
     [("8 nine one six 555 forty-eight twenty-two", "89165554822")]),
    ("the three hundred wounded", [("three hundred", "300")]),
    ("Oh, mum, it's five o'clock and I have two kids", [("five", "5"), ("two", "2")]),
    ("Nothing here to count.", []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_runs_and_digits(text: str, expected: list[tuple[str, str]]) -> None:
    runs = english_number_runs(text)
    assert [(r.text, r.digits) for r in runs] == expected
    for run in runs:
        assert text[run.start : run.end] == run.text


def test_min_digits_keeps_only_long_runs() -> None:
    text = "two kids, one dog, and the number nine one six five five five"
    assert [r.digits for r in english_number_runs(text, min_digits=4)] == ["916555"]
