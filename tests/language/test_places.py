import pytest

from earshot.language.places import Gazetteer, gazetteer, in_war_zone, war_zone


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return gazetteer()


@pytest.mark.parametrize(
    ("mention", "english"),
    [
        ("Бахмут", "Bakhmut"),
        ("в Бахмуте", "Bakhmut"),
        ("Артемовск", "Bakhmut"),
        ("Артёмовске", "Bakhmut"),
        ("под Соледаром", "Soledar"),
        ("Клещеевка", "Klishchiivka"),
        ("у Клещеевки", "Klishchiivka"),
        ("Авдеевку", "Avdiyivka"),
        ("Херсоне", "Kherson"),
        ("в Новой Каховке", "Nova Kakhovka"),
        ("Донецкой области", "Donetsk Oblast"),
    ],
)
def test_front_line_places(gaz: Gazetteer, mention: str, english: str) -> None:
    best = gaz.geocode(mention)[0]
    assert best.name == english
    assert best.country == "UA"
    assert in_war_zone(best)


@pytest.mark.parametrize(
    ("mention", "english"),
    [("Кострома", "Kostroma"), ("из Костромы", "Kostroma"), ("Тамбове", "Tambov")],
)
def test_home_towns_in_russia(gaz: Gazetteer, mention: str, english: str) -> None:
    candidates = gaz.geocode(mention)
    assert (candidates[0].name, candidates[0].country) == (english, "RU")
    assert candidates[0].population > 100_000
    assert not in_war_zone(candidates[0])


def test_other_candidates_kept(gaz: Gazetteer) -> None:
    candidates = gaz.geocode("Костромы")
    assert {c.country for c in candidates} >= {"RU", "UA"}
    assert candidates[0].population > candidates[-1].population


def test_countries_and_border_regions(gaz: Gazetteer) -> None:
    assert gaz.geocode("Украины")[0].kind == "country"
    belgorod = gaz.geocode("Белгороде")[0]
    assert (belgorod.country, belgorod.admin1) == ("RU", "09")
    assert in_war_zone(belgorod)
    assert gaz.geocode("Нигдевилль") == []


def test_war_zone_entries_are_geocodable(gaz: Gazetteer) -> None:
    zone = war_zone()
    for place, names in zone.region_places + zone.settlements:
        for name in names:
            assert place in gaz.geocode(name), name
        assert in_war_zone(place)
