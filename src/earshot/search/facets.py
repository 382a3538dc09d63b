"""The facet values of a segment's index document: phone, person, theme, term and place.

These are the facts the ``phone:``, ``person:``, ``theme:``, ``term:`` and ``place:``
filters ask about, read from the database so that the index can answer them alone
(:mod:`.plan`). Each field holds every value that makes the filter match the segment,
so a filter is one term lookup:

* ``phone``: the E.164 number of every party of the segment's call (a phone filter
  finds every segment of a call one of whose sides used the number);
* ``person``: the persons linked to the call's parties, and those of the segment's
  entities (``segment_entities.person_id``);
* ``theme``: the segment's themes (``segment_themes``) and its call's (``call_themes``);
* ``term``: the segment's slang terms (``segment_slang.term``);
* ``place``: ``normal`` and ``place_name`` of the segment's ``LOC`` entities.

The language tables may be missing (the language layer has not run in this case): their
fields are then empty, as the filters' "needs tagging" errors expect. Values are sorted
and distinct, so the document digest of the same facts is always the same.

:func:`segment_facets` reads some segments (the outbox, the pending overlay,
``check_index``); the rebuild keeps one :class:`FacetReader` for all its batches. Each
table is read with one statement by id range when the ids are close together (a batch of
consecutive segments and their calls), else by lists of ids.
"""

# SQL here is assembled from constant fragments only; values travel as parameters.

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from ..store.batches import batched
from .index import fetch, has_table

__all__ = ["FACET_FIELDS", "FacetReader", "Facets", "segment_facets"]

FACET_FIELDS = ("phone", "person", "theme", "term", "place")

Facets = dict[str, list[str] | list[int]]
"""The non-empty facet fields of one document (field name -> sorted distinct values)."""

_CHUNK = 500
# A batch's calls are read by id range unless the range is much wider than the number
# of calls in it (a late transcript of an old call): then by list.
_RANGE_SLACK = 4
_RANGE_FLOOR = 64


# Each statement is a constant prefix and ``BETWEEN ? AND ?`` or ``IN (?, ...)``, run
# with the driver's cursor (.index.fetch: no SQLAlchemy compile or row processing, which
# would cost more than the statement on the search path's pending overlay).
_CALL_SQL = {
    "parties": "SELECT pa.call_id, ph.e164, pa.person_id FROM parties pa "
    "LEFT JOIN phones ph ON ph.id = pa.phone_id "
    "WHERE (pa.phone_id IS NOT NULL OR pa.person_id IS NOT NULL) AND pa.call_id",
    "call_themes": "SELECT call_id, theme FROM call_themes WHERE call_id",
}
_SEGMENT_SQL = {
    "segment_slang": "SELECT segment_id, term FROM segment_slang WHERE segment_id",
    "segment_themes": "SELECT segment_id, theme FROM segment_themes WHERE segment_id",
    "segment_entities": "SELECT segment_id, kind, normal, place_name, person_id "
    "FROM segment_entities WHERE (kind = 'LOC' OR person_id IS NOT NULL) AND segment_id",
}


def _between(sql: str) -> str:
    return sql + " BETWEEN ? AND ?"


def _in(sql: str, n: int) -> str:
    return sql + " IN (" + ", ".join("?" * n) + ")"


@dataclass
class _Facts:
    """Raw facts of some calls and segments, before they are combined per segment."""

    phones: dict[int, set[str]] = field(default_factory=dict)
    call_persons: dict[int, set[int]] = field(default_factory=dict)
    call_themes: dict[int, set[str]] = field(default_factory=dict)
    terms: dict[int, set[str]] = field(default_factory=dict)
    themes: dict[int, set[str]] = field(default_factory=dict)
    places: dict[int, set[str]] = field(default_factory=dict)
    persons: dict[int, set[int]] = field(default_factory=dict)


class FacetReader:
    """Reads facet values on one connection; which language tables exist is looked up
    once (a rebuild asks for thousands of batches)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tables = {
            name
            for name in ("segment_slang", "segment_themes", "segment_entities", "call_themes")
            if has_table(conn, name)
        }

    # -- reading --------------------------------------------------------------------------
    def _call_rows(self, facts: _Facts, table: str, rows: Iterable[Any]) -> None:
        if table == "parties":
            for call_id, e164, person_id in rows:
                c = int(call_id)
                if e164 is not None:
                    facts.phones.setdefault(c, set()).add(str(e164))
                if person_id is not None:
                    facts.call_persons.setdefault(c, set()).add(int(person_id))
        else:
            for call_id, theme in rows:
                facts.call_themes.setdefault(int(call_id), set()).add(str(theme))

    def _segment_rows(self, facts: _Facts, table: str, rows: Iterable[Any]) -> None:
        if table == "segment_entities":
            for seg_id, kind, normal, place_name, person_id in rows:
                s = int(seg_id)
                if kind == "LOC":
                    names = facts.places.setdefault(s, set())
                    if normal is not None:
                        names.add(str(normal))
                    if place_name is not None:
                        names.add(str(place_name))
                if person_id is not None:
                    facts.persons.setdefault(s, set()).add(int(person_id))
            return
        into = facts.terms if table == "segment_slang" else facts.themes
        for seg_id, value in rows:
            into.setdefault(int(seg_id), set()).add(str(value))

    def _read(self, sql: str, ids: set[int]) -> Iterator[Any]:
        """The rows of `sql` for `ids`: one statement by id range when the ids are
        close together (a rebuild's batch, the calls of consecutive segments), else by
        lists of ids (the outbox, a late transcript of an old call)."""
        lo, hi = min(ids), max(ids)
        if hi - lo + 1 <= _RANGE_SLACK * len(ids) + _RANGE_FLOOR:
            yield from fetch(self.conn, _between(sql), (lo, hi))
            return
        for chunk in batched(sorted(set(ids)), _CHUNK):
            yield from fetch(self.conn, _in(sql, len(chunk)), chunk)

    # -- combining ------------------------------------------------------------------------
    @staticmethod
    def _combine(facts: _Facts, calls: Mapping[int, int]) -> dict[int, Facets]:
        per_call: dict[int, Facets] = {}
        for call_id in set(calls.values()):
            base: Facets = {}
            if phones := facts.phones.get(call_id):
                base["phone"] = sorted(phones)
            if persons := facts.call_persons.get(call_id):
                base["person"] = sorted(persons)
            if themes := facts.call_themes.get(call_id):
                base["theme"] = sorted(themes)
            per_call[call_id] = base
        # Most segments have only their call's facets: one shared dict (never mutated).
        out = {seg_id: per_call[call_id] for seg_id, call_id in calls.items()}
        own = facts.terms.keys() | facts.themes.keys() | facts.places.keys()
        for seg_id in own | facts.persons.keys():
            if seg_id not in calls:
                continue
            call_id = calls[seg_id]
            mine: Facets = dict(per_call[call_id])
            if persons := facts.persons.get(seg_id):
                mine["person"] = sorted(persons | facts.call_persons.get(call_id, set()))
            if themes := facts.themes.get(seg_id):
                mine["theme"] = sorted(themes | facts.call_themes.get(call_id, set()))
            if terms := facts.terms.get(seg_id):
                mine["term"] = sorted(terms)
            if places := facts.places.get(seg_id):
                mine["place"] = sorted(places)
            out[seg_id] = mine
        return out

    # -- the way in -----------------------------------------------------------------------
    def segments(self, calls: Mapping[int, int]) -> dict[int, Facets]:
        """The facets of the segments in `calls` (segment id -> its call id): each table
        read once (by id range or id lists, :meth:`_read`), however many segments."""
        if not calls:
            return {}
        facts = _Facts()
        call_ids = set(calls.values())
        self._call_rows(facts, "parties", self._read(_CALL_SQL["parties"], call_ids))
        if "call_themes" in self.tables:
            self._call_rows(facts, "call_themes", self._read(_CALL_SQL["call_themes"], call_ids))
        for table in (t for t in _SEGMENT_SQL if t in self.tables):
            self._segment_rows(facts, table, self._read(_SEGMENT_SQL[table], set(calls)))
        return self._combine(facts, calls)


def segment_facets(conn: Connection, calls: Mapping[int, int]) -> dict[int, Facets]:
    """The facets of the segments in `calls` (segment id -> its call id), as `conn` sees
    the database (uncommitted changes of its transaction included)."""
    return FacetReader(conn).segments(calls)
