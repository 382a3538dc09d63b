"""Compiling a query tree to one tantivy query: parameters only, never spliced text.

The top-level AND's plain-text parts are the *scored* part (BM25 over the lemma keys of
their words, in ``ru`` and ``en``); everything else is a filter that scores nothing
(``const_score`` 0): a hit's score is its text's alone, whatever the filters. A query
without such a part lists its hits in call and segment order (:attr:`Plan.ranked`).

* A word is any of its keys in either column (:func:`term_phrases`).
* A phrase is its words, and (unscored) the exact sequence over the signature-pair
  columns (one pair term for two words, a phrase of pairs for more): each query word
  may be any signature that holds one of its keys, found in the index's own term
  dictionary (``ru_sig`` / ``en_sig``, see :mod:`.tindex`).
* ``party:``, ``from:``/``to:`` and ``call:`` are facets of every document (fast
  fields; top-level ``from:``/``to:`` also through the UTC ``day``/``month`` terms, see
  :meth:`_Compiler.dates`); so are ``phone:``, ``theme:``, ``term:``, ``place:`` and
  ``person:`` (multi-valued terms, :mod:`.facets`): each filter is a term lookup.
  Only a person's *name* is looked up in the database (the small ``persons`` table,
  on the session's connection), to the person ids the ``person`` field holds, with the
  persons merged into them.
  Uncommitted tags count through the pending overlay (:mod:`.engine`): every change to
  what a facet says puts its segments in the outbox (:mod:`.sync`).
"""

# SQL here is assembled from constant fragments and bind markers (:p0, ...); user text
# only ever travels as bound parameters.

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tantivy
from sqlalchemy import Connection, text

from ..phones import normalize_phone
from ..store.models import UTCDateTime
from .index import has_table
from .query import And, Field, Node, Not, Or, Phrase, QuerySyntaxError, SearchError, Term
from .text import COLUMNS, Column, pair_terms, word_keys
from .tindex import SCHEMA, micros

__all__ = ["MAX_PHRASE_VARIANTS", "KeyPhrase", "Plan", "compile_query", "has_phrase", "ids_query"]

MAX_PHRASE_VARIANTS = 512
MAX_DATE_TERMS = 400
MAX_UNION_TERMS = 64
Q = tantivy.Query
_CALL_SPAN = text("SELECT min(started_at) AS lo, max(started_at) AS hi FROM calls").columns(
    lo=UTCDateTime(), hi=UTCDateTime()
)
MUST, SHOULD, MUST_NOT = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot


@dataclass(frozen=True)
class KeyPhrase:
    """One index key searched in some columns."""

    key: str
    columns: tuple[Column, ...]
    negated: bool = False


@dataclass
class Plan:
    """A compiled query: the tantivy query, whether hits are ranked by score, and the
    query as searched (each word with its slang family: what a hit's marks show)."""

    query: tantivy.Query
    ranked: bool
    searched: Node
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


def _unscored(query: tantivy.Query) -> tantivy.Query:
    return Q.const_score_query(query, 0.0)


def _all_but(query: tantivy.Query) -> tantivy.Query:
    return Q.boolean_query([(MUST, _unscored(Q.all_query())), (MUST_NOT, query)])


def _any(queries: list[tantivy.Query]) -> tantivy.Query:
    if not queries:
        return Q.empty_query()
    return queries[0] if len(queries) == 1 else Q.boolean_query([(SHOULD, q) for q in queries])


def _terms(field: str, values: Sequence[str] | Sequence[int]) -> tantivy.Query | None:
    """Any of `values` in a raw text or integer field: a union of posting lists when
    they are few (it skips along the word's hits; a term set would build a bitset of
    every match)."""
    if not values:
        return None
    if len(values) <= MAX_UNION_TERMS:
        return _any([Q.term_query(SCHEMA, field, v) for v in values])
    return Q.term_set_query(SCHEMA, field, values)


def _started(lo: datetime, hi: datetime) -> tantivy.Query:
    """Calls started in [lo, hi), exactly (a fast-field range: it scans the column, so
    it is kept for what the ``day``/``month``/``hour`` terms cannot say)."""
    return Q.range_query(
        SCHEMA, "started", tantivy.FieldType.Integer, micros(lo), micros(hi), include_upper=False
    )


def _hours(lo: datetime, hi: datetime) -> list[tantivy.Query | None]:
    """Calls started in [lo, hi) (UTC, within one day): the whole hours as ``hour``
    terms, a partly covered hour as its term and the exact range."""
    whole: list[str] = []
    parts: list[tantivy.Query | None] = []
    hour = lo.replace(minute=0, second=0, microsecond=0)
    while hour < hi:
        end = hour + timedelta(hours=1)
        term = f"{hour:%Y%m%d%H}"
        if lo <= hour and end <= hi:
            whole.append(term)
        else:
            exact = _started(max(lo, hour), min(hi, end))
            parts.append(
                Q.boolean_query([(MUST, Q.term_query(SCHEMA, "hour", term)), (MUST, exact)])
            )
        hour = end
    parts.append(_terms("hour", whole))
    return parts


def ids_query(field: str, ids: set[int]) -> tantivy.Query:
    """Any of `ids` in an integer field (:func:`_terms`; nothing for no ids)."""
    return _terms(field, sorted(ids)) or Q.empty_query()


def _pairs(column: Column, signatures: tuple[str, ...]) -> tantivy.Query:
    """The exact sequence of `signatures` over the pair column: one pair term for two
    words, a phrase of consecutive pairs for more (see :mod:`.tindex`)."""
    pairs: list[str | tuple[int, str]] = list(pair_terms(signatures))
    if len(pairs) == 1:
        return Q.term_query(SCHEMA, f"{column}_pair", pairs[0])
    return Q.phrase_query(SCHEMA, f"{column}_pair", pairs)


class _Compiler:
    def __init__(
        self,
        conn: Connection,
        query: str,
        region: str,
        timezone: str,
        searchers: list[tantivy.Searcher],
        index_zone: str = "UTC",
    ) -> None:
        self.conn = conn
        self.index_zone = index_zone
        self.query = query
        self.region = region
        self.searchers = searchers
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")

    # -- text -----------------------------------------------------------------------------
    def text(self, node: Node) -> tantivy.Query:
        """The scored query of a plain-text node (no field)."""
        if isinstance(node, Term):
            return _any(
                [
                    Q.term_query(SCHEMA, column, phrase.key)
                    for phrase in term_phrases(node.word)
                    for column in phrase.columns
                ]
            )
        if isinstance(node, Phrase):
            words: list[tuple[Any, tantivy.Query]] = [
                (MUST, self.text(Term(w))) for w in node.words
            ]
            return Q.boolean_query([*words, (MUST, _unscored(self.sequence(node.words)))])
        if isinstance(node, Or):
            return Q.boolean_query([(SHOULD, self.text(i)) for i in node.items])
        if isinstance(node, And):
            pos = [(MUST, self.text(i)) for i in node.items if not isinstance(i, Not)]
            neg = [(MUST_NOT, self.text(i.item)) for i in node.items if isinstance(i, Not)]
            if not pos:
                pos = [(MUST, _unscored(Q.all_query()))]
            return Q.boolean_query(pos + neg)
        if isinstance(node, Not):
            return _all_but(self.text(node.item))
        raise SearchError(f"internal: a filter reached the text index ({node!r})")

    def sequence(self, words: tuple[str, ...]) -> tantivy.Query:
        """The exact phrase over the signature columns: any signature of each word's keys."""
        per_column: list[tantivy.Query] = []
        for column in COLUMNS:
            options = [self.signatures(word_keys(w)[column], column) for w in words]
            count = 1
            for opt in options:
                count *= len(opt)
            if count > MAX_PHRASE_VARIANTS:
                raise SearchError(
                    f"the phrase {' '.join(words)!r} has {count} readings, more than "
                    f"{MAX_PHRASE_VARIANTS}; shorten it or search its words without quotes"
                )
            per_column += [_pairs(column, combo) for combo in product(*options)]
        return _any(per_column)

    def signatures(self, keys: tuple[str, ...], column: Column) -> list[str]:
        """Every signature token a word with `keys` may have in `column`."""
        found = dict.fromkeys(keys)
        for searcher in self.searchers:
            for key in keys:
                for term, _count in searcher.terms_with_prefix(f"{column}_sig", key + ">"):
                    found.setdefault(term.split(">", 1)[1])
        return sorted(found)

    # -- filters --------------------------------------------------------------------------
    def any(self, node: Node) -> tantivy.Query:
        """Any node; only its text parts score."""
        if _text_only(node):
            return self.text(node)
        if isinstance(node, And):
            pos = [(MUST, self.any(i)) for i in node.items if not isinstance(i, Not)]
            neg = [(MUST_NOT, self.any(i.item)) for i in node.items if isinstance(i, Not)]
            if not pos:
                pos = [(MUST, _unscored(Q.all_query()))]
            return Q.boolean_query(pos + neg)
        if isinstance(node, Or):
            return Q.boolean_query([(SHOULD, self.any(i)) for i in node.items])
        if isinstance(node, Not):
            return _all_but(self.any(node.item))
        if not isinstance(node, Field):
            raise SearchError(f"internal: cannot compile {node!r}")
        return self.field(node)

    def bound(self, node: Field) -> datetime:
        """A from:/to: filter's instant: the local midnight (case time zone) that starts
        (from:) or ends (to:) its day."""
        assert node.day is not None
        day: date = node.day if node.name == "from" else node.day + timedelta(days=1)
        return datetime.combine(day, time(0), tzinfo=self.zone)

    def dates(self, fields: list[Field]) -> tantivy.Query:
        """Top-level from:/to: filters as one query: the UTC days (``day``) and months
        (``month``) they cover whole, as terms, and the partly covered first and last UTC
        days (a case time zone off UTC) by their ``hour`` terms. Same answer as the plain
        range, but a word's hits meet a short union of postings instead of a scan of the
        ``started`` column."""
        lo = max((self.bound(f) for f in fields if f.name == "from"), default=None)
        hi = min((self.bound(f) for f in fields if f.name == "to"), default=None)
        if self.zone.key == self.index_zone:
            return self.local_dates(lo, hi)
        if lo is None or hi is None:
            first, last = self.conn.execute(_CALL_SPAN).one()
            if first is None or last is None:
                return Q.empty_query()
            lo = lo if lo is not None else first.replace(tzinfo=UTC)
            hi = hi if hi is not None else last.replace(tzinfo=UTC) + timedelta(microseconds=1)
        lo_u, hi_u = lo.astimezone(UTC), hi.astimezone(UTC)
        if lo_u >= hi_u:
            return Q.empty_query()
        first_whole = lo_u.date() + timedelta(days=0 if lo_u.time() == time(0) else 1)
        last_whole = hi_u.date() - timedelta(days=1)
        days: list[str] = []
        months: list[str] = []
        day = first_whole
        while day <= last_whole and len(days) + len(months) <= MAX_DATE_TERMS:
            month_end = day.replace(day=monthrange(day.year, day.month)[1])
            if day.day == 1 and month_end <= last_whole:
                months.append(f"{day:%Y%m}")
                day = month_end + timedelta(days=1)
            else:
                days.append(f"{day:%Y%m%d}")
                day += timedelta(days=1)
        if len(days) + len(months) > MAX_DATE_TERMS:
            return _started(lo, hi)
        parts = [_terms("day", days), _terms("month", months)]
        # The partly covered UTC days (a case time zone off UTC): their whole UTC hours as
        # ``hour`` terms, a partly covered hour (a zone off by :30 or :45) exactly.
        if first_whole > last_whole:
            parts += _hours(lo_u, hi_u)
        else:
            if lo_u.time() != time(0):
                parts += _hours(lo_u, datetime.combine(first_whole, time(0), tzinfo=UTC))
            if hi_u.time() != time(0):
                parts += _hours(datetime.combine(hi_u.date(), time(0), tzinfo=UTC), hi_u)
        return _any([p for p in parts if p is not None])

    def local_dates(self, lo: datetime | None, hi: datetime | None) -> tantivy.Query:
        """Top-level from:/to: in the index's own time zone: every bound is a local
        midnight, so the filter is exactly the local months (``lmonth``) and days
        (``lday``) between them: a handful of terms. A missing bound is the local day
        of the first (or last) call, which covers every call on that side."""
        if lo is None or hi is None:
            first, last = self.conn.execute(_CALL_SPAN).one()
            if first is None or last is None:
                return Q.empty_query()
            if lo is None:
                lo = datetime.combine(
                    first.replace(tzinfo=UTC).astimezone(self.zone).date(), time(0), self.zone
                )
            if hi is None:
                end = last.replace(tzinfo=UTC).astimezone(self.zone).date() + timedelta(days=1)
                hi = datetime.combine(end, time(0), self.zone)
        day, stop = lo.date(), hi.date()
        if day >= stop:
            return Q.empty_query()
        days: list[str] = []
        months: list[str] = []
        while day < stop:
            if len(days) + len(months) > MAX_DATE_TERMS:
                return _started(lo, hi)
            month_end = day.replace(day=monthrange(day.year, day.month)[1])
            if day.day == 1 and month_end < stop:
                months.append(f"{day:%Y%m}")
                day = month_end + timedelta(days=1)
            else:
                days.append(f"{day:%Y%m%d}")
                day += timedelta(days=1)
        return _any([q for q in (_terms("lday", days), _terms("lmonth", months)) if q is not None])

    def need(self, table: str, node: Field, what: str) -> None:
        if not has_table(self.conn, table):
            raise SearchError(
                f"{node.name}:{node.value} needs {what} (table {table} is missing in this case); "
                "run the language processing first, or drop the filter"
            )

    def rows(self, sql: str, params: dict[str, Any]) -> set[int]:
        return {int(r[0]) for r in self.conn.execute(text(sql), params)}

    def field(self, node: Field) -> tantivy.Query:
        name, value = node.name, node.value
        if name == "party":
            return _terms("party", value.split("|")) or Q.empty_query()
        if name == "call":
            return Q.term_query(SCHEMA, "call", int(value))
        if name in ("from", "to"):
            bound = micros(self.bound(node))
            if name == "from":
                return Q.range_query(SCHEMA, "started", tantivy.FieldType.Integer, bound, None)
            return Q.range_query(
                SCHEMA, "started", tantivy.FieldType.Integer, None, bound, include_upper=False
            )
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
            return Q.term_query(SCHEMA, "phone", e164)
        if name == "term":
            self.need("segment_slang", node, "slang tagging")
            return Q.term_query(SCHEMA, "term", value)
        if name == "theme":
            # the segment's themes and its call's (call_themes, where the case has it)
            self.need("segment_themes", node, "theme tagging")
            return Q.term_query(SCHEMA, "theme", value)
        if name == "place":
            self.need("segment_entities", node, "entity tagging")
            return _terms("place", _name_variants(value)) or Q.empty_query()
        if name == "person":
            return self.person(node)
        raise QuerySyntaxError(
            self.query, node.position, f"unknown field {name}", "see `earshot search --help`"
        )

    def person(self, node: Field) -> tantivy.Query:
        value = node.value.strip()
        params: dict[str, Any]
        if value.isdigit():
            who = "SELECT fp.id FROM persons fp WHERE fp.id = :pid"
            params = {"pid": int(value)}
        else:
            key = " ".join(value.split()).casefold().replace("ё", "е")
            like = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            who = (
                "SELECT fp.id FROM persons fp WHERE fp.name_key = :key "
                "OR fp.name_key LIKE :like ESCAPE '\\'"
            )
            params = {"key": key, "like": like}
        # The ``person`` field holds the persons of the call's parties and of the
        # segment's entities (:mod:`.facets`).
        return ids_query("person", self.with_merged(self.rows(who, params)))

    def with_merged(self, found: set[int]) -> set[int]:
        """`found` and every person merged into one of them, at any depth. A merge moves
        the merged person's call sides to the kept one but leaves the mentions
        (``segment_entities.person_id``) pointing at the merged person, which stays as a
        pointer so that the merge can be undone: the kept person's filter takes them in.
        The merged person's own filter keeps only what still points at it."""
        if not found:
            return found
        children: dict[int, list[int]] = {}
        for child, parent in self.conn.execute(
            text("SELECT id, merged_into FROM persons WHERE merged_into IS NOT NULL")
        ):
            children.setdefault(int(parent), []).append(int(child))
        out, todo = set(found), list(found)
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in out:
                    out.add(child)
                    todo.append(child)
        return out


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
            # Each index key once: a key repeated under OR would be scored twice,
            # and adds nothing to what is found.
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


def compile_query(
    conn: Connection,
    node: Node,
    query: str,
    *,
    region: str,
    timezone: str,
    searchers: list[tantivy.Searcher],
    index_zone: str = "UTC",
) -> Plan:
    """Compile `node` into one tantivy query (`searchers`: whose term dictionaries hold
    the phrase signatures; `index_zone`: the time zone of their local date terms)."""
    node = _with_slang(conn, node)
    c = _Compiler(conn, query, region, timezone, searchers, index_zone)
    conjuncts = list(node.items) if isinstance(node, And) else [node]
    pos: list[Node] = []
    neg: list[Node] = []
    rest: list[Node] = []
    dates = [i for i in conjuncts if isinstance(i, Field) and i.name in ("from", "to")]
    conjuncts = [i for i in conjuncts if i not in dates]
    for item in conjuncts:
        if isinstance(item, Not) and _text_only(item.item):
            neg.append(item.item)
        elif not isinstance(item, Not) and _text_only(item):
            pos.append(item)
        else:
            rest.append(item)
    if not pos:
        rest.extend(Not(n) for n in neg)
        neg = []
    clauses: list[tuple[Any, tantivy.Query]] = [(MUST, c.text(p)) for p in pos]
    clauses += [(MUST_NOT, c.text(n)) for n in neg]
    clauses += [(MUST, _unscored(c.any(r))) for r in rest]
    if dates:
        clauses.append((MUST, _unscored(c.dates(dates))))
    if not pos and not rest and not dates:
        raise SearchError("internal: an empty query")
    # One required clause is the query itself: a boolean wrapped round it scores the
    # same but costs tantivy a quarter more on a common word (0.9 -> 1.15 ms at 1M).
    single = len(clauses) == 1 and clauses[0][0] == MUST
    whole = clauses[0][1] if single else Q.boolean_query(clauses)
    return Plan(whole, ranked=bool(pos), has_phrase=has_phrase(node), searched=node)
