"""The query parser: trees for good queries, positioned errors for bad ones, fuzzed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earshot.errors import EarshotError
from earshot.search import QuerySyntaxError, SearchOptions, parse_query, search
from earshot.search.query import And, Field, Not, Or, Phrase, Term
from earshot.store.case import Case


def test_grammar_precedence_and_fields() -> None:
    tree = parse_query('мобик OR контрабас "груз 200" -Бахмут from:2023-01 to:2023-02 party:b|a')
    assert isinstance(tree, Or)
    left, right = tree.items
    assert left == Term("мобик")
    assert isinstance(right, And)
    assert right.items[0] == Term("контрабас")
    assert right.items[1] == Phrase(("груз", "200"))
    assert right.items[2] == Not(Term("Бахмут"))
    dates = [i for i in right.items if isinstance(i, Field) and i.name in ("from", "to")]
    assert [str(d.day) for d in dates] == ["2023-01-01", "2023-02-28"]
    assert any(isinstance(i, Field) and i.value == "A|B" for i in right.items)
    assert parse_query("кое-что") == Term("кое-что")
    assert parse_query("300s") == Phrase(("300", "s"))
    assert parse_query('person:"Роман Кравцов"') == Field("person", "Роман Кравцов", 0)


def test_error_points_at_the_problem() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("Бахмут AND (мобик OR")
    assert info.value.position == len("Бахмут AND (мобик OR")
    with pytest.raises(QuerySyntaxError, match="character 8"):
        parse_query("Бахмут bogus:1")
    with pytest.raises(QuerySyntaxError, match="too deeply"):
        parse_query("(" * 100 + "a" + ")" * 100)


QUERY_ALPHABET = st.sampled_from(
    [
        *"()\"-:|*^~'`;%_\\ ",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "ru",
        "en",
        "term:",
        "phone:",
        "from:",
        "party:",
        "call:",
        "person:",
        "place:",
        "theme:",
        "to:",
        "мобик",
        "Бахмут",
        "200",
        "x",
        "ё",
        "\x00",
        "' OR 1=1 --",
        "{ru en}",
        "DROP TABLE segments",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(QUERY_ALPHABET, max_size=12).map("".join) | st.text(max_size=40))
def test_fuzz_never_crashes_nor_leaks_sql_errors(fuzz_case: Case, query: str) -> None:
    try:
        with fuzz_case.session() as session:
            result = search(session, query, SearchOptions(limit=5))
        assert result.total >= len(result.hits)
    except EarshotError:
        pass


@pytest.fixture(scope="module")
def fuzz_case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    from .conftest import ingest_sample

    tmp = tmp_path_factory.mktemp("fuzz")
    case = Case.init(Path(tmp) / "case")
    ingest_sample(case, Path(tmp))
    return case
