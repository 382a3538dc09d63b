"""Writing the call graph: gated, pseudonymised and audited like every other export.

The graph names every person and number of the case, so ``earshot graph`` is a
publication: with ``redact`` persons appear under the pseudonyms every other export
uses and phones as "Phone N" (numbered once for the case, in the order the case
learnt them; never the number), and the leak guard reads the written text; without
it the identifying graph must be asked for explicitly (``identifying``, editors
only) and is audited as such. Files are written 0600, whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.analysis.graph import GRAPH_FORMATS, GraphNames, call_graph, write_graph
from earshot.store.case import Case
from earshot.store.models import Phone

from .formats import Rendered
from .leakguard import LeakGuard
from .output import authorise_identifying, require_format, write_guarded
from .pseudonyms import assign_pseudonyms

__all__ = ["GraphOptions", "GraphResult", "export_graph", "graph_text", "redacted_names"]


@dataclass(frozen=True)
class GraphOptions:
    """redact: the pseudonymised graph; otherwise `identifying` (CLI) or an editor's
    `role` (web) must ask for the full one."""

    fmt: str = "json"
    redact: bool = True
    identifying: bool = False
    operator: str = "unknown"
    role: str | None = None


@dataclass(frozen=True)
class GraphResult:
    path: Path | None
    fmt: str
    redacted: bool
    nodes: int
    edges: int
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.path) if self.path else None,
            "format": self.fmt,
            "redacted": self.redacted,
            "nodes": self.nodes,
            "edges": self.edges,
            "bytes": self.bytes,
        }


def redacted_names(session: Session, *, operator: str) -> GraphNames:
    """Persons by their pseudonyms, phones as "Phone N" (N: the phone's rank in the case)."""
    pseudonyms = assign_pseudonyms(session, operator=operator)
    phone_ids = list(session.scalars(select(Phone.id).order_by(Phone.id)))
    return GraphNames(
        persons=pseudonyms, phones={pid: f"Phone {n}" for n, pid in enumerate(phone_ids, 1)}
    )


def graph_text(session: Session, options: GraphOptions) -> tuple[str, int, int]:
    """The graph as text (authorised and, when redacted, leak-guarded), nodes, edges."""
    require_format(options.fmt, GRAPH_FORMATS, "graph")
    if options.redact:
        names = redacted_names(session, operator=options.operator)
    else:
        authorise_identifying("the call graph", identifying=options.identifying, role=options.role)
        names = GraphNames()
    graph = call_graph(session, names)
    text = write_graph(graph, options.fmt)
    if options.redact:
        LeakGuard.for_case(session).check([(f"graph {options.fmt}", text)], "redacted graph")
    return text, graph.number_of_nodes(), graph.number_of_edges()


def export_graph(case: Case, out: Path | None, options: GraphOptions) -> tuple[GraphResult, str]:
    """Write the graph to `out` (0600, atomic, audited); with no `out` only build the text
    (still gated, guarded and audited: printing it publishes it too)."""
    with case.session() as session:
        text, nodes, edges = graph_text(session, options)
        data = text.encode("utf-8")
        detail = {
            "format": options.fmt,
            "redacted": options.redact,
            "nodes": nodes,
            "edges": edges,
            "file": out.name if out else "<stdout>",
        }
        if out is not None:
            write_guarded(
                session,
                out,
                Rendered(data, [(f"graph {options.fmt}", text)]),
                guard=LeakGuard.for_case(session) if options.redact else None,
                what="graph",
                fmt=options.fmt,
                action="graph-export",
                operator=options.operator,
                detail=detail,
            )
        else:
            from .output import audit_export

            action = "graph-export" if options.redact else "graph-export_identifying"
            audit_export(session, operator=options.operator, action=action, detail=detail)
    return GraphResult(out, options.fmt, options.redact, nodes, edges, len(data)), text
