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


def test_correcting_a_segment_versions_it_and_reanalyses_only_it(world: World) -> None:
    import pytest

    from earshot import workbench
    from earshot.errors import StaleEditError
    from earshot.language.analysis import current_transcript
    from earshot.search import search
    from earshot.security.errors import PermissionDeniedError
    from earshot.security.roles import Actor, Role

    from .test_browser_workbench import _call_of

    editor = Actor("editor", Role.EDITOR)
    call_id = _call_of(world, "call12.wav")
    with world.own.session() as session:
        transcript = current_transcript(session, call_id)
        assert transcript is not None
        segment = list(transcript.segments)[5]
        others = {s.id: s.text for s in transcript.segments if s.id != segment.id}
        assert not search(session, "Кузьмичу").hits
        with pytest.raises(PermissionDeniedError):
            workbench.correct_segment_text(
                session, Actor("viewer", Role.VIEWER), call_id=call_id,
                segment_id=segment.id, text="нет", expected_version=1,
            )  # fmt: skip
        saved = workbench.correct_segment_text(
            session, editor, call_id=call_id, segment_id=segment.id,
            text="Хорошо, передам Кузьмичу. Только не уезжай в Сочи, прошу.", expected_version=1,
        )  # fmt: skip
        assert saved.version == 2 and saved.analysis is not None
        assert "sochi" in saved.analysis["slang"]  # the slang decoder read the new words
        hits = search(session, "Кузьмичу").hits
        assert [h.segment for h in hits] == [segment.id]
        with pytest.raises(StaleEditError):
            workbench.correct_segment_text(
                session, editor, call_id=call_id, segment_id=segment.id,
                text="Хорошо.", expected_version=1,
            )  # fmt: skip
        versions = workbench.segment_text_versions(
            session, editor, call_id=call_id, segment_id=segment.id
        )
        assert [(v.version, v.actor) for v in versions] == [(1, "transcript"), (2, "editor")]
        assert versions[0].text.startswith("Хорошо, передам. Только не делай")
        assert {s.id: s.text for s in transcript.segments if s.id != segment.id} == others
