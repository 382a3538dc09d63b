"""`earshot graph`: gated like every export, pseudonymised, 0600, weighted edges, and JSON
that networkx's default loader reads in every version pyproject allows."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from xml.etree import ElementTree

import networkx as nx
import pytest
from sqlalchemy import select

from earshot.publish.graph_export import GraphOptions, export_graph
from earshot.publish.output import ExportRefusedError
from earshot.publish.pseudonyms import pseudonym_map
from earshot.store.case import Case
from earshot.store.models import CustodyEntry, Person, Phone

from ..conftest import Cli

CaseFixture = tuple[Case, dict[str, int]]


def _identifiers(case: Case) -> tuple[list[str], list[str]]:
    with case.session() as session:
        phones = list(session.scalars(select(Phone.e164)))
        names = [n for p in session.scalars(select(Person)) for n in p.name.split()]
    return phones, names


def test_graph_is_refused_without_redact_or_identifying(
    sample_case: CaseFixture, tmp_path: Path, run_cli: Cli
) -> None:
    case, _ = sample_case
    out = tmp_path / "g.json"
    with pytest.raises(ExportRefusedError):
        export_graph(case, out, GraphOptions(redact=False, operator="t"))
    assert not out.exists()
    refused = run_cli("graph", case.path, "-o", out, code=2)
    assert "--redact" in refused.output and not out.exists()
    run_cli("graph", case.path, "--redact", "--identifying", code=2)


@pytest.mark.parametrize("fmt", ["json", "graphml", "gexf"])
def test_redacted_graph_names_nobody_and_is_private(
    fmt: str, sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    out = tmp_path / f"g.{fmt}"
    result, _ = export_graph(case, out, GraphOptions(fmt=fmt, operator="t"))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="utf-8")
    phones, names = _identifiers(case)
    digits = re.sub(r"\D", "", text)
    for phone in phones:
        assert phone[-7:] not in digits, phone
    for name in names:
        assert name not in text, name
    with case.session() as session:
        pseudonyms = set(pseudonym_map(session).values())
    assert result.edges > 5 and any(p in text for p in pseudonyms)
    assert "Phone 1" in text


def test_edges_carry_weight_and_dates_in_every_format(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    graphml = tmp_path / "g.graphml"
    export_graph(case, graphml, GraphOptions(fmt="graphml", operator="t"))
    loaded = nx.read_graphml(graphml)
    calls = [d for _, _, d in loaded.edges(data=True) if d["kind"] == "call"]
    assert calls and all(isinstance(d["weight"], int) and d["weight"] >= 1 for d in calls)
    assert all(d["first"] <= d["last"] for d in calls if d["first"])
    assert sum(d["weight"] for d in calls) == sum(len(d["call_ids"].split(",")) for d in calls)
    gexf = tmp_path / "g.gexf"
    export_graph(case, gexf, GraphOptions(fmt="gexf", operator="t"))
    root = ElementTree.parse(gexf).getroot()
    weights = [e.get("weight") for e in root.iter() if e.tag.endswith("}edge")]
    assert weights and all(w is not None and float(w) >= 0 for w in weights)


def test_json_reads_with_the_default_loader_of_every_allowed_networkx(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    out = tmp_path / "g.json"
    result, _ = export_graph(case, out, GraphOptions(fmt="json", operator="t"))
    data = json.loads(out.read_text(encoding="utf-8"))
    # networkx 3.2 to 3.5 read "links" by default, 3.6 and later "edges": both are there.
    assert data["links"] == data["edges"]
    default = nx.node_link_graph(data)  # the installed networkx's own default
    older = nx.node_link_graph({k: v for k, v in data.items() if k != "edges"}, edges="links")
    assert default.number_of_edges() == older.number_of_edges() == result.edges
    assert default.is_directed() and nx.utils.edges_equal(default.edges, older.edges)


def test_identifying_graph_is_audited_as_such(sample_case: CaseFixture, tmp_path: Path) -> None:
    case, _ = sample_case
    # A redacted export of its own first (the other tests of this file may run on another
    # worker), so the log must tell the two kinds apart.
    export_graph(case, tmp_path / "redacted.json", GraphOptions(fmt="json", operator="ed"))
    out = tmp_path / "full.json"
    export_graph(case, out, GraphOptions(fmt="json", redact=False, identifying=True, operator="ed"))
    phones, _ = _identifiers(case)
    assert any(p in out.read_text(encoding="utf-8") for p in phones)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with case.session() as session:
        actions = list(session.scalars(select(CustodyEntry.action)))
    assert "graph-export_identifying" in actions and "graph-export" in actions
