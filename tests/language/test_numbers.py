import pytest

from earshot.language.numbers import find_phones, parse_number, spoken_digits, spoken_numbers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("двести", 200),
        ("двухсотый", 200),
        ("двенадцатого", 12),
        ("сто двадцать три", 123),
        ("тысяча девятьсот девяностого", 1990),
        ("две тысячи двадцать третьего", 2023),
        ("сорока пяти", 45),
        ("ноль", 0),
        ("пятидесяти", 50),
    ],
)
def test_parse_number(text: str, value: int) -> None:
    assert parse_number(text) == value


def test_ordinal_flag_and_groups() -> None:
    found = spoken_numbers("сто пятьдесят пятая бригада и двадцать пятнадцать")
    assert [(n.value, n.ordinal) for n in found] == [(155, True), (20, False), (15, False)]


def test_spoken_digits_keeps_zero_and_plus() -> None:
    text = "восемь девятьсот пятнадцать сто двадцать три сорок пять шестьдесят семь"
    assert spoken_digits(text) == "89151234567"
    assert spoken_digits("плюс семь ноль пять") == "+705"


E164 = "+79151234567"


@pytest.mark.parametrize(
    "text",
    [
        "звони 8 (915) 123-45-67 вечером",
        "+7-915-123-4567",
        "89151234567",
        "+7 915 123 45 67",
        "8-915-123-45-67",
        "8 915 1234567",
        "79151234567",
        "номер (915) 123-45-67 запиши",
        "восемь девятьсот пятнадцать сто двадцать три сорок пять шестьдесят семь",
        "плюс семь девятьсот пятнадцать сто двадцать три сорок пять шестьдесят семь",
        "восемь 915 сто двадцать три 45 67",
        "восемь девять один пять один два три четыре пять шесть семь",
        "восемь, девятьсот пятнадцать, сто двадцать три, сорок пять, шестьдесят семь",
        "+7(915)123-45-67",
        "запиши: восьмёрка нет, восемь девятьсот пятнадцать сто двадцать три 45 67",
    ],
)
def test_phone_formats(text: str) -> None:
    phones = find_phones(text)
    assert [p.e164 for p in phones] == [E164]
    assert text[phones[0].start : phones[0].end] == phones[0].text


def test_phone_next_to_date_and_two_numbers() -> None:
    text = "12.03.1990 89151234567, а второй +7 916 765 43 21"
    assert [p.e164 for p in find_phones(text)] == [E164, "+79167654321"]
    assert find_phones("12.03.1990")[:1] == []
    assert find_phones("в/ч 12345") == []


def test_ukrainian_number_with_country_code() -> None:
    assert [p.e164 for p in find_phones("+380 67 123 45 67")] == ["+380671234567"]
