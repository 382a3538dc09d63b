"""Running a search: ranked candidates from SQL, bounded totals, snippets.

Scores are FTS5's BM25 (k1 = 1.2, b = 0.75, summed over the key phrases of the query's
words, document length over every column of the row). On SQLite FTS5 computes them
and cuts the list (``ORDER BY rank LIMIT``) in C; on PostgreSQL the same formula runs
in SQL over the GIN candidates, from the same statistics (``search_stats`` totals,
each key's document frequency from ``search_keys``, per-row term counts: 1 for a key
in the row's tsvector, or its count in the row's ``*_rep`` repeats), and
``ORDER BY score DESC LIMIT`` cuts there (without filters, in the same query that
counts the candidates, see :func:`_postgres_page`). Both give the same raw doubles, turned
into whole millionths in SQL (``floor(score * 1e6 + 0.5)``, exact IEEE steps on both)
and ordered by (that, segment id) in the database, so the answers are identical.

Totals are exact up to :data:`TOTAL_CAP`; beyond it ``total`` is the cap and
``total_is_estimate`` is set (counting every hit of a common word would cost more than
finding the best ones).
"""

# SQL here is assembled from constant fragments and bind markers (:p0, ...); user text
# only ever travels as bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from .index import META_TOKENS, SegmentText, segment_texts
from .plan import KeyPhrase, Plan, compile_query
from .query import SearchError, parse_query
from .verify import highlight_spans, row_tokens

__all__ = ["TOTAL_CAP", "SearchHit", "SearchOptions", "SearchResult", "search"]

K1 = 1.2
B = 0.75
TOTAL_CAP = 10_000
OPEN, CLOSE = "[", "]"


@dataclass(frozen=True)
class SearchOptions:
    """How many hits to return and how to read phones and dates in the query."""

    limit: int = 50
    offset: int = 0
    region: str = "RU"
    timezone: str = "UTC"
    snippet_chars: int = 160


@dataclass(frozen=True)
class SearchHit:
    """One matching segment. `snippet` marks hits with ``[`` ``]``; `highlights` are
    (start, end) character offsets into `text` (the Russian text, or the English
    translation when the hit is there: `source`), for renderers that escape HTML."""

    call: int
    segment: int
    start: float | None
    end: float | None
    party: str | None
    speaker: str | None
    snippet: str
    score: float
    text: str
    source: str
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    """The hits asked for, and how many there are: exact up to TOTAL_CAP; above it
    `total` is TOTAL_CAP and `total_is_estimate` is true ("10000+")."""

    hits: list[SearchHit]
    total: int
    total_is_estimate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "hits": [h.as_dict() for h in self.hits],
            "total": self.total,
            "total_is_estimate": self.total_is_estimate,
        }


@dataclass(frozen=True)
class _Ranked:
    segment: int
    score: float


# Scores are ordered and reported as integers of millionths, computed in SQL the same
# way on both backends (IEEE multiply, add, truncate), so ties break identically.
SCALE = 1_000_000
# (SQLite's CAST truncates, which is floor for these non-negative scores; PostgreSQL's
# rounds, hence its explicit floor.)
_SQLITE_KEY = "CAST((-bm25(segment_fts, 1.0, 1.0, 0.0, 0.0, 0.0)) * 1000000.0 + 0.5 AS INTEGER)"
_POSTGRES_KEY = "CAST(floor({score} * 1000000.0 + 0.5) AS BIGINT)"


def search(session: Session, query: str, options: SearchOptions = SearchOptions()) -> SearchResult:
    """Search the case behind `session` (inside its transaction, so edits not yet
    committed are found). Raises QuerySyntaxError for a malformed query."""
    if options.limit < 0 or options.offset < 0:
        raise SearchError("limit and offset must be zero or more")
    tree = parse_query(query)
    conn = session.connection()
    plan = compile_query(conn, tree, query, region=options.region, timezone=options.timezone)
    params = dict(plan.params)
    source, where = _source(plan)
    if plan.main is None:
        counted = _count(conn, plan, source, where)
        rows = [
            _Ranked(int(r[0]), 0.0)
            for r in conn.execute(
                _text(
                    f"SELECT s.id FROM {source} WHERE {where} "
                    "ORDER BY s.call_id, s.id LIMIT :lim OFFSET :off",
                    plan,
                ),
                params | {"lim": options.limit, "off": options.offset},
            )
        ]
    else:
        ranked = _sqlite_ranked if plan.backend == "sqlite" else _postgres_ranked
        filtered = bool(plan.where or plan.index_where)
        one_pass = plan.has_phrase if plan.backend == "sqlite" else filtered
        if one_pass or (plan.has_phrase and plan.backend == "postgresql"):
            # Filters and phrases leave few hits: score them all in one pass (no
            # separate count), sort here; only past the cap ask the database to cut.
            # (Not for filters on SQLite: with facet tokens FTS5 yields only the
            # candidates, and counting then sorting in C beats fetching every row.)
            rows = ranked(conn, plan, source, where, TOTAL_CAP + 1, None)
            counted = len(rows)
            if counted <= TOTAL_CAP:
                rows.sort(key=lambda r: (-r.score, r.segment))
                rows = rows[options.offset : options.offset + options.limit]
            else:
                rows = ranked(conn, plan, source, where, options.limit, options.offset)
        elif plan.backend == "postgresql":
            # The page and the total from one scan of the candidates (they are all
            # scored before the top ones are known anyway); a separate capped count
            # gets a plan that walks the whole table in id order for common words.
            rows, total = _postgres_page(conn, plan, source, where, options.limit, options.offset)
            counted = _count(conn, plan, source, where) if total is None else total
        else:
            counted = _count(conn, plan, source, where)
            rows = ranked(conn, plan, source, where, options.limit, options.offset)
    texts = segment_texts(conn, [r.segment for r in rows])
    details = _details(conn, [r.segment for r in rows])
    hits = [
        _hit(r, details[r.segment], texts.get(r.segment), tree, options)
        for r in rows
        if r.segment in details
    ]
    return SearchResult(hits, min(counted, TOTAL_CAP), counted > TOTAL_CAP)


def _count(conn: Connection, plan: Plan, source: str, where: str) -> int:
    """Matching rows, counted up to TOTAL_CAP + 1."""
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT :cap) t"
    return int(conn.execute(_text(sql, plan), plan.params | {"cap": TOTAL_CAP + 1}).scalar_one())


def _source(plan: Plan) -> tuple[str, str]:
    """(FROM, WHERE) of the plan's candidate rows."""
    where = list(plan.where)
    if plan.backend == "postgresql":
        source = "segments s"
        if plan.uses_index:
            # Only conditions over segments need them joined (see _ident).
            source = "segment_search ss"
            if plan.where:
                source += " JOIN segments s ON s.id = ss.segment_id"
        where[:0] = plan.index_where
        if plan.main:
            where.insert(0, plan.main)
    elif plan.main:
        source = "segment_fts"
        if where:
            source += " JOIN segments s ON s.id = segment_fts.rowid"
        where.insert(0, f"segment_fts MATCH {plan.main}")
    else:
        source = "segments s"
    return source, " AND ".join(where) if where else "1 = 1"


def _ident(plan: Plan) -> str:
    """The candidate's segment id in :func:`_source`'s rows (PostgreSQL)."""
    return "ss.segment_id" if plan.uses_index and not plan.where else "s.id"


def _text(sql: str, plan: Plan) -> Any:
    clause = text(sql)
    return clause.bindparams(*plan.binds) if plan.binds else clause


def _sqlite_ranked(
    conn: Connection, plan: Plan, source: str, where: str, limit: int, offset: int | None
) -> list[_Ranked]:
    """Scored hits: the page in order, or (offset None) the first `limit` unordered."""
    order = "" if offset is None else " ORDER BY sk DESC, segment_fts.rowid"
    sql = _text(
        f"SELECT segment_fts.rowid, {_SQLITE_KEY} AS sk FROM {source} WHERE {where}"
        f"{order} LIMIT :lim OFFSET :off",
        plan,
    )
    return [
        _Ranked(int(r[0]), int(r[1]) / SCALE)
        for r in conn.execute(sql, plan.params | {"lim": limit, "off": offset or 0})
    ]


def _postgres_ranked(
    conn: Connection, plan: Plan, source: str, where: str, limit: int, offset: int | None
) -> list[_Ranked]:
    """BM25 exactly as FTS5's bm25() computes it, in SQL (see the module docstring)."""
    score, params = _postgres_score(conn, plan)
    ident = _ident(plan)
    order = "" if offset is None else f" ORDER BY sk DESC, {ident}"
    sql = _text(
        f"SELECT {ident}, {_POSTGRES_KEY.format(score=score)} AS sk FROM {source}"
        ", LATERAL (SELECT CAST(ss.ru_len + ss.en_len + :meta AS double precision) AS d) dl "
        f"WHERE {where}{order} LIMIT :lim OFFSET :off",
        plan,
    )
    return [
        _Ranked(int(r[0]), int(r[1]) / SCALE)
        for r in conn.execute(sql, params | {"lim": limit, "off": offset or 0})
    ]


def _postgres_page(
    conn: Connection, plan: Plan, source: str, where: str, limit: int, offset: int
) -> tuple[list[_Ranked], int | None]:
    """The page of scored hits in order, and how many candidates there are in all
    (None when the page is empty: then no row carried the count).

    Every candidate is scored before the best are known, so counting them in the same
    pass is nearly free. The scores are computed behind a fence (``OFFSET 0``) so that
    only (id, score) pairs are counted and sorted, not whole index rows; without filters
    over segments the index rows alone are read (each has its segment: the foreign key)."""
    score, params = _postgres_score(conn, plan)
    ident = _ident(plan)
    sql = _text(
        "SELECT id, sk, count(*) OVER () AS n FROM ("
        f"SELECT {ident} AS id, {_POSTGRES_KEY.format(score=score)} AS sk FROM {source}"
        ", LATERAL (SELECT CAST(ss.ru_len + ss.en_len + :meta AS double precision) AS d) dl "
        f"WHERE {where} OFFSET 0) t ORDER BY sk DESC, id LIMIT :lim OFFSET :off",
        plan,
    )
    result = conn.execute(sql, params | {"lim": limit, "off": offset}).all()
    rows = [_Ranked(int(r[0]), int(r[1]) / SCALE) for r in result]
    return rows, int(result[0][2]) if result else None


def _postgres_score(conn: Connection, plan: Plan) -> tuple[str, dict[str, Any]]:
    """The BM25 score of a candidate row ``ss`` (with its length as ``dl.d``), as an
    SQL expression, and its parameters."""
    scored = [p for p in plan.main_phrases if not p.negated]
    params = dict(plan.params)
    n_rows, n_tokens = conn.execute(text("SELECT rows, tokens FROM search_stats")).one()
    n_rows = int(n_rows)
    # FTS5 counts the SQLite-only facet tokens in every row's length: add them here too,
    # in the same order of operations (total tokens / rows), so the doubles agree.
    avgdl = float(int(n_tokens) + META_TOKENS * n_rows) / float(max(n_rows, 1))
    hits = _document_frequencies(conn, scored)
    terms: list[str] = []
    for i, (phrase, df) in enumerate(zip(scored, hits, strict=True)):
        idf = math.log((n_rows - df + 0.5) / (df + 0.5))
        params |= {f"idf{i}": idf if idf > 0 else 1e-6, f"key{i}": phrase.key}
        params[f"q{i}"] = _ts_key(phrase.key)
        # The key's positions in each column: 0 when absent, else its count among the
        # row's repeated keys, or 1 (see index.tsvector_parts).
        parts = [
            f"(CASE WHEN ss.{col} @@ CAST(:q{i} AS tsquery) THEN "
            f"coalesce(CAST(ss.{col}_rep ->> :key{i} AS integer), 1) ELSE 0 END)"
            for col in phrase.columns
        ]
        tf = "CAST(" + " + ".join(parts) + " AS double precision)"
        terms.append(f"(:idf{i} * (({tf} * :k1p1) / ({tf} + :k1 * (:omb + :b * dl.d / :avgdl))))")
    params |= {"k1p1": K1 + 1.0, "k1": K1, "omb": 1 - B, "b": B, "avgdl": avgdl}
    params["meta"] = META_TOKENS
    score = "(" + (" + ".join(terms) if terms else "CAST(0 AS double precision)") + ")"
    return score, params


def _ts_key(key: str) -> str:
    """A tsquery literal matching exactly the lexeme `key`."""
    return "'" + key.replace("\\", "\\\\").replace("'", "''") + "'"


def _document_frequencies(conn: Connection, phrases: list[KeyPhrase]) -> list[int]:
    """Rows holding each key in its columns (FTS5's per-phrase hit count), from the
    per-key counts that triggers keep in ``search_keys`` (migration 0403)."""
    if not phrases:
        return []
    keys = sorted({p.key for p in phrases})
    marks = ", ".join(f":k{i}" for i in range(len(keys)))
    counts = {
        str(r[0]): (int(r[1]), int(r[2]), int(r[3]))
        for r in conn.execute(
            text(
                f"SELECT key, rows_ru, rows_en, rows_both FROM search_keys WHERE key IN ({marks})"
            ),
            {f"k{i}": k for i, k in enumerate(keys)},
        )
    }
    out: list[int] = []
    for phrase in phrases:
        ru, en, both = counts.get(phrase.key, (0, 0, 0))
        if set(phrase.columns) == {"ru", "en"}:
            out.append(ru + en - both)
        else:
            out.append(ru if phrase.columns[0] == "ru" else en)
    return out


@dataclass(frozen=True)
class _Details:
    call: int
    start: float | None
    end: float | None
    party: str | None
    speaker: str | None


def _details(conn: Connection, ids: list[int]) -> dict[int, _Details]:
    if not ids:
        return {}
    marks = ", ".join(f":d{i}" for i in range(len(ids)))
    rows = conn.execute(
        text(
            f'SELECT id, call_id, start, "end", party, speaker_label FROM segments '
            f"WHERE id IN ({marks})"
        ),
        {f"d{i}": v for i, v in enumerate(ids)},
    )
    return {int(r[0]): _Details(int(r[1]), r[2], r[3], r[4], r[5]) for r in rows}


def _hit(
    row: _Ranked,
    details: _Details,
    seg: SegmentText | None,
    tree: Any,
    options: SearchOptions,
) -> SearchHit:
    ru, en = (seg.ru, seg.en) if seg else ("", "")
    spans = highlight_spans(tree, row_tokens(seg)) if seg else {"ru": [], "en": []}
    if spans["ru"] or (not spans["en"] and ru):
        body, source, marks = ru, "ru", spans["ru"]
    else:
        body, source, marks = en, "en", spans["en"]
    return SearchHit(
        call=details.call,
        segment=row.segment,
        start=details.start,
        end=details.end,
        party=details.party,
        speaker=details.speaker,
        snippet=_snippet(body, marks, options.snippet_chars),
        score=row.score,
        text=body,
        source=source,
        highlights=marks,
    )


def _snippet(body: str, spans: list[tuple[int, int]], width: int) -> str:
    """`body` around its first highlight, at most about `width` characters, hits marked."""
    lo, hi = 0, len(body)
    if len(body) > width:
        first = spans[0][0] if spans else 0
        lo = max(0, min(first - width // 3, len(body) - width))
        hi = min(len(body), lo + width)
        while lo > 0 and not body[lo - 1].isspace() and lo > first - width // 2:
            lo -= 1
    parts: list[str] = ["…" if lo > 0 else ""]
    cursor = lo
    for start, end in spans:
        if end <= lo or start >= hi:
            continue
        start, end = max(start, lo), min(end, hi)
        parts += [body[cursor:start], OPEN, body[start:end], CLOSE]
        cursor = end
    parts.append(body[cursor:hi])
    parts.append("…" if hi < len(body) else "")
    return "".join(parts).strip()
