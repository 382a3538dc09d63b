"""Corpus-wide analysis: who calls whom (the call graph) and when (timelines)."""

from __future__ import annotations

from .graph import GRAPH_FORMATS, call_graph, write_graph
from .timeline import TimelineOptions, timeline

__all__ = ["GRAPH_FORMATS", "TimelineOptions", "call_graph", "timeline", "write_graph"]
