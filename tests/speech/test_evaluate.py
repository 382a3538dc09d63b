"""Error rates against hand counts and an independent (textbook) edit distance."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from earshot.pipeline.asr_eval import normalise_ru
from earshot.speech.evaluate import char_errors, edit_distance, word_errors


def _textbook(a: list[str], b: list[str]) -> int:
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
    return table[-1][-1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from("абвгд"), max_size=12),
    st.lists(st.sampled_from("абвгд"), max_size=12),
)
def test_edit_distance_matches_the_textbook(a: list[str], b: list[str]) -> None:
    assert edit_distance(a, b) == _textbook(a, b)


# Hand-made pairs: (reference, hypothesis, word errors counted by hand, reference words).
PAIRS = [
    ("Мам, привет! Нас двести человек тут.", "мам привет нас 200 человек", 1, 6),
    ("Ёлки, береги себя.", "елки береги сибя", 1, 3),
    ("Сто двадцать третий блокпост", "123 блокпост", 0, 2),
    ("У нас трёхсотые и 200-е", "у нас 300 и двухсотые", 0, 5),
    ("Позвони в субботу вечером", "позвони в субботу в вечером", 1, 4),
    ("Да да, слышу", "", 3, 3),
]


def test_hand_counted_pairs() -> None:
    for reference, hypothesis, errors, words in PAIRS:
        counted = word_errors(normalise_ru(reference), normalise_ru(hypothesis))
        assert (counted.errors, counted.reference) == (errors, words), reference


def test_normalisation() -> None:
    assert normalise_ru("Ёжик, ЁЛКИ-палки!") == ["ежик", "елки", "палки"]
    assert normalise_ru("двести пятьдесят") == normalise_ru("250") == ["250"]
    assert normalise_ru("в 5-го числа") == ["в", "5", "числа"]


def test_character_errors() -> None:
    reference = normalise_ru("Мам, привет! Нас двести человек тут.")
    counted = char_errors(reference, normalise_ru("мам привет нас 200 человек"))
    assert counted.reference == len("мам привет нас 200 человек тут") == 30
    assert counted.errors == 4 and counted.rate == 4 / 30
    assert word_errors([], []).rate is None
