"""Running a search: candidates from SQL, exact phrase check, BM25, snippets.

Scores are FTS5's BM25 (k1 = 1.2, b = 0.75, one weight per column, document length
over both columns). On SQLite they come from ``bm25()``; on PostgreSQL the same
formula is computed here from the same tokens (row count, total length, per-key
document frequency from the GIN index, per-row term counts), so both backends give
the same scores, rounded to 6 decimals, and the same order (score, then call, then
segment).
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

from .index import FTS_TABLE, SegmentText, segment_texts
from .plan import KeyPhrase, Plan, compile_query
from .query import Field, SearchError, parse_query
from .verify import evaluate, highlight_spans, row_tokens, term_frequency

__all__ = ["SearchHit", "SearchOptions", "SearchResult", "search"]

K1 = 1.2
B = 0.75
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


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    total: int

    def as_dict(self) -> dict[str, Any]:
        return {"hits": [asdict(h) for h in self.hits], "total": self.total}


@dataclass
class _Row:
    segment: int
    call: int
    start: float | None
    end: float | None
    party: str | None
    speaker: str | None
    score: float
    dl: int
    fields: dict[Field, bool]


def _select(plan: Plan, extra: str) -> tuple[str, str]:
    """(FROM+WHERE, extra columns) for the plan."""
    where = list(plan.where)
    if plan.backend == "postgresql":
        source = "segments s JOIN calls c ON c.id = s.call_id"
        if plan.uses_index or plan.main:
            source += " JOIN segment_search ss ON ss.segment_id = s.id"
        if plan.main:
            where.insert(0, plan.main)
    elif plan.main:
        source = (
            f"{FTS_TABLE} JOIN segments s ON s.id = segment_fts.rowid "
            "JOIN calls c ON c.id = s.call_id"
        )
        where.insert(0, f"segment_fts MATCH {plan.main}")
    else:
        source = "segments s JOIN calls c ON c.id = s.call_id"
    clause = " AND ".join(where) if where else "1 = 1"
    return f"FROM {source} WHERE {clause}", extra


def _stale_check(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    stale = conn.execute(text("SELECT value FROM search.search_state WHERE key = 'stale'")).first()
    if stale:
        raise SearchError(
            f"the search index of this case is out of date ({stale[0]}); "
            "rebuild it with `earshot search CASE --reindex`"
        )


def search(session: Session, query: str, options: SearchOptions = SearchOptions()) -> SearchResult:
    """Search the case behind `session` (inside its transaction, so edits not yet
    committed are found). Raises QuerySyntaxError for a malformed query."""
    if options.limit < 0 or options.offset < 0:
        raise SearchError("limit and offset must be zero or more")
    tree = parse_query(query)
    conn = session.connection()
    _stale_check(conn)
    plan = compile_query(conn, tree, query, region=options.region, timezone=options.timezone)
    field_cols = "".join(
        f", CASE WHEN {sql} THEN 1 ELSE 0 END AS f{i}" for i, (_n, sql) in enumerate(plan.fields)
    )
    base = 's.id, s.call_id, s.start, s."end", s.party, s.speaker_label'
    postgres = plan.backend == "postgresql"
    if plan.main and not postgres:
        rank = ", round(bm25(segment_fts), 6) AS bm, 0"
    elif plan.main:
        rank = ", 0, ss.ru_len + ss.en_len"
    else:
        rank = ", 0, 0"
    body, _ = _select(plan, field_cols)
    order = (
        " ORDER BY bm, s.call_id, s.id"
        if plan.main and not postgres
        else " ORDER BY s.call_id, s.id"
    )
    sql = f"SELECT {base}{rank}{field_cols} {body}"
    params = dict(plan.params)
    paged = not plan.verify and not (plan.main and postgres)
    if paged:
        total = int(conn.execute(_text(f"SELECT count(*) {body}", plan), params).scalar_one())
        sql += order + " LIMIT :lim OFFSET :off"
        params |= {"lim": options.limit, "off": options.offset}
    else:
        sql += order
    rows = [
        _Row(
            int(r[0]),
            int(r[1]),
            r[2],
            r[3],
            r[4],
            r[5],
            -float(r[6]) if plan.main and not postgres else 0.0,
            int(r[7]),
            {node: bool(r[8 + i]) for i, (node, _s) in enumerate(plan.fields)},
        )
        for r in conn.execute(_text(sql, plan), params)
    ]
    texts: dict[int, SegmentText] = {}
    if plan.verify:
        texts = segment_texts(conn, [r.segment for r in rows])
        rows = [
            r
            for r in rows
            if r.segment in texts and evaluate(tree, row_tokens(texts[r.segment]), r.fields)
        ]
    if plan.main and postgres:
        _score_postgres(conn, plan.main_phrases, rows, texts)
    if not paged:
        rows.sort(key=lambda r: (-r.score, r.call, r.segment))
        total = len(rows)
        rows = rows[options.offset : options.offset + options.limit]
    missing = [r.segment for r in rows if r.segment not in texts]
    texts |= segment_texts(conn, missing)
    hits = [_hit(r, texts.get(r.segment), tree, options) for r in rows]
    return SearchResult(hits, total)


def _text(sql: str, plan: Plan) -> Any:
    clause = text(sql)
    return clause.bindparams(*plan.binds) if plan.binds else clause


def _score_postgres(
    conn: Connection, phrases: list[KeyPhrase], rows: list[_Row], texts: dict[int, SegmentText]
) -> None:
    """FTS5's bm25() computed from segment_search (see the module docstring)."""
    if not rows:
        return
    n_rows, n_tokens = conn.execute(
        text("SELECT count(*), coalesce(sum(ru_len + en_len), 0) FROM segment_search")
    ).one()
    n_rows = max(int(n_rows), 1)
    avgdl = float(n_tokens) / n_rows
    idf: list[float] = []
    for phrase in phrases:
        quoted = "'" + phrase.key.replace("\\", "\\\\").replace("'", "''") + "'"
        cond = " OR ".join(f"{col} @@ CAST(:q AS tsquery)" for col in phrase.columns)
        hits = int(
            conn.execute(
                text(f"SELECT count(*) FROM segment_search WHERE {cond}"), {"q": quoted}
            ).scalar_one()
        )
        value = math.log((n_rows - hits + 0.5) / (hits + 0.5))
        idf.append(value if value > 0 else 1e-6)
    need = [r.segment for r in rows if r.segment not in texts]
    texts |= segment_texts(conn, need)
    for row in rows:
        seg = texts.get(row.segment)
        if seg is None:
            continue
        toks = row_tokens(seg)
        score = 0.0
        for weight, phrase in zip(idf, phrases, strict=True):
            tf = float(term_frequency(phrase.key, phrase.columns, toks))
            score += weight * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + B * row.dl / avgdl)))
        row.score = round(score, 6)


def _hit(row: _Row, seg: SegmentText | None, tree: Any, options: SearchOptions) -> SearchHit:
    ru, en = (seg.ru, seg.en) if seg else ("", "")
    spans = highlight_spans(tree, row_tokens(seg)) if seg else {"ru": [], "en": []}
    if spans["ru"] or (not spans["en"] and ru):
        body, source, marks = ru, "ru", spans["ru"]
    else:
        body, source, marks = en, "en", spans["en"]
    return SearchHit(
        call=row.call,
        segment=row.segment,
        start=row.start,
        end=row.end,
        party=row.party,
        speaker=row.speaker,
        snippet=_snippet(body, marks, options.snippet_chars),
        score=round(row.score, 6) + 0.0,
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
