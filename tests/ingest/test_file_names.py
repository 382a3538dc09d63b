"""Recorder-app file names: every built-in pattern's fictional examples, user patterns."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from earshot.errors import ConfigError
from earshot.ingest.filenames import builtin_patterns, load_patterns, read_file_name

PATTERNS, _ = builtin_patterns()
EXAMPLES = [
    pytest.param(pattern.id, name, expect, id=f"{pattern.id}:{name}")
    for pattern in PATTERNS
    for name, expect in pattern.examples
]


def test_every_pattern_has_an_example_and_a_known_status() -> None:
    assert len(PATTERNS) >= 15
    for pattern in PATTERNS:
        assert pattern.examples, pattern.id
        assert pattern.status in ("documented", "observed", "reported")


@pytest.mark.parametrize(("pattern_id", "name", "expect"), EXAMPLES)
def test_each_example_is_read_by_its_own_pattern(
    pattern_id: str, name: str, expect: dict[str, str]
) -> None:
    facts = read_file_name(name, timezone="Europe/Moscow")
    assert facts is not None, name
    assert facts.pattern == pattern_id
    assert facts.basis == f"file name: {pattern_id}"
    assert facts.number == expect.get("number")
    assert facts.name == expect.get("name")
    assert facts.direction == expect.get("direction")
    when = expect.get("started_at")
    if when is None:
        assert facts.started_at is None
    else:
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:  # the phone's clock: read in the case zone
            moment = moment.replace(tzinfo=ZoneInfo("Europe/Moscow"))
        assert facts.started_at == moment.astimezone(UTC)


@pytest.mark.parametrize(
    "name", ["New Recording 3.m4a", "voice_001.wav", "IMG_1234.mp3", "track.amr", "a_b_c.wav"]
)
def test_names_without_facts_give_nothing(name: str) -> None:
    assert read_file_name(name) is None


def test_user_patterns_are_tried_first_and_validated(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "patterns:\n"
        "  - id: unit_box\n"
        "    app: the unit's recording box\n"
        "    regex: '^REC(?P<datetime>\\d{12})-(?P<number>\\d{11})-(?P<direction>вх|исх)$'\n"
        "    datetime: yyMMddHHmmss\n",
        encoding="utf-8",
    )
    mine = load_patterns(path)
    facts = read_file_name("REC230305142200-79161234567-исх.wav", extra=mine, timezone="UTC")
    assert facts is not None and facts.pattern == "unit_box"
    assert (facts.number, facts.direction) == ("+79161234567", "outgoing")
    assert facts.started_at == datetime(2023, 3, 5, 14, 22, tzinfo=UTC)
    bad = tmp_path / "bad.yaml"
    for text, message in [
        ("patterns:\n  - id: x\n    regex: '('\n", "does not compile"),
        ("patterns:\n  - id: x\n    regex: '^(?P<when>\\d+)$'\n", "named groups must be"),
        ("patterns:\n  - id: x\n    regex: '^(?P<date>\\d+)$'\n", "needs a 'date' format"),
        ("patterns:\n  - {id: x, regex: a, colour: red}\n", "unknown key"),
        ("nothing: here\n", "needs a 'patterns' list"),
    ]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_patterns(bad)
