import pytest

from earshot.language.morph import analyzer
from earshot.language.names import (
    KnownPerson,
    PersonDirectory,
    _name_entries,
    _public_figures,
    first_names,
    is_public_figure,
    name_forms,
    public_figure,
    self_identification,
)

CASES = ("gent", "datv", "ablt", "loct")


def _inflections(word: str) -> set[str]:
    """Forms of `word` in several cases, generated independently of the module."""
    out = {word.lower()}
    nominatives = [
        p
        for p in analyzer().parse(word.lower())
        if p.tag.POS == "NOUN" and p.tag.case == "nomn" and p.tag.number != "plur"
    ]
    if not nominatives:
        return out
    parse = sorted(nominatives, key=lambda p: "Name" not in p.tag)[0]
    for case in CASES:
        form = parse.inflect({case, "sing"})
        if form is not None:
            out.add(form.word)
    return out


ENTRIES = _name_entries()


def test_at_least_80_names() -> None:
    assert len(ENTRIES) >= 80


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_name_and_diminutive_resolves(entry: object) -> None:
    name = entry.name  # type: ignore[attr-defined]
    for word in (name, *entry.diminutives):  # type: ignore[attr-defined]
        for form in _inflections(word):
            assert name in first_names(form), (word, form)
            assert name in first_names(form.capitalize())


def test_colloquial_examples() -> None:
    assert first_names("Андрюшей") == {"Андрей"}
    assert first_names("Ромычу") == {"Роман"}
    assert first_names("Дрюне") == {"Андрей"}
    assert {"Александр", "Александра"} <= first_names("Сашей")
    assert first_names("короче") == set()


@pytest.mark.parametrize(
    ("word", "name"),
    [
        ("Олечка", "Ольга"),
        ("Олечке", "Ольга"),
        ("Андрюшенька", "Андрей"),
        ("Андрюшеньку", "Андрей"),
        ("Светуля", "Светлана"),
        ("Натусе", "Наталья"),
        ("Коленькой", "Николай"),
    ],
)
def test_affectionate_forms(word: str, name: str) -> None:
    assert first_names(word) == {name}
    directory = PersonDirectory([KnownPerson("p1", [f"Лапина {name} Петровна"])])
    (match,) = directory.match(word)
    assert match.person_id == "p1" and "diminutive" in match.basis


def test_name_forms_include_diminutives() -> None:
    forms = name_forms("Андрей")
    assert {"андрей", "андрея", "андрею", "андреем", "андрее", "андрюша", "андрюши"} <= forms
    assert {"дрюня", "андрюхой"} <= forms
    assert "роман" not in forms


@pytest.fixture(scope="module")
def directory() -> PersonDirectory:
    return PersonDirectory(
        [
            KnownPerson("p1", ["Петров Андрей Викторович"], ["Профессор"]),
            KnownPerson("p2", ["Котов Роман Игоревич"], ["Большой Кот"]),
            KnownPerson("p3", ["Андрей Сидоренко"]),
        ]
    )


@pytest.mark.parametrize(
    ("mention", "best", "basis"),
    [
        ("Андрей Петров", "p1", "first+surname"),
        ("Петрову Андрею Викторовичу", "p1", "first+patronymic+surname"),
        ("Петровым", "p1", "surname"),
        ("Андрею Викторовичу", "p1", "first+patronymic"),
        ("Профессора", "p1", "alias"),
        ("Ромычу", "p2", "diminutive"),
        ("Роману Игоревичу", "p2", "first+patronymic"),
        ("Большого Кота", "p2", "alias"),
        ("Сидоренко Андрюхе", "p3", "diminutive+surname"),
    ],
)
def test_directory_match(directory: PersonDirectory, mention: str, best: str, basis: str) -> None:
    matches = directory.match(mention)
    assert matches[0].person_id == best
    assert matches[0].basis == basis
    if len(matches) > 1:
        assert matches[0].score > matches[1].score


def test_first_name_alone_is_ambiguous_and_ranked_below_full(directory: PersonDirectory) -> None:
    only_first = directory.match("Андрюшей")
    assert {m.person_id for m in only_first} == {"p1", "p3"}
    full = directory.match("Андрей Сидоренко")[0]
    assert full.score > only_first[0].score
    assert directory.match("Василий") == []


FIGURES = _public_figures()[0]


@pytest.mark.parametrize("figure", FIGURES, ids=lambda f: f.name)
def test_every_public_figure(figure: object) -> None:
    surname = figure.name.split()[-1]  # type: ignore[attr-defined]
    for form in _inflections(surname):
        assert public_figure(form) == figure, form
    assert is_public_figure(figure.name)  # type: ignore[attr-defined]


def test_private_people_are_not_public() -> None:
    assert not is_public_figure("Андрей Петров")
    assert not is_public_figure("Рома")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Это Андрей, перезвони.", "Андрей"),
        ("Алло, это я, Игорь.", "Игорь"),
        ("Мам, это Рома, у нас всё нормально.", "Рома"),
        ("Здравствуйте, меня зовут Светлана.", "Светлана"),
        ("меня зовут Андрей Петров", "Андрей Петров"),
    ],
)
def test_self_identification(text: str, name: str) -> None:
    ((start, end, found),) = self_identification(text)
    assert found == name and text[start:end] == name


def test_no_self_identification_without_a_name() -> None:
    assert self_identification("это я, короче, звоню") == []
    assert self_identification("это всё ерунда") == []
