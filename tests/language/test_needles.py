"""The literal pre-filter never drops a match: every match holds one of the needles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from earshot.language.evaluation import load_labelled
from earshot.language.lexicon import load_slang_lexicon, load_themes
from earshot.language.needles import needles

DEV = load_labelled(Path(__file__).parent / "data" / "dev_set.yaml")


def _patterns() -> list[str]:
    out = [p for e in load_slang_lexicon().entries for p in e.patterns]
    for theme in load_themes().themes:
        for cues in (theme.strong, theme.weak, theme.negative):
            out.extend(cues.patterns)
    return out


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("позици(?:ях|ями)", {"позиция"}),
        ("груз(?:а|у)?\\s*200", {"груз"}),
        ("при?летел[оаи]", {"летел"}),
        ("(?:остал\\w+|вернул\\w+)", {"остал", "вернул"}),
        ("(?:на|с)\\s+\\w+", None),  # nothing of 3 letters is certain
        ("(?:ab|позиция)", None),  # one branch has no needle
        ("x{0,3}позиция", {"позиция"}),
    ],
)
def test_needles_of_patterns(pattern: str, expected: set[str] | None) -> None:
    found = needles(pattern)
    assert (None if found is None else set(found)) == expected


def test_no_match_in_the_development_set_lacks_its_needles() -> None:
    texts = [row.text for row in DEV]
    checked = 0
    for pattern in _patterns():
        needed = needles(pattern)
        regex = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)
        for text in texts:
            for match in regex.finditer(text):
                checked += 1
                if needed is not None:
                    assert any(n in match.group(0).lower() for n in needed), (pattern, text)
    assert checked >= 50


def test_scan_reports_needles_inside_needles() -> None:
    from earshot.language.needles import NeedleScan

    scan = NeedleScan([frozenset({"позиция"}), frozenset({"позици"}), None, frozenset({"груз"})])
    assert scan.present("на позициях тихо") == {"позиция", "позици"}
    assert scan.present("груз 200") == {"груз"}
    assert scan.present("ничего") == frozenset()
    assert NeedleScan([None]).present("что угодно") == frozenset()
