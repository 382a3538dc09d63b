"""Validation of the slang and theme YAML files: broken files fail loudly, with file/id/key."""

from __future__ import annotations

from pathlib import Path

import pytest

from earshot.errors import LexiconError
from earshot.language.lexicon import (
    BUILTIN_SLANG_PATH,
    load_slang_lexicon,
    load_themes,
)
from earshot.language.slang import SlangMatcher

GOOD_ENTRY = """
  - id: tapochki
    forms: ["тапочки"]
    gloss: "test gloss"
    category: equipment
    source: "test"
"""


def write(tmp_path: Path, body: str, name: str = "lexicon.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def load_only(path: Path) -> None:
    load_slang_lexicon(path, builtin=None)


def test_builtin_lexicon_loads_with_unique_ids() -> None:
    lexicon = load_slang_lexicon()
    ids = [entry.id for entry in lexicon.entries]
    assert len(ids) == len(set(ids)) >= 90
    assert lexicon.paths == (BUILTIN_SLANG_PATH,)


def test_good_extra_file_loads(tmp_path: Path) -> None:
    lexicon = load_slang_lexicon(write(tmp_path, "entries:" + GOOD_ENTRY), builtin=None)
    assert [entry.id for entry in lexicon.entries] == ["tapochki"]
    assert lexicon.entries[0].forms == ("тапочки",)


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        (
            "entries:\n  - id: x1\n    forms: [a]\n    gloss: g\n    category: places\n"
            "    source: s\n    colour: red\n",
            ["x1", "'colour'", "unknown key"],
        ),
        (
            "entries:" + GOOD_ENTRY + GOOD_ENTRY,
            ["tapochki", "'id'", "duplicate"],
        ),
        (
            "entries:\n  - id: bad_re\n    patterns: ['груз(200']\n    gloss: g\n"
            "    category: casualties\n    source: s\n",
            ["bad_re", "'patterns'", "invalid regex"],
        ),
        (
            "entries:\n  - id: empty_re\n    patterns: ['x*']\n    gloss: g\n"
            "    category: casualties\n    source: s\n",
            ["empty_re", "'patterns'", "empty"],
        ),
        (
            "entries:\n  - id: noforms\n    forms: []\n    gloss: g\n    category: places\n"
            "    source: s\n",
            ["noforms", "'forms'"],
        ),
        (
            "entries:\n  - id: blank\n    forms: ['  ']\n    gloss: g\n    category: places\n"
            "    source: s\n",
            ["blank", "'forms'"],
        ),
        (
            "entries:\n  - id: punct\n    forms: ['!!']\n    gloss: g\n    category: places\n"
            "    source: s\n",
            ["punct", "'forms'", "no word"],
        ),
        (
            "entries:\n  - id: amb\n    forms: [яма]\n    ambiguous: true\n    gloss: g\n"
            "    category: punishment\n    source: s\n",
            ["amb", "'requires'"],
        ),
        (
            "entries:\n  - id: req\n    forms: [яма]\n    requires: [сидеть]\n    gloss: g\n"
            "    prevents: pits\n    category: punishment\n    source: s\n",
            ["req", "'ambiguous'"],
        ),
        (
            "entries:\n  - id: noprev\n    forms: [яма]\n    excludes: [огород]\n    gloss: g\n"
            "    category: punishment\n    source: s\n",
            ["noprev", "'prevents'", "false positive"],
        ),
        (
            "entries:\n  - id: nosrc\n    forms: [яма]\n    gloss: g\n    category: places\n",
            ["nosrc", "'sources'"],
        ),
        (
            "entries:\n  - id: cat\n    forms: [яма]\n    gloss: g\n    category: food\n"
            "    source: s\n",
            ["cat", "'category'", "food"],
        ),
        (
            "entries:\n  - id: nogloss\n    forms: [яма]\n    category: places\n    source: s\n",
            ["nogloss", "'gloss'"],
        ),
        (
            "entries:\n  - id: Bad-Id\n    forms: [яма]\n    gloss: g\n    category: places\n"
            "    source: s\n",
            ["'id'", "Bad-Id"],
        ),
        (
            "entries:\n  - id: flag\n    forms: [яма]\n    slur: 'yes'\n    gloss: g\n"
            "    category: places\n    source: s\n",
            ["flag", "'slur'"],
        ),
        ("entries: []\n", ["non-empty"]),
        ("entrys:\n  - id: a\n", ["unknown top-level"]),
        ("entries: [\n", ["not valid YAML"]),
    ],
)
def test_broken_lexicons_are_rejected(tmp_path: Path, body: str, needles: list[str]) -> None:
    path = write(tmp_path, body)
    with pytest.raises(LexiconError) as caught:
        load_only(path)
    message = str(caught.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(LexiconError, match=r"nope\.yaml"):
        load_only(missing)


def test_extra_lexicon_merges_over_builtin(tmp_path: Path) -> None:
    extra = write(
        tmp_path,
        "entries:"
        + GOOD_ENTRY
        + '  - id: mobik\n    forms: ["мобик"]\n    gloss: "overridden"\n'
        + "    category: personnel\n    source: local\n",
    )
    lexicon = load_slang_lexicon(extra)
    assert lexicon.paths == (BUILTIN_SLANG_PATH, extra)
    assert len(lexicon.entries) == len(load_slang_lexicon().entries) + 1
    matcher = SlangMatcher(lexicon)
    hits = {hit.term: hit.gloss for hit in matcher.find("Мобики купили тапочки.")}
    assert hits == {"mobik": "overridden", "tapochki": "test gloss"}


def test_extra_lexicon_is_validated_too(tmp_path: Path) -> None:
    extra = write(tmp_path, "entries:\n  - id: soch\n    forms: [x]\n")
    with pytest.raises(LexiconError, match="soch"):
        load_slang_lexicon(extra)


def test_theme_file_errors_name_file_theme_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "themes:\n  - id: t1\n    label: T\n    strong:\n      phrasez: [a]\n",
        "themes.yaml",
    )
    with pytest.raises(LexiconError) as caught:
        load_themes(path, builtin=None)
    assert all(s in str(caught.value) for s in (str(path), "t1", "strong.phrasez"))


def test_theme_bad_regex_and_duplicate(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "themes:\n  - id: t2\n    label: T\n    weak:\n      patterns: ['(']\n",
        "bad.yaml",
    )
    with pytest.raises(LexiconError, match=r"t2.*weak\.patterns.*invalid regex"):
        load_themes(bad, builtin=None)
    dup = write(
        tmp_path,
        "themes:\n" + "  - id: t3\n    label: T\n    strong:\n      phrases: [деньги]\n" * 2,
        "dup.yaml",
    )
    with pytest.raises(LexiconError, match=r"t3.*duplicate"):
        load_themes(dup, builtin=None)


def test_theme_without_cues_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "themes:\n  - id: t4\n    label: T\n", "empty.yaml")
    with pytest.raises(LexiconError, match=r"t4.*no cues"):
        load_themes(path, builtin=None)
