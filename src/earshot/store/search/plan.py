"""Compiling a query tree to SQL for one backend: parameters only, never spliced text.

The top-level AND's plain-text parts become the *main* full-text expression (one FTS5
MATCH on SQLite, tsquery tests on PostgreSQL); its phrases (one per index key, with
the columns it may match in) are what BM25 is computed over, in the same order on
both backends. Everything else (filters, text under OR with a filter, a lone NOT)
compiles to plain SQL conditions over ``segments s`` and ``calls c``.

Phrases are first matched as "all their words" (a superset; under NOT, as nothing),
and the candidates are then checked word by word in Python (see :mod:`.verify`).
"""

# SQL here is assembled from constant fragments and bind markers (:p0, ...); user text
# only ever travels as bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import BindParameter, Connection, bindparam

from ...phones import normalize_phone
from ..models import UTCDateTime
from .index import FTS_TABLE, has_table
from .query import And, Field, Node, Not, Or, Phrase, QuerySyntaxError, SearchError, Term
from .text import COLUMNS, Column, word_keys

__all__ = ["KeyPhrase", "Plan", "compile_query", "has_phrase"]


@dataclass(frozen=True)
class KeyPhrase:
    """One index key searched in some columns: FTS5's unit of BM25 scoring."""

    key: str
    columns: tuple[Column, ...]


@dataclass
class Plan:
    """A compiled query: SQL fragments and their parameters."""

    backend: str
    main: str | None = None  # SQLite: the MATCH string; PostgreSQL: an SQL condition
    main_phrases: list[KeyPhrase] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    binds: list[BindParameter[Any]] = field(default_factory=list)
    fields: list[tuple[Field, str]] = field(default_factory=list)  # (node, SQL) for verification
    uses_index: bool = False
    verify: bool = False


def has_phrase(node: Node) -> bool:
    if isinstance(node, Phrase):
        return True
    if isinstance(node, And | Or):
        return any(has_phrase(i) for i in node.items)
    if isinstance(node, Not):
        return has_phrase(node.item)
    return False


def _has_field(node: Node) -> bool:
    if isinstance(node, Field):
        return True
    if isinstance(node, And | Or):
        return any(_has_field(i) for i in node.items)
    if isinstance(node, Not):
        return _has_field(node.item)
    return False


def term_phrases(word: str) -> list[KeyPhrase]:
    """The key phrases of one query word, Russian-column keys first."""
    keys = word_keys(word)
    order: dict[str, list[Column]] = {}
    for column in COLUMNS:
        for key in keys[column]:
            order.setdefault(key, []).append(column)
    return [KeyPhrase(key, tuple(cols)) for key, cols in order.items()]


class _Compiler:
    def __init__(self, conn: Connection, query: str, region: str, timezone: str) -> None:
        self.conn = conn
        self.query = query
        self.region = region
        self.backend = conn.dialect.name
        self.plan = Plan(self.backend)
        self.plan.verify = False
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")

    def param(self, value: Any, type_: Any = None) -> str:
        name = f"p{len(self.plan.params)}"
        self.plan.params[name] = value
        if type_ is not None:
            self.plan.binds.append(bindparam(name, type_=type_))
        return f":{name}"

    # -- main full-text expression --------------------------------------------------------
    def fts(self, node: Node, phrases: list[KeyPhrase]) -> str | None:
        """SQLite MATCH text for a plain-text node, or None if FTS5 cannot say it."""
        if isinstance(node, Term):
            parts = []
            for phrase in term_phrases(node.word):
                phrases.append(phrase)
                cols = (
                    phrase.columns[0]
                    if len(phrase.columns) == 1
                    else "{" + " ".join(phrase.columns) + "}"
                )
                parts.append(f'{cols} : "{phrase.key}"')
            return "(" + " OR ".join(parts) + ")"
        if isinstance(node, Phrase):
            inner = [self.fts(Term(w), phrases) for w in node.words]
            return "(" + " AND ".join(i for i in inner if i) + ")"
        if isinstance(node, Or):
            inner = [self.fts(i, phrases) for i in node.items]
            return (
                None
                if any(i is None for i in inner)
                else "(" + " OR ".join(i for i in inner if i) + ")"
            )
        if isinstance(node, And):
            pos = [i for i in node.items if not isinstance(i, Not)]
            neg = [i.item for i in node.items if isinstance(i, Not)]
            if not pos or any(has_phrase(n) for n in neg):
                return None
            pos_s = [self.fts(i, phrases) for i in pos]
            neg_s = [self.fts(i, phrases) for i in neg]
            if any(i is None for i in pos_s + neg_s):
                return None
            out = "(" + " AND ".join(i for i in pos_s if i) + ")"
            return "(" + out + "".join(f" NOT {i}" for i in neg_s) + ")"
        return None

    def ts(self, node: Node, phrases: list[KeyPhrase] | None, superset: bool = True) -> str:
        """PostgreSQL condition for a plain-text node over ``ss`` (segment_search)."""
        if isinstance(node, Term):
            parts: list[str] = []
            for phrase in term_phrases(node.word):
                if phrases is not None:
                    phrases.append(phrase)
                quoted = "'" + phrase.key.replace("\\", "\\\\").replace("'", "''") + "'"
                p = self.param(quoted)
                parts.extend(f"ss.{col} @@ CAST({p} AS tsquery)" for col in phrase.columns)
            return "(" + " OR ".join(parts) + ")"
        return self.sql(node, superset, phrases)

    # -- generic SQL ----------------------------------------------------------------------
    def text_match(self, word: str) -> str:
        if self.backend == "postgresql":
            self.plan.uses_index = True
            return self.ts(Term(word), None)
        expr = self.fts(Term(word), [])
        return f"s.id IN (SELECT rowid FROM {FTS_TABLE} WHERE segment_fts MATCH {self.param(expr)})"

    def sql(self, node: Node, superset: bool = True, phrases: list[KeyPhrase] | None = None) -> str:
        if isinstance(node, Term):
            if phrases is not None and self.backend == "postgresql":
                self.plan.uses_index = True
                return self.ts(node, phrases)
            return self.text_match(node.word)
        if isinstance(node, Phrase):
            self.plan.verify = True
            if not superset:
                return "(1 = 0)"
            return (
                "(" + " AND ".join(self.sql(Term(w), superset, phrases) for w in node.words) + ")"
            )
        if isinstance(node, And):
            return "(" + " AND ".join(self.sql(i, superset, phrases) for i in node.items) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.sql(i, superset, phrases) for i in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.sql(node.item, not superset, phrases)})"
        condition = self.field(node)
        self.plan.fields.append((node, condition))
        return condition

    # -- field filters --------------------------------------------------------------------
    def need(self, table: str, node: Field, what: str) -> None:
        if not has_table(self.conn, table):
            raise SearchError(
                f"{node.name}:{node.value} needs {what} (table {table} is missing in this case); "
                "run the language processing first, or drop the filter"
            )

    def field(self, node: Field) -> str:
        name, value = node.name, node.value
        if name == "call":
            return f"(s.call_id = {self.param(int(value))})"
        if name == "party":
            return "(s.party IN (" + ", ".join(self.param(p) for p in value.split("|")) + "))"
        if name in ("from", "to"):
            assert node.day is not None
            day: date = node.day if name == "from" else node.day + timedelta(days=1)
            moment = datetime.combine(day, time(0), tzinfo=self.zone)
            op = ">=" if name == "from" else "<"
            when = self.param(moment, UTCDateTime())
            return f"(s.call_id IN (SELECT fc.id FROM calls fc WHERE fc.started_at {op} {when}))"
        if name == "phone":
            try:
                e164 = normalize_phone(value, self.region)
            except ValueError as exc:
                raise QuerySyntaxError(
                    self.query,
                    node.position,
                    str(exc).split(" (")[0],
                    "write the number with its country code, e.g. phone:+79155553147",
                ) from None
            return (
                "s.call_id IN (SELECT fpa.call_id FROM parties fpa "
                "JOIN phones fph ON fph.id = fpa.phone_id "
                f"WHERE fph.e164 = {self.param(e164)})"
            )
        if name == "term":
            self.need("segment_slang", node, "slang tagging")
            return (
                "EXISTS (SELECT 1 FROM segment_slang fsl WHERE fsl.segment_id = s.id "
                f"AND fsl.term = {self.param(value)})"
            )
        if name == "theme":
            self.need("segment_themes", node, "theme tagging")
            p = self.param(value)
            out = (
                "EXISTS (SELECT 1 FROM segment_themes fst WHERE fst.segment_id = s.id "
                f"AND fst.theme = {p})"
            )
            if has_table(self.conn, "call_themes"):
                out += (
                    " OR EXISTS (SELECT 1 FROM call_themes fct WHERE fct.call_id = s.call_id "
                    f"AND fct.theme = {p})"
                )
            return f"({out})"
        if name == "place":
            self.need("segment_entities", node, "entity tagging")
            forms = _name_variants(value)
            marks = ", ".join(self.param(f) for f in forms)
            return (
                "EXISTS (SELECT 1 FROM segment_entities fen WHERE fen.segment_id = s.id "
                f"AND fen.kind = 'LOC' "
                f"AND (fen.normal IN ({marks}) OR fen.place_name IN ({marks})))"
            )
        if name == "person":
            return self.person(node)
        raise QuerySyntaxError(
            self.query, node.position, f"unknown field {name}", "see `earshot search --help`"
        )

    def person(self, node: Field) -> str:
        value = node.value.strip()
        if value.isdigit():
            who = f"SELECT fp.id FROM persons fp WHERE fp.id = {self.param(int(value))}"
        else:
            key = " ".join(value.split()).casefold().replace("ё", "е")
            like = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            who = (
                f"SELECT fp.id FROM persons fp WHERE fp.name_key = {self.param(key)} "
                f"OR fp.name_key LIKE {self.param(like)} ESCAPE '\\'"
            )
        out = f"s.call_id IN (SELECT fpp.call_id FROM parties fpp WHERE fpp.person_id IN ({who}))"
        if has_table(self.conn, "segment_entities"):
            out += (
                " OR EXISTS (SELECT 1 FROM segment_entities fpe WHERE fpe.segment_id = s.id "
                f"AND fpe.person_id IN ({who}))"
            )
        return f"({out})"


def _name_variants(value: str) -> list[str]:
    from ...language.morph import lemma

    base = " ".join(value.split())
    forms = {base, base.lower(), base.title(), base.capitalize()}
    words = base.split(" ")
    lemmatized = " ".join(lemma(w) for w in words)
    forms |= {lemmatized, lemmatized.title(), lemmatized.capitalize()}
    forms |= {f.replace("ё", "е") for f in forms}
    return sorted(forms)


def compile_query(conn: Connection, node: Node, query: str, *, region: str, timezone: str) -> Plan:
    """Compile `node` for the connection's backend."""
    c = _Compiler(conn, query, region, timezone)
    conjuncts = list(node.items) if isinstance(node, And) else [node]
    pos: list[Node] = []
    neg: list[Node] = []
    rest: list[Node] = []
    for item in conjuncts:
        if _has_field(item):
            rest.append(item)
        elif isinstance(item, Not) and not has_phrase(item.item):
            neg.append(item.item)
        elif not isinstance(item, Not):
            pos.append(item)
        else:
            rest.append(item)
    if not pos:
        rest.extend(Not(n) for n in neg)
        neg = []
    plan = c.plan
    if pos:
        main_node: Node = And(tuple(pos) + tuple(Not(n) for n in neg))
        plan.verify = plan.verify or has_phrase(main_node)
        if c.backend == "postgresql":
            plan.uses_index = True
            plan.main = c.sql(main_node, True, plan.main_phrases)
        else:
            phrases: list[KeyPhrase] = []
            expr = c.fts(main_node, phrases)
            if expr is None:  # FTS5 cannot say it; fall back to generic conditions
                rest.append(main_node)
            else:
                plan.main = c.param(expr)
                plan.main_phrases = phrases
    for item in rest:
        plan.where.append(c.sql(item))
    plan.verify = plan.verify or any(has_phrase(i) for i in rest)
    return plan
