"""Library functions behind the workbench pages of issue 13, on the served sample case."""

from __future__ import annotations

from earshot.analysis.places_map import place_map, record_place_names

from .conftest import World


def test_the_map_pins_no_place_the_slang_decoder_read_as_slang(world: World) -> None:
    with world.own.session() as session:
        found = place_map(session)
    names = {p.name for p in found.places}
    assert "Sochi" not in names, names
    sochi = [s for s in found.read_as_slang if s.text.endswith("Сочи")]
    assert sochi and "AWOL" in sochi[0].gloss
    # Call-record locations are mapped: Соледар is the record of call03, said by nobody there.
    recorded = {p.name: p for p in found.places if p.record_calls}
    assert any(p.war_zone for p in recorded.values()), recorded
    assert all(isinstance(p.as_dict()["record_calls"], list) for p in found.places)


def test_record_place_names_keep_only_the_place_words() -> None:
    assert record_place_names("Костромская обл., полигон") == ["Костромская"]
    assert record_place_names("Соледар") == ["Соледар"]
    assert record_place_names("Бахмутское направление") == ["Бахмутское"]
