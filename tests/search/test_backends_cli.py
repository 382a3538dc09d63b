"""Identical answers on SQLite and PostgreSQL; the CLI; graph and timelines; reindex."""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.etree import ElementTree

import networkx as nx
import pytest
from sqlalchemy import select, text

from earshot.search import SearchOptions, check_index, reindex, search
from earshot.search import engine as search_engine
from earshot.store.case import Case
from earshot.store.models import Call, Phone

from ..conftest import Cli
from .conftest import ingest_sample

QUERIES = [
    "двухсотый",
    "мобик OR контрабас",
    '"груз 200"',
    "мама NOT папа",
    "mobiks OR refused",
    "(Бахмут OR Соледар) party:A",
    "штурм from:2022-12-01 to:2023-03-31",
    'phone:"+7 915 5553147"',
    "арта OR прилёт",
    "мама from:2022-11-01 party:A|B",
    "мама OR штурм to:2023-02-20 party:A|B",
    "-мама call:2",
]


def answers(case: Case) -> list[dict[str, object]]:
    with case.session() as session:
        return [search(session, q, SearchOptions(limit=1000)).as_dict() for q in QUERIES]


def test_sqlite_and_postgresql_give_identical_answers(tmp_path: Path, pg_url: str) -> None:
    lite = Case.init(tmp_path / "lite")
    pg = Case.init(tmp_path / "pg", db=pg_url)
    ingest_sample(lite, tmp_path / "a")
    ingest_sample(pg, tmp_path / "b")
    try:
        lite_answers, pg_answers = answers(lite), answers(pg)
        assert all(a["total"] for a in lite_answers[:-1]), lite_answers
        assert lite_answers == pg_answers
    finally:
        lite.close()
        pg.close()


def test_reindex_rebuilds_the_same_index(sample_case: Case) -> None:
    before = answers(sample_case)
    with sample_case.session() as session:
        assert check_index(session) == []
        assert reindex(session) > 0
        assert check_index(session) == []
    assert answers(sample_case) == before


def test_cli_search_graph_timeline(
    sample_case: Case, run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_dir = sample_case.path
    data = json.loads(run_cli("search", case_dir, "Бахмут", "--json").stdout)
    assert data["total"] >= 1 and set(data["hits"][0]) >= {
        "call",
        "segment",
        "start",
        "end",
        "party",
        "snippet",
        "score",
    }
    assert "[Бахмутом]" in data["hits"][0]["snippet"]
    table = run_cli("search", case_dir, "мобик", "--limit", "1").stdout
    assert "мобик" in table
    bad = run_cli("search", case_dir, "(мобик", code=2)
    assert "missing ')'" in bad.stderr and "Traceback" not in bad.stderr
    assert json.loads(run_cli("search", case_dir, "--reindex", "--json").stdout)["reindexed"] > 0
    total = json.loads(run_cli("search", case_dir, "мама", "--json").stdout)["total"]
    assert f"{total} hit(s)" in run_cli("search", case_dir, "мама").stdout
    monkeypatch.setattr(search_engine, "TOTAL_CAP", 2)  # past the cap the count is a floor
    capped = run_cli("search", case_dir, "мама", "--limit", "1").stdout
    assert "2+ hit(s)" in capped and f"{total} hit(s)" not in capped
    monkeypatch.undo()

    run_cli("graph", case_dir, "--format", "json", code=2)  # gated like every export
    graph = json.loads(run_cli("graph", case_dir, "--format", "json", "--identifying").stdout)
    with sample_case.session() as session:
        calls = session.execute(select(Call)).scalars().all()
        two_party = sum(1 for c in calls if len(c.parties) == 2)
        phones = session.execute(select(Phone)).scalars().all()
    call_edges = [e for e in graph["edges"] if e["kind"] == "call"]
    assert sum(e["count"] for e in call_edges) == two_party
    assert {n["id"] for n in graph["nodes"] if n["kind"] == "phone"} == {
        f"phone:{p.e164}" for p in phones
    }
    assert any(e["kind"] == "uses" for e in graph["edges"])
    out = tmp_path / "g.graphml"
    run_cli("graph", case_dir, "--format", "graphml", "-o", out, "--identifying")
    loaded = nx.read_graphml(out)
    assert loaded.number_of_edges() == len(graph["edges"])
    gexf = run_cli("graph", case_dir, "--format", "gexf", "--redact").stdout
    assert ElementTree.fromstring(gexf.strip()).tag.endswith("gexf")

    months = json.loads(run_cli("timeline", case_dir, "--json").stdout)
    assert months["total"] == sum(1 for c in calls if c.started_at) and months["buckets"]
    phone = json.loads(
        run_cli(
            "timeline", case_dir, "--phone", "8 (915) 555-31-47", "--by", "day", "--json"
        ).stdout
    )
    assert 0 < phone["total"] < months["total"]
    with sample_case.session() as session:
        expected = session.execute(
            text(
                "SELECT count(DISTINCT p.call_id) FROM parties p "
                "JOIN phones ph ON ph.id = p.phone_id WHERE ph.e164 = '+79155553147'"
            )
        ).scalar_one()
    assert phone["total"] == expected
    assert run_cli("timeline", case_dir, "--by", "week").stdout.strip()
    assert os.path.exists(case_dir)
