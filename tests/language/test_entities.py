from pathlib import Path

import pytest
import yaml

from earshot.language.entities import Entity, EntityExtractor, extract_patterns
from earshot.language.names import first_names


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor()


def _kinds(entities: list[Entity], kind: str) -> list[Entity]:
    return [e for e in entities if e.kind == kind]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Пиши на в/ч 12345, там разберутся", "12345"),
        ("это воинская часть 54321 под Луганском", "54321"),
        ("нас перевели в 155-ю бригаду", "155 бригада"),
        ("3-й батальон опять без связи", "3 батальон"),
        ("сто пятьдесят пятая бригада стоит там", "155 бригада"),
        ("он в 123-м полку служит", "123 полк"),
    ],
)
def test_units(text: str, value: str) -> None:
    (unit,) = _kinds(extract_patterns(text), "UNIT")
    assert unit.value == value
    assert text[unit.start : unit.end] == unit.text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("живу: ул. Ленина, д. 5, кв. 12, приезжай", "ул Ленина, д. 5, кв. 12"),
        ("мы на улице Садовой, дом семь", "улица Садовой, д. 7"),
        ("проспект Мира 10, третий подъезд", "проспект Мира, д. 10"),
        ("переулок Тихий, дом 3, квартира сорок два", "переулок Тихий, д. 3, кв. 42"),
    ],
)
def test_addresses(text: str, value: str) -> None:
    (address,) = _kinds(extract_patterns(text), "ADDRESS")
    assert address.value == value


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("приеду 12 марта", "DATE", "--03-12"),
        ("это было 12.03.2023", "DATE", "2023-03-12"),
        ("в отпуск двенадцатого марта", "DATE", "--03-12"),
        ("двадцать третьего февраля две тысячи двадцать третьего года", "DATE", "2023-02-23"),
        ("он родился двенадцатого марта девяностого года", "DOB", "1990-03-12"),
        ("родилась 05.07.1988, в Туле", "DOB", "1988-07-05"),
        ("брат 1995 года рождения", "DOB", "1995"),
        ("он девяносто пятого года рождения", "DOB", "1995"),
        ("дата рождения 3 мая 1991 года", "DOB", "1991-05-03"),
    ],
)
def test_dates(text: str, kind: str, value: str) -> None:
    dates = [e for e in extract_patterns(text) if e.kind in ("DATE", "DOB")]
    assert [(d.kind, d.value) for d in dates] == [(kind, value)]


def test_phone_digits_are_not_dates_or_units() -> None:
    entities = extract_patterns("в/ч 12345, звони 8 915 123 45 67 или 12.03.2023")
    assert [e.kind for e in entities] == ["UNIT", "PHONE", "DATE"]
    assert _kinds(entities, "PHONE")[0].value == "+79151234567"


NER_CASES = [
    (
        "Слушай, Андрюха, я вчера с Ромкой говорил, он под Бахмутом.",
        ["Андрюха", "Ромкой"],
        ["Бахмутом"],
    ),
    ("Мам, у нас всё нормально, стоим под Донецком.", [], ["Донецком"]),
    ("Передай Светлане, что я в Ростове.", ["Светлане"], ["Ростове"]),
    ("Игорь Котов вернулся в Кострому.", ["Игорь Котов"], ["Кострому"]),
    ("Нас из Белгорода везут куда-то под Курск.", [], ["Белгорода", "Курск"]),
    ("Серёга звонил из Москвы, всё хорошо.", ["Серёга"], ["Москвы"]),
    ("Путин опять выступал, Шойгу рядом стоял.", ["Путин", "Шойгу"], []),
    ("Наташа, поцелуй детей, я из Херсона позвоню.", ["Наташа"], ["Херсона"]),
    ("Были в Авдеевке, теперь под Покровском.", [], ["Авдеевке", "Покровском"]),
    ("Дима Соколов ранен, его в Луганск отправили.", ["Дима Соколов"], ["Луганск"]),
    ("Скажи Паше, пусть едет в Тамбов к матери.", ["Паше"], ["Тамбов"]),
    ("Мы с Олегом в Мариуполе неделю стояли.", ["Олегом"], ["Мариуполе"]),
    ("Ваня из Тулы передаёт привет.", ["Ваня"], ["Тулы"]),
    ("Тётя Галя в Воронеже живёт теперь.", ["Галя"], ["Воронеже"]),
    ("Командир, Виктор Петрович, в Горловку уехал.", ["Виктор Петрович"], ["Горловку"]),
    ("Ксюша в Крым поехала к подруге.", ["Ксюша"], ["Крым"]),
    ("Лёха под Соледаром был.", ["Лёха"], ["Соледаром"]),
    ("Пригожин записал видео, а в Бахмуте всё горит.", ["Пригожин"], ["Бахмуте"]),
    ("Я в Белгороде, Максим тоже тут.", ["Максим"], ["Белгороде"]),
    ("Катя из Саратова звонила.", ["Катя"], ["Саратова"]),
    ("Юрий Николаевич нас в Донецк повезёт.", ["Юрий Николаевич"], ["Донецк"]),
    ("В Запорожье тихо, Коля спит.", ["Коля"], ["Запорожье"]),
    ("Денис с Артёмом на Украине сейчас.", ["Денис", "Артёмом"], ["Украине"]),
    ("Отец в Краснодаре, у него всё хорошо.", [], ["Краснодаре"]),
    ("Аня передала посылку через Рязань.", ["Аня"], ["Рязань"]),
    ("Стас с Вадиком в Харьков заходили.", ["Стас", "Вадиком"], ["Харьков"]),
    ("Костя из Перми приехал к нам.", ["Костя"], ["Перми"]),
    ("Мы под Херсоном, Рома рядом.", ["Рома"], ["Херсоном"]),
    ("Оля говорит, в Курске опять тревога.", ["Оля"], ["Курске"]),
    (
        "Зеленский что-то сказал, Лёша слышал по радио в Луганске.",
        ["Зеленский", "Лёша"],
        ["Луганске"],
    ),
]


@pytest.fixture(scope="module")
def ner_results(extractor: EntityExtractor) -> list[list[Entity]]:
    return extractor.extract_many([text for text, _, _ in NER_CASES])


@pytest.mark.parametrize("index", range(len(NER_CASES)))
def test_ner_on_colloquial_sentences(ner_results: list[list[Entity]], index: int) -> None:
    text, persons, places = NER_CASES[index]
    found = ner_results[index]
    assert [e.text for e in _kinds(found, "PER")] == persons
    assert [e.text for e in _kinds(found, "LOC")] == places
    for entity in found:
        assert text[entity.start : entity.end] == entity.text


def test_normal_forms_and_single_extract(extractor: EntityExtractor) -> None:
    entities = extractor.extract("Позвони Игорю Котову в Кострому, Министерство обороны молчит.")
    normals = {e.kind: e.normal for e in entities}
    assert normals["PER"] == "Игорь Котов"
    assert normals["LOC"] == "Кострома"
    assert normals["ORG"] == "Министерство обороны"
    assert extractor.extract_many(["", "   "]) == [[], []]


@pytest.mark.parametrize(
    "text",
    ["Спальник нужен нормальный.", "Спальник мне пришли.", "Спальник тут у всех мокрый."],
)
def test_capitalised_common_noun_is_no_person(extractor: EntityExtractor, text: str) -> None:
    assert not _kinds(extractor.extract(text), "PER")


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("Спальник привези, холодно ночью.", []),  # NER: LOC "Спальник привези"
        ("Мы под Бахмутом стоим.", ["Бахмутом"]),  # NER: LOC "Бахмутом стоим"
        ("Дом снесло, в Пришибе всё горит.", ["Пришибе"]),  # a village pymorphy also parses
    ],
)
def test_verbs_and_common_nouns_are_no_places(
    extractor: EntityExtractor, text: str, places: list[str]
) -> None:
    found = extractor.extract(text)
    assert [e.text for e in _kinds(found, "LOC")] == places
    assert not _kinds(found, "PER")


def test_common_word_kept_when_it_names_a_known_person(extractor: EntityExtractor) -> None:
    text = "Калина сказал, что завтра выходим."  # a callsign; pymorphy reads a noun
    assert not _kinds(extractor.extract(text), "PER")
    (person,) = _kinds(extractor.extract(text, lambda word: word == "Калина"), "PER")
    assert person.text == "Калина"
    (serega,) = _kinds(extractor.extract("Спальник у Серёги возьми."), "PER")
    assert serega.text == "Серёги"


def _detected_names(entities: list[Entity], text: str) -> set[str]:
    """Person names: NER PER spans plus capitalised words that link to a first name."""
    names = {e.text for e in entities if e.kind == "PER"}
    covered = [(e.start, e.end) for e in entities if e.kind == "PER"]
    import re

    for m in re.finditer(r"[А-ЯЁ][а-яё]+", text):
        inside = any(s <= m.start() < e for s, e in covered)
        if not inside and first_names(m.group(0)):
            names.add(m.group(0))
    return names


def test_person_name_detection_precision_recall(extractor: EntityExtractor) -> None:
    path = Path(__file__).parent / "data" / "names_labelled.yaml"
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["sentences"]
    assert len(items) >= 50
    results = extractor.extract_many([item["text"] for item in items])
    tp = fp = fn = 0
    for item, entities in zip(items, results, strict=True):
        gold = set(item["persons"])
        found = _detected_names(entities, item["text"])
        tp += len(gold & found)
        fp += len(found - gold)
        fn += len(gold - found)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"person names: precision={precision:.3f} recall={recall:.3f} (tp={tp} fp={fp} fn={fn})")
    assert precision >= 0.9
    assert recall >= 0.9
