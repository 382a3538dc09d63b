"""ThemeTagger: every theme's examples and counter-examples, the strong/weak rule, call level."""

from __future__ import annotations

from pathlib import Path

import pytest

from earshot.errors import LexiconError
from earshot.language.lexicon import Theme, load_themes
from earshot.language.slang import default_matcher
from earshot.language.themes import ThemeOptions, ThemeTagger, default_tagger

THEMES = load_themes()
REQUIRED = {
    "wants_out",
    "casualties",
    "conditions",
    "violence",
    "commanders",
    "morale",
    "family",
    "money",
    "mobilization",
    "propaganda",
}

RULES_YAML = """
themes:
  - id: t_water
    label: Water
    strong:
      phrases: ["нет * вода"]
      slang: ["soch"]
    weak:
      phrases: ["холодно", "кашлять"]
      patterns: ['\\d+\\s*градус\\w*']
    negative:
      phrases: ["в кране"]
"""


@pytest.fixture(scope="module")
def tagger() -> ThemeTagger:
    return default_tagger()


@pytest.fixture
def rules(tmp_path: Path) -> ThemeTagger:
    path = tmp_path / "themes.yaml"
    path.write_text(RULES_YAML, encoding="utf-8")
    return ThemeTagger(load_themes(path, builtin=None), default_matcher())


def test_required_themes_exist() -> None:
    assert {theme.id for theme in THEMES.themes} >= REQUIRED


@pytest.mark.parametrize("theme", THEMES.themes, ids=lambda t: t.id)
def test_theme_examples_and_counter_examples(theme: Theme, tagger: ThemeTagger) -> None:
    assert theme.examples and theme.counter_examples, f"{theme.id}: add examples"
    for example in theme.examples:
        hits = [hit for hit in tagger.tag(example) if hit.theme == theme.id]
        assert hits, f"{theme.id}: not tagged in {example!r}"
        hit = hits[0]
        assert len(hit.cues) == len(hit.spans) >= 1
        for start, end in hit.spans:
            assert 0 <= start < end <= len(example)
    for counter in theme.counter_examples:
        assert theme.id not in [h.theme for h in tagger.tag(counter)], (theme.id, counter)


def test_one_strong_cue_is_enough(rules: ThemeTagger) -> None:
    text = "Опять нет питьевой воды."
    [hit] = rules.tag(text)
    assert hit.cues == ("нет * вода",)
    assert hit.spans == ((6, 23),)
    assert text[6:23] == "нет питьевой воды"


def test_one_weak_cue_is_not_enough_but_two_are(rules: ThemeTagger) -> None:
    assert rules.tag("Сегодня холодно.") == []
    [hit] = rules.tag("Холодно, все кашляют.")
    assert hit.theme == "t_water"
    assert hit.cues == ("холодно", "кашлять")
    assert hit.spans == ((0, 7), (13, 20))


def test_same_weak_cue_twice_counts_once(rules: ThemeTagger) -> None:
    assert rules.tag("Холодно, очень холодно.") == []


def test_pattern_and_slang_cues(rules: ThemeTagger) -> None:
    [hit] = rules.tag("Минус 20 градусов, все кашляют.")
    assert hit.cues == (r"re:\d+\s*градус\w*", "кашлять")
    [hit] = rules.tag("На него СОЧ завели.")
    assert hit.cues == ("slang:soch",)


def test_negative_cue_vetoes_the_segment(rules: ThemeTagger) -> None:
    assert rules.tag("Нет воды в кране, мам, дома авария.") == []


def test_weak_needed_is_an_option(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text(RULES_YAML, encoding="utf-8")
    lenient = ThemeTagger(
        load_themes(path, builtin=None), default_matcher(), ThemeOptions(weak_needed=1)
    )
    assert [hit.theme for hit in lenient.tag("Сегодня холодно.")] == ["t_water"]


def test_call_level_pools_weak_cues_across_segments(rules: ThemeTagger) -> None:
    assert rules.tag_call(["Привет.", "Холодно тут.", "Все кашляют."]) == ["t_water"]
    assert rules.tag_call(["Холодно тут.", "Холодно."]) == []
    assert rules.tag_call(["Холодно, воды нет в кране.", "Кашляю."]) == []


def test_call_level_on_builtin_themes(tagger: ThemeTagger) -> None:
    call = [
        "Привет, мам.",
        "Ротный опять орёт, двоих в подвал посадили за отказ.",
        "Выплаты так и не пришли.",
        "Я не хочу больше воевать.",
    ]
    assert tagger.tag_call(call) == ["commanders", "money", "wants_out"]


def test_tag_segments_matches_tag_and_tag_call(tagger: ThemeTagger) -> None:
    call = [
        "Всех отказников в подвал, сказал комбат.",
        "Я тоже в отказники пойду, не могу больше.",
        "Хлеба купи.",
    ]
    slang = [default_matcher().find(text) for text in call]
    per_segment, call_themes = tagger.tag_segments(call, slang)
    assert per_segment == [tagger.tag(text) for text in call]
    assert call_themes == tagger.tag_call(call) == ["commanders", "wants_out"]
    assert [h.theme for h in per_segment[0]] == ["commanders"]  # refuseniks punished


def test_precomputed_slang_hits_are_used(tagger: ThemeTagger) -> None:
    text = "Он уехал в Сочи."
    assert [h.theme for h in tagger.tag(text, slang_hits=[])] == []
    hits = default_matcher().find(text)
    assert [h.theme for h in tagger.tag(text, slang_hits=hits)] == ["wants_out"]


def test_unknown_slang_reference_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text(
        "themes:\n  - id: t_bad\n    label: Bad\n    strong:\n      slang: [no_such_term]\n",
        encoding="utf-8",
    )
    with pytest.raises(LexiconError) as caught:
        ThemeTagger(load_themes(path, builtin=None), default_matcher())
    message = str(caught.value)
    assert all(s in message for s in (str(path), "t_bad", "strong.slang", "no_such_term"))


def test_extra_theme_file_merges_over_builtin(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text(RULES_YAML.replace("t_water", "money"), encoding="utf-8")
    merged = load_themes(path)
    assert len(merged.themes) == len(THEMES.themes)
    tagger = ThemeTagger(merged, default_matcher())
    assert "money" not in [h.theme for h in tagger.tag("Выплаты задерживают.")]
    assert "money" in [h.theme for h in tagger.tag("Нет воды совсем.")]
