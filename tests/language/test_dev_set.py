"""The development set: its shape, its coverage of the lexicon, and the floors it holds us to.

The set (tests/language/data/dev_set.yaml, see the README there) is written in the register of
soldiers' calls and is what bench/language.py reports on; these tests keep the lexicon, the
themes and the set in step, and make every context rule earn its place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from earshot.errors import LexiconError
from earshot.language.evaluation import (
    context_rule_effects,
    load_labelled,
    score_slang,
    score_themes,
)
from earshot.language.lexicon import load_slang_lexicon, load_themes
from earshot.language.slang import default_matcher
from earshot.language.themes import default_tagger

DEV_PATH = Path(__file__).parent / "data" / "dev_set.yaml"
DEV = load_labelled(DEV_PATH)
LEXICON = load_slang_lexicon()


def test_set_is_large_with_many_negatives() -> None:
    assert len(DEV) >= 400
    assert sum(1 for row in DEV if not row.jargon) >= 100
    assert len({row.text for row in DEV}) == len(DEV), "duplicate sentences"


def test_labels_name_known_terms_and_themes() -> None:
    theme_ids = {theme.id for theme in load_themes().themes}
    for row in DEV:
        assert row.terms <= LEXICON.ids, (row.text, row.terms - LEXICON.ids)
        assert set(row.themes) <= theme_ids, (row.text, row.themes)


def test_every_entry_is_used_in_the_set() -> None:
    used = {term for row in DEV for term in row.terms}
    missing = sorted(LEXICON.ids - used)
    assert not missing, f"no development sentence uses {missing}"


def test_jargon_floor() -> None:
    total, per = score_slang(default_matcher(), DEV)
    assert total.precision >= 0.95, total.as_dict()
    assert total.recall >= 0.9, total.as_dict()
    assert per, "per-category scores"


def test_themes_floor() -> None:
    total, per = score_themes(default_tagger(), DEV)
    assert total.precision >= 0.9, total.as_dict()
    assert total.recall >= 0.8, total.as_dict()
    assert "casualties" in per


def test_every_context_rule_removes_more_false_positives_than_true_hits() -> None:
    effects = context_rule_effects(LEXICON, DEV, default_matcher())
    assert len(effects) == sum(1 for e in LEXICON.entries if e.requires or e.excludes)
    losers = [e for e in effects if not e.kept]
    assert not losers, [
        (e.term, e.prevents, e.false_positives_removed, e.true_hits_lost) for e in losers
    ]
    assert all(e.prevents for e in effects)


def test_a_rule_that_blocks_true_hits_is_reported(tmp_path: Path) -> None:
    """The measurement can fail: a rule whose context never occurs loses true hits."""
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text(
        "entries:\n  - id: arta\n    forms: [арта]\n    gloss: artillery\n"
        "    category: weapons\n    source: test\n    ambiguous: true\n"
        "    requires: [виолончель]\n    prevents: nothing real\n",
        encoding="utf-8",
    )
    from earshot.language.slang import SlangMatcher

    effects = context_rule_effects(
        load_slang_lexicon(lexicon), DEV, SlangMatcher(load_slang_lexicon(lexicon))
    )
    rule = next(e for e in effects if e.term == "arta")
    assert rule.true_hits_lost >= 1 and not rule.kept


def test_loss_statements_without_cue_words() -> None:
    tagger = default_tagger()
    for text in (
        "Из роты осталось семеро.",
        "Ушли тридцать, вернулись четверо.",
        "Никто из разведки не вернулся.",
        "В живых только двое из взвода.",
    ):
        assert "casualties" in {hit.theme for hit in tagger.tag(text)}, text
    for text in (
        "Никто не погиб, все целы.",
        "Он не ранен, просто устал.",
        "Из магазина вернулись.",
    ):
        assert "casualties" not in {hit.theme for hit in tagger.tag(text)}, text


@pytest.mark.parametrize(
    "body",
    [
        "sentences: [{text: 'Трое двухсотых', jargon: {пятисотых: '500'}}]\n",
        "sentences: [{jargon: {}}]\n",
        "rows: []\n",
    ],
)
def test_broken_sets_are_rejected(tmp_path: Path, body: str) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(LexiconError, match=r"set\.yaml"):
        load_labelled(path)
