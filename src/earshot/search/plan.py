"""Compiling a query tree to SQL for one backend: parameters only, never spliced text.

The top-level AND's plain-text parts become the *main* full-text expression (one FTS5
MATCH on SQLite, tsquery tests over ``segment_search ss`` on PostgreSQL); the key
phrases of its words (one per index key, with the columns it may match in) are what
BM25 is computed over, in the same order on both backends. Top-level call filters
(call, dates, phone) become one ``s.call_id IN (SELECT c.id FROM calls c WHERE ...)``
so that the database starts from the most selective call index. Everything else
(text under OR with a filter, a lone NOT, segment filters) compiles to plain SQL
conditions over ``segments s``.

Phrases are exact in SQL on both backends: FTS5 phrase queries over the word-signature
columns (each query word may be any signature holding one of its keys, listed in
``search_signatures``), and tsquery's ``<->`` over the word positions on PostgreSQL.

On SQLite, top-level ``party:`` and ``from:``/``to:`` filters next to text also add
*facet tokens* to the MATCH (``meta : (...)``, see :func:`.index.meta_tokens`): the
UTC months (or, for a partly covered month, days) the range touches, each with the
party (or every party), or the party alone.
They only narrow the candidates (a superset of the answer, computed with the same
bounds), so FTS5 intersects posting lists in C instead of the rows being joined one
by one. Where the tokens say exactly what the filters say (the party; a range whose
bounds are UTC midnights, as in a UTC case) the filters are left to FTS5 alone;
otherwise the SQL filters still decide, so local-time boundary days stay exact. Either
way the answer equals PostgreSQL's.

On PostgreSQL, top-level call filters and ``party:`` next to text are conditions over
``segment_search`` itself (:attr:`Plan.index_where`): its ``party`` and ``started_at``
copy the segment's party and its call's start (migration 0404), compared with the very
same bounds (local midnights of the case time zone, as UTC instants), and ``call:`` /
``phone:`` go through its ``call_id``. With no other filter the segments table is not
joined at all: the word's GIN bitmap and the facet conditions meet on one table.
"""

# SQL here is assembled from constant fragments and bind markers (:p0, ...); user text
# only ever travels as bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import BindParameter, Connection, bindparam, text

from ..phones import normalize_phone
from ..store.models import UTCDateTime
from .index import PARTY_CODES, facet_token, has_table, party_code
from .query import And, Field, Node, Not, Or, Phrase, QuerySyntaxError, SearchError, Term
from .text import COLUMNS, Column, word_keys

__all__ = ["MAX_PHRASE_VARIANTS", "KeyPhrase", "Plan", "compile_query", "has_phrase"]

MAX_PHRASE_VARIANTS = 512
MAX_FACET_TOKENS = 200  # a wider date range gets no facet tokens (the SQL filter alone)
CALL_FIELDS = ("call", "from", "to", "phone")


@dataclass(frozen=True)
class KeyPhrase:
    """One index key searched in some columns: FTS5's unit of BM25 scoring."""

    key: str
    columns: tuple[Column, ...]
    negated: bool = False


@dataclass
class Plan:
    """A compiled query: SQL fragments and their parameters."""

    backend: str
    main: str | None = None  # SQLite: the MATCH parameter; PostgreSQL: an SQL condition
    main_phrases: list[KeyPhrase] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # conditions over segments s (and ss)
    index_where: list[str] = field(default_factory=list)  # over segment_search ss alone
    params: dict[str, Any] = field(default_factory=dict)
    binds: list[BindParameter[Any]] = field(default_factory=list)
    uses_index: bool = False
    has_phrase: bool = False


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


def _text_only(node: Node) -> bool:
    """Whether one full-text expression says `node` (no filter, no lone NOT)."""
    if isinstance(node, Term | Phrase):
        return True
    if isinstance(node, Or):
        return all(_text_only(i) for i in node.items)
    if isinstance(node, And):
        positive = [i for i in node.items if not isinstance(i, Not)]
        negative = [i.item for i in node.items if isinstance(i, Not)]
        return bool(positive) and all(_text_only(i) for i in positive + negative)
    return False


def term_phrases(word: str, negated: bool = False) -> list[KeyPhrase]:
    """The key phrases of one query word, Russian-column keys first."""
    keys = word_keys(word)
    order: dict[str, list[Column]] = {}
    for column in COLUMNS:
        for key in keys[column]:
            order.setdefault(key, []).append(column)
    return [KeyPhrase(key, tuple(cols), negated) for key, cols in order.items()]


def _quote_fts(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _quote_ts(key: str) -> str:
    return "'" + key.replace("\\", "\\\\").replace("'", "''") + "'"


class _Compiler:
    def __init__(self, conn: Connection, query: str, region: str, timezone: str) -> None:
        self.conn = conn
        self.query = query
        self.region = region
        self.backend = conn.dialect.name
        self.plan = Plan(self.backend)
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

    # -- SQLite: FTS5 expressions ---------------------------------------------------------
    def fts(self, node: Node, phrases: list[KeyPhrase], negated: bool = False) -> str:
        """FTS5 MATCH text for a plain-text node (no fields)."""
        if isinstance(node, Term):
            parts = []
            for phrase in term_phrases(node.word, negated):
                phrases.append(phrase)
                cols = (
                    phrase.columns[0]
                    if len(phrase.columns) == 1
                    else "{" + " ".join(phrase.columns) + "}"
                )
                parts.append(f"{cols} : {_quote_fts(phrase.key)}")
            return "(" + " OR ".join(parts) + ")"
        if isinstance(node, Phrase):
            words = [self.fts(Term(w), phrases, negated) for w in node.words]
            return "(" + " AND ".join(words) + " AND " + self.fts_sequence(node.words) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.fts(i, phrases, negated) for i in node.items) + ")"
        if isinstance(node, And):
            pos = [i for i in node.items if not isinstance(i, Not)]
            neg = [i.item for i in node.items if isinstance(i, Not)]
            if not pos:
                raise SearchError("internal: FTS5 cannot say a lone NOT")
            pos_s = "(" + " AND ".join(self.fts(i, phrases, negated) for i in pos) + ")"
            neg_s = [self.fts(i, phrases, not negated) for i in neg]
            return "(" + pos_s + "".join(f" NOT {i}" for i in neg_s) + ")"
        raise SearchError(f"internal: FTS5 cannot say {node!r}")

    def fts_sequence(self, words: tuple[str, ...]) -> str:
        """The exact phrase over the signature columns: any signature of each word's keys."""
        per_column: list[str] = []
        for column in COLUMNS:
            options = [self.signatures(word_keys(w)[column]) for w in words]
            count = 1
            for opt in options:
                count *= len(opt)
            if count > MAX_PHRASE_VARIANTS:
                raise SearchError(
                    f"the phrase {' '.join(words)!r} has {count} readings, more than "
                    f"{MAX_PHRASE_VARIANTS}; shorten it or search its words without quotes"
                )
            variants = " OR ".join(_quote_fts(" ".join(combo)) for combo in product(*options))
            per_column.append(f"{column}_seq : ({variants})")
        return "(" + " OR ".join(per_column) + ")"

    def signatures(self, keys: tuple[str, ...]) -> list[str]:
        """Every signature token a word with `keys` may have in the index."""
        found = dict.fromkeys(keys)
        marks = ", ".join(f":k{i}" for i in range(len(keys)))
        rows = self.conn.execute(
            text(f"SELECT DISTINCT signature FROM search_signatures WHERE key IN ({marks})"),
            {f"k{i}": k for i, k in enumerate(keys)},
        )
        for (signature,) in rows:
            found.setdefault(str(signature))
        return sorted(found)

    # -- SQLite: facet tokens that narrow a MATCH --------------------------------------
    def facet_hint(self, fields: list[Field]) -> tuple[str | None, bool]:
        """FTS5 text over ``meta`` that every row passing `fields` matches (or None), and
        whether exactly those rows match it (then the SQL filters can be left out)."""
        parties: set[str] | None = None
        for node in fields:
            if node.name == "party":
                codes = {party_code(v) for v in node.value.split("|")}
                parties = codes if parties is None else parties & codes
        dates, exact = self.date_stamps([f for f in fields if f.name in ("from", "to")])
        wanted = sorted(parties) if parties is not None else list(PARTY_CODES)
        if dates:
            tokens = [facet_token(kind, code, stamp) for code in wanted for kind, stamp in dates]
        elif parties is not None:
            tokens = [facet_token("p", code) for code in wanted]
        else:
            return None, False
        if not tokens or len(tokens) > MAX_FACET_TOKENS:
            return None, False
        return "meta : (" + " OR ".join(tokens) + ")", exact

    def date_stamps(self, fields: list[Field]) -> tuple[list[tuple[str, str]], bool]:
        """(kind, stamp) of the UTC months ``m`` and days ``d`` covering the calls that the
        from:/to: `fields` admit (the same bounds as :meth:`call_field`), [] for none or
        too many; and whether they cover exactly those calls (every bound the query gives
        is a UTC midnight, i.e. no day is only partly inside the local-time range)."""
        lo: datetime | None = None
        hi: datetime | None = None
        for node in fields:
            assert node.day is not None
            if node.name == "from":
                moment = datetime.combine(node.day, time(0), tzinfo=self.zone)
                lo = moment if lo is None else max(lo, moment)
            else:
                moment = datetime.combine(node.day + timedelta(days=1), time(0), tzinfo=self.zone)
                hi = moment if hi is None else min(hi, moment)
        if lo is None and hi is None:
            return [], True
        exact = all(b is None or b.astimezone(UTC).time() == time(0) for b in (lo, hi))
        if lo is None or hi is None:
            first, last_call = self.conn.execute(
                text("SELECT min(started_at) AS lo, max(started_at) AS hi FROM calls").columns(
                    lo=UTCDateTime(), hi=UTCDateTime()
                )
            ).one()
            if first is None or last_call is None:
                return [], False
            lo = lo if lo is not None else first
            hi = hi if hi is not None else last_call + timedelta(microseconds=1)
        start = lo.astimezone(UTC).date()
        end = (hi.astimezone(UTC) - timedelta(microseconds=1)).date()
        out: list[tuple[str, str]] = []
        month = start.replace(day=1)
        while month <= end and len(out) <= MAX_FACET_TOKENS:
            month_end = month.replace(day=monthrange(month.year, month.month)[1])
            first_day, last_day = max(month, start), min(month_end, end)
            covered = (last_day - first_day).days + 1
            if first_day == month and last_day == month_end:
                out.append(("m", f"{month:%Y%m}"))
            else:
                out.extend(("d", f"{first_day + timedelta(days=d):%Y%m%d}") for d in range(covered))
            month = month_end + timedelta(days=1)
        return (out, exact) if len(out) <= MAX_FACET_TOKENS else ([], False)

    # -- PostgreSQL: tsquery conditions over ss -------------------------------------------
    def ts(self, node: Node, phrases: list[KeyPhrase] | None, negated: bool = False) -> str:
        """A PostgreSQL condition over ``ss`` (segment_search) for a plain-text node."""
        self.plan.uses_index = True
        if isinstance(node, Term):
            parts: list[str] = []
            for phrase in term_phrases(node.word, negated):
                if phrases is not None:
                    phrases.append(phrase)
                p = self.param(_quote_ts(phrase.key))
                parts.extend(f"ss.{col} @@ CAST({p} AS tsquery)" for col in phrase.columns)
            return "(" + " OR ".join(parts) + ")"
        if isinstance(node, Phrase):
            words = [self.ts(Term(w), phrases, negated) for w in node.words]
            seq: list[str] = []
            for column in COLUMNS:
                query = " <-> ".join(
                    "(" + " | ".join(_quote_ts(k) for k in word_keys(w)[column]) + ")"
                    for w in node.words
                )
                seq.append(f"ss.{column} @@ CAST({self.param(query)} AS tsquery)")
            return "(" + " AND ".join(words) + " AND (" + " OR ".join(seq) + "))"
        if isinstance(node, And):
            return "(" + " AND ".join(self.ts(i, phrases, negated) for i in node.items) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.ts(i, phrases, negated) for i in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.ts(node.item, phrases, not negated)})"
        raise SearchError(f"internal: a filter reached the text index ({node!r})")

    # -- generic SQL over segments s ------------------------------------------------------
    def text_match(self, node: Node) -> str:
        """Segments whose text satisfies a plain-text node, as a condition over ``s``."""
        if self.backend == "postgresql":
            return self.ts(node, None)
        expr = self.fts(node, [])
        return f"s.id IN (SELECT rowid FROM segment_fts WHERE segment_fts MATCH {self.param(expr)})"

    def sql(self, node: Node) -> str:
        if _text_only(node):
            return self.text_match(node)
        if isinstance(node, And):
            return "(" + " AND ".join(self.sql(i) for i in node.items) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.sql(i) for i in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.sql(node.item)})"
        if not isinstance(node, Field):
            raise SearchError(f"internal: cannot compile {node!r}")
        if node.name in CALL_FIELDS:
            return f"s.call_id IN (SELECT c.id FROM calls c WHERE {self.call_field(node)})"
        return self.field(node)

    # -- field filters --------------------------------------------------------------------
    def need(self, table: str, node: Field, what: str) -> None:
        if not has_table(self.conn, table):
            raise SearchError(
                f"{node.name}:{node.value} needs {what} (table {table} is missing in this case); "
                "run the language processing first, or drop the filter"
            )

    def date_bound(self, node: Field, column: str) -> str:
        """A from:/to: filter as a condition on `column` (a call's start, naive UTC): the
        local midnight of the case time zone that starts (from:) or ends (to:) the day."""
        assert node.day is not None
        day: date = node.day if node.name == "from" else node.day + timedelta(days=1)
        moment = datetime.combine(day, time(0), tzinfo=self.zone)
        op = ">=" if node.name == "from" else "<"
        return f"({column} {op} {self.param(moment, UTCDateTime())})"

    def call_field(self, node: Field) -> str:
        """A call-level filter as a condition over ``calls c``."""
        name, value = node.name, node.value
        if name == "call":
            return f"(c.id = {self.param(int(value))})"
        if name in ("from", "to"):
            return self.date_bound(node, "c.started_at")
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
            "c.id IN (SELECT fpa.call_id FROM parties fpa "
            "JOIN phones fph ON fph.id = fpa.phone_id "
            f"WHERE fph.e164 = {self.param(e164)})"
        )

    def field(self, node: Field) -> str:
        """A segment-level filter as a condition over ``segments s``."""
        name, value = node.name, node.value
        if name == "party":
            return "(s.party IN (" + ", ".join(self.param(p) for p in value.split("|")) + "))"
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
    from ..language.morph import lemma

    base = " ".join(value.split())
    forms = {base, base.lower(), base.title(), base.capitalize()}
    words = base.split(" ")
    lemmatized = " ".join(lemma(w) for w in words)
    forms |= {lemmatized, lemmatized.title(), lemmatized.capitalize()}
    forms |= {f.replace("ё", "е") for f in forms}
    return sorted(forms)


def _with_slang(conn: Connection, node: Node) -> Node:
    """Each plain word also looks for its slang family and, for an English gloss word, for
    the segments the decoder glossed so (see :func:`earshot.language.search_terms`)."""
    from ..language.search_terms import slang_expansion

    tags = has_table(conn, "segment_slang")

    def walk(item: Node) -> Node:
        if isinstance(item, Term):
            more = slang_expansion(item.word)
            # Each index key once: a key repeated under OR is scored differently by FTS5
            # and by the PostgreSQL BM25, and adds nothing to what is found.
            seen = {k for keys in word_keys(item.word).values() for k in keys}
            extra: list[Node] = []
            for words in [(w,) for w in more.words] + list(more.phrases):
                keys = [{k for ks in word_keys(w).values() for k in ks} for w in words]
                if any(k & seen for k in keys):
                    continue
                seen.update(*keys)
                extra.append(Term(words[0]) if len(words) == 1 else Phrase(words))
            if tags:
                extra += [Field("term", term, 0) for term in more.terms]
            return Or((item, *extra)) if extra else item
        if isinstance(item, And):
            return And(tuple(walk(i) for i in item.items))
        if isinstance(item, Or):
            return Or(tuple(walk(i) for i in item.items))
        if isinstance(item, Not):
            return Not(walk(item.item))
        return item

    return walk(node)


def compile_query(conn: Connection, node: Node, query: str, *, region: str, timezone: str) -> Plan:
    """Compile `node` for the connection's backend."""
    node = _with_slang(conn, node)
    c = _Compiler(conn, query, region, timezone)
    conjuncts = list(node.items) if isinstance(node, And) else [node]
    pos: list[Node] = []
    neg: list[Node] = []
    calls: list[Field] = []
    rest: list[Node] = []
    facets: list[Field] = []
    for item in conjuncts:
        if isinstance(item, Field) and item.name in ("party", "from", "to"):
            facets.append(item)
        if isinstance(item, Field) and item.name in CALL_FIELDS:
            calls.append(item)
        elif _has_field(item):
            rest.append(item)
        elif isinstance(item, Not):
            if _text_only(item.item):
                neg.append(item.item)
            else:
                rest.append(item)
        elif _text_only(item):
            pos.append(item)
        else:
            rest.append(item)
    if not pos:
        rest.extend(Not(n) for n in neg)
        neg = []
    plan = c.plan
    plan.has_phrase = has_phrase(node)
    if pos:
        main_node: Node = And(tuple(pos) + tuple(Not(n) for n in neg))
        if c.backend == "postgresql":
            plan.main = c.ts(main_node, plan.main_phrases)
        else:
            match = c.fts(main_node, plan.main_phrases)
            hint, exact = c.facet_hint(facets)
            plan.main = c.param(match if hint is None else f"{match} AND {hint}")
            if hint is not None and exact:
                # The facet tokens say exactly what these filters say: FTS5 alone decides.
                calls = [f for f in calls if f not in facets]
                rest = [r for r in rest if not (isinstance(r, Field) and r in facets)]
    if pos and c.backend == "postgresql":
        # The facet data is in segment_search (migration 0404): decide there, same bounds.
        for item in calls:
            if item.name in ("from", "to"):
                plan.index_where.append(c.date_bound(item, "ss.started_at"))
        others = [f for f in calls if f.name not in ("from", "to")]
        if others:
            sql = " AND ".join(c.call_field(f) for f in others)
            plan.index_where.append(f"ss.call_id IN (SELECT c.id FROM calls c WHERE {sql})")
        calls = []
        for item in [r for r in rest if isinstance(r, Field) and r.name == "party"]:
            marks = ", ".join(c.param(p) for p in item.value.split("|"))
            plan.index_where.append(f"(ss.party IN ({marks}))")
            rest.remove(item)
    if calls:
        sql = " AND ".join(c.call_field(f) for f in calls)
        plan.where.append(f"s.call_id IN (SELECT c.id FROM calls c WHERE {sql})")
    for item in rest:
        plan.where.append(c.sql(item))
    return plan
