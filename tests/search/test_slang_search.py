"""Search understands slang: a form of a term finds the whole family, an English gloss finds
the segments the decoder glossed (on SQLite and PostgreSQL, through the `case` fixture)."""

from __future__ import annotations

import pytest

from earshot.language.analysis import analyze_case
from earshot.language.search_terms import slang_expansion
from earshot.search import SearchOptions, SearchResult, search
from earshot.store.case import Case

ALL = SearchOptions(limit=10_000)


def run(case: Case, query: str) -> SearchResult:
    with case.session() as session:
        return search(session, query, ALL)


def texts(result: SearchResult) -> set[str]:
    return {hit.text for hit in result.hits}


def test_expansion_of_codes_groups_and_glosses() -> None:
    family = slang_expansion("двухсотый")
    assert {"200-х", "200-е", "задвухсотить"} <= set(family.words)
    assert ("груз", "200") in family.phrases
    assert "двухсотый" in slang_expansion("200-х").words
    assert "ПВО" in slang_expansion("ПВОшники").words
    assert slang_expansion("killed").terms[:1] == ("200",)
    assert {"soch", "sochi"} <= set(slang_expansion("AWOL").terms)
    assert not slang_expansion("мама")  # ordinary words are left alone
    assert not slang_expansion("подвал")  # context-ruled entries are not widened


def test_any_form_finds_every_form(sample_case: Case) -> None:
    by_word = texts(run(sample_case, "двухсотый"))
    assert any("Остальные двухсотые" in t for t in by_word)
    assert any("200-х" in t for t in by_word)
    assert any("Груз 200" in t for t in by_word)
    assert texts(run(sample_case, "200-х")) == by_word
    assert texts(run(sample_case, "-двухсотый Груз")) == set()  # negation covers the family
    ordinary = texts(run(sample_case, "мама"))
    assert ordinary and all("мам" in t.lower() for t in ordinary)


@pytest.mark.parametrize(("query", "needle"), [("killed", "двухсот"), ("AWOL", "СОЧ")])
def test_english_gloss_finds_glossed_segments(sample_case: Case, query: str, needle: str) -> None:
    assert not any(needle in t for t in texts(run(sample_case, query)))  # not analysed yet
    analyze_case(sample_case)
    found = texts(run(sample_case, query))
    assert any(needle in t for t in found), found


def test_a_form_found_through_its_family_is_marked(sample_case: Case) -> None:
    """ "двухсотый" finds "200-х" and "Груз 200": the hit marks the form it holds, not
    nothing (the highlighter reads the query as searched, with its slang family)."""
    result = run(sample_case, "двухсотый")
    marked = {hit.text[start:end].lower() for hit in result.hits for start, end in hit.highlights}
    assert all(hit.highlights for hit in result.hits), [
        h.text for h in result.hits if not h.highlights
    ]
    assert "200-х" in marked and "груз 200" in marked and "двухсотые" in marked
    assert all("[" in hit.snippet for hit in result.hits)
