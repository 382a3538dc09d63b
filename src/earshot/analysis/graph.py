"""The call graph: phones and persons as nodes, calls as edges (networkx).

A call's ends are its parties' phones (a party without a known phone is its person,
if known); an edge caller → callee carries how many calls, the first and last date
and the call ids. A person is tied to each phone they use (``person_phones`` and
parties that name both). GraphML and GEXF come from networkx's own writers; JSON is
networkx's node-link form.
"""

from __future__ import annotations

import json
from io import BytesIO
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..errors import EarshotError
from ..store.models import Call, Party, Person, PersonPhone, Phone

if TYPE_CHECKING:  # networkx takes ~0.1 s to import: only the graph commands need it
    import networkx as nx

__all__ = ["GRAPH_FORMATS", "call_graph", "write_graph"]

GRAPH_FORMATS = ("graphml", "gexf", "json")


def _phone_node(e164: str) -> str:
    return f"phone:{e164}"


def _person_node(person_id: int) -> str:
    return f"person:{person_id}"


def call_graph(session: Session) -> nx.DiGraph:
    """Build the graph of the whole case."""
    import networkx as nx

    graph: nx.DiGraph = nx.DiGraph()
    phones = {p.id: p.e164 for p in session.execute(select(Phone)).scalars()}
    persons = {p.id: p.name for p in session.execute(select(Person)).scalars()}
    for phone_id, e164 in phones.items():
        graph.add_node(_phone_node(e164), kind="phone", label=e164, db_id=phone_id)
    for person_id, name in persons.items():
        graph.add_node(_person_node(person_id), kind="person", label=name, db_id=person_id)

    def tie(person_id: int, phone_id: int, source: str) -> None:
        a, b = _person_node(person_id), _phone_node(phones[phone_id])
        if not graph.has_edge(a, b):
            graph.add_edge(a, b, kind="uses", source=source, calls=0, call_ids="")

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
            node = _end(party, phones)
            if node:
                ends[party.label] = node
        if "A" not in ends or "B" not in ends:
            continue
        day = call.started_at.date().isoformat() if call.started_at else ""
        a, b = ends["A"], ends["B"]
        if graph.has_edge(a, b):
            edge = graph.edges[a, b]
            edge["count"] += 1
            edge["call_ids"] += f",{call.id}"
            if day:
                edge["first"] = min(edge["first"] or day, day)
                edge["last"] = max(edge["last"], day)
        else:
            graph.add_edge(a, b, kind="call", count=1, first=day, last=day, call_ids=str(call.id))
    return graph


def _end(party: Party, phones: dict[int, str]) -> str | None:
    if party.phone_id is not None:
        return _phone_node(phones[party.phone_id])
    if party.person_id is not None:
        return _person_node(party.person_id)
    return None


def write_graph(graph: nx.DiGraph, fmt: str) -> str:
    """The graph as GraphML, GEXF or node-link JSON text."""
    import networkx as nx
    from networkx.readwrite import json_graph

    if fmt == "json":
        return json.dumps(
            json_graph.node_link_data(graph, edges="edges"), ensure_ascii=False, indent=2
        )
    buffer = BytesIO()
    if fmt == "graphml":
        nx.write_graphml(graph, buffer, encoding="utf-8")
    elif fmt == "gexf":
        nx.write_gexf(graph, buffer, encoding="utf-8")
    else:
        raise EarshotError(f"unknown graph format {fmt!r}; use one of {', '.join(GRAPH_FORMATS)}")
    return buffer.getvalue().decode("utf-8")
