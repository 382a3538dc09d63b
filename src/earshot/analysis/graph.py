"""The call graph: phones and persons as nodes, calls as edges (networkx).

A call's ends are its parties' phones (a party without a known phone is its person,
if known); an edge caller → callee carries ``weight`` (how many calls: what Gephi,
yEd and networkx's algorithms read), the first and last date and the call ids. A
person is tied to each phone they use (``person_phones`` and parties that name both).

The graph names people and numbers, so writing it is a publication like any other
(:mod:`earshot.publish.graph_export` gates it); :class:`GraphNames` lets that layer
build it under pseudonyms instead. GraphML and GEXF come from networkx's own
writers; JSON is networkx's node-link form with the edge list under both ``links``
(what ``node_link_graph`` reads by default in networkx 3.2 to 3.5) and ``edges``
(its default from 3.6), so the default loader of every networkx that pyproject
allows reads it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..errors import EarshotError
from ..store.models import Call, Party, Person, PersonPhone, Phone

if TYPE_CHECKING:  # networkx takes ~0.1 s to import: only the graph commands need it
    import networkx as nx

__all__ = ["GRAPH_FORMATS", "GraphNames", "call_graph", "write_graph"]

GRAPH_FORMATS = ("graphml", "gexf", "json")


@dataclass(frozen=True)
class GraphNames:
    """How nodes are named. Empty maps mean the identifying graph (names and numbers);
    a redacted graph passes every person's pseudonym and every phone's label, and a
    node id then carries the label instead of a database id or number."""

    persons: Mapping[int, str] = field(default_factory=dict)
    phones: Mapping[int, str] = field(default_factory=dict)

    @property
    def redacted(self) -> bool:
        return bool(self.persons or self.phones)


def call_graph(session: Session, names: GraphNames | None = None) -> nx.DiGraph:
    """Build the graph of the whole case (identifying unless `names` pseudonymise it)."""
    import networkx as nx

    names = names or GraphNames()
    graph: nx.DiGraph = nx.DiGraph()
    phone_nodes: dict[int, str] = {}
    for phone in session.execute(select(Phone)).scalars():
        if names.redacted:
            label = names.phones.get(phone.id, f"Phone #{phone.id}")
            node = f"phone:{label}"
            graph.add_node(node, kind="phone", label=label)
        else:
            node = f"phone:{phone.e164}"
            graph.add_node(node, kind="phone", label=phone.e164, db_id=phone.id)
        phone_nodes[phone.id] = node
    person_nodes: dict[int, str] = {}
    for person in session.execute(select(Person)).scalars():
        if names.redacted:
            pseudonym = names.persons.get(person.id)
            if pseudonym is None:
                continue  # no published name: the person is not in a redacted graph
            node = f"person:{pseudonym}"
            graph.add_node(node, kind="person", label=pseudonym)
        else:
            node = f"person:{person.id}"
            graph.add_node(node, kind="person", label=person.name, db_id=person.id)
        person_nodes[person.id] = node

    def tie(person_id: int, phone_id: int, source: str) -> None:
        a, b = person_nodes.get(person_id), phone_nodes.get(phone_id)
        if a and b and not graph.has_edge(a, b):
            graph.add_edge(a, b, kind="uses", source=source, weight=0, calls=0, call_ids="")

    for link in session.execute(select(PersonPhone)).scalars():
        tie(link.person_id, link.phone_id, link.source)
    calls = session.execute(
        select(Call).options(selectinload(Call.parties)).order_by(Call.started_at, Call.id)
    ).scalars()
    for call in calls:
        ends: dict[str, str] = {}
        for party in call.parties:
            if party.phone_id is not None and party.person_id is not None:
                tie(party.person_id, party.phone_id, "call")
            end = _end(party, phone_nodes, person_nodes)
            if end:
                ends[party.label] = end
        if "A" not in ends or "B" not in ends:
            continue
        _add_call(graph, ends["A"], ends["B"], call)
    return graph


def _add_call(graph: nx.DiGraph, a: str, b: str, call: Call) -> None:
    day = call.started_at.date().isoformat() if call.started_at else ""
    if graph.has_edge(a, b):
        edge = graph.edges[a, b]
        edge["weight"] += 1
        edge["count"] = edge["weight"]
        edge["call_ids"] += f",{call.id}"
        if day:
            edge["first"] = min(edge["first"] or day, day)
            edge["last"] = max(edge["last"], day)
    else:
        graph.add_edge(
            a, b, kind="call", weight=1, count=1, first=day, last=day, call_ids=str(call.id)
        )


def _end(party: Party, phones: dict[int, str], persons: dict[int, str]) -> str | None:
    if party.phone_id is not None:
        return phones.get(party.phone_id)
    if party.person_id is not None:
        return persons.get(party.person_id)
    return None


def node_link(graph: nx.DiGraph) -> dict[str, Any]:
    """networkx's node-link dict with the edges under both ``links`` and ``edges``."""
    import warnings

    from networkx.readwrite import json_graph

    with warnings.catch_warnings():  # 3.4 and 3.5 warn that the default key will change
        warnings.simplefilter("ignore", FutureWarning)
        data: dict[str, Any] = json_graph.node_link_data(graph)  # no key: 3.2 has no edges=
    edges = data.get("edges", data.get("links", []))
    data["links"] = data["edges"] = edges
    return data


def write_graph(graph: nx.DiGraph, fmt: str) -> str:
    """The graph as GraphML, GEXF or node-link JSON text."""
    import networkx as nx

    if fmt == "json":
        return json.dumps(node_link(graph), ensure_ascii=False, indent=2)
    buffer = BytesIO()
    if fmt == "graphml":
        nx.write_graphml(graph, buffer, encoding="utf-8")
    elif fmt == "gexf":
        nx.write_gexf(graph, buffer, encoding="utf-8")
    else:
        raise EarshotError(f"unknown graph format {fmt!r}; use one of {', '.join(GRAPH_FORMATS)}")
    return buffer.getvalue().decode("utf-8")
