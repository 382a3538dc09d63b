"""Running a search: ranked hits from the tantivy index, bounded totals, snippets.

Scores are tantivy's BM25 (k1 = 1.2, b = 0.75) of the query's words over the lemma keys
in ``ru`` and ``en``; filters score nothing (see :mod:`.plan`). Hits come in tantivy's
top-k order: score, then index order (documents in segment id order after a rebuild;
a rewritten document moves to the end), the same for every page of one index. A query
with no scored text lists its hits in call and segment order.

The index follows committed data (:mod:`.tindex`). Segments with an outbox row (this
transaction's own changes, or committed ones the indexer has not applied yet) are the
*pending overlay*: they are left out of the case index and searched in a small
in-memory index made from the database as this session sees it, then merged, so an
edit is found in its own transaction and a rolled-back one never was.

Totals are exact up to :data:`TOTAL_CAP`; beyond it ``total`` is the cap and
``total_is_estimate`` is set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import tantivy
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from .index import SegmentText, fetch, has_table, marks
from .plan import MUST, MUST_NOT, SHOULD, Plan, compile_query
from .query import SearchError, parse_query
from .tindex import SCHEMA, apply_outbox, index_for, memory_index, pending_segments
from .verify import Highlighter

__all__ = ["TOTAL_CAP", "SearchHit", "SearchOptions", "SearchResult", "search"]

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


def search(session: Session, query: str, options: SearchOptions = SearchOptions()) -> SearchResult:
    """Search the case behind `session` (inside its transaction, so edits not yet
    committed are found). Raises QuerySyntaxError for a malformed query."""
    if options.limit < 0 or options.offset < 0:
        raise SearchError("limit and offset must be zero or more")
    tree = parse_query(query)
    conn = session.connection()
    idx = index_for(session)
    pending = pending_segments(conn)
    if pending and idx.path is None:
        # An in-memory index (encrypted case) takes in what other processes committed
        # (a job worker leaves its outbox rows to the process that searches), so the
        # overlay stays small: applied and deleted, like the writer of a disk index.
        apply_outbox(session.get_bind(), idx)  # type: ignore[arg-type]
        pending = pending_segments(conn)
    main = idx.searcher()
    searchers = [main]
    if pending:
        searchers.append(memory_index(conn, pending, idx.zone).searcher())
    plan = compile_query(
        conn,
        tree,
        query,
        region=options.region,
        timezone=options.timezone,
        searchers=searchers,
        index_zone=idx.zone,
    )
    want = options.offset + options.limit
    rows: list[_Ranked] = []
    counted = 0
    for i, searcher in enumerate(searchers):
        query_ = plan.query
        if i == 0 and pending:
            query_ = tantivy.Query.boolean_query(
                [
                    (MUST, plan.query),
                    (MUST_NOT, _ids(pending)),
                ]
            )
        found, count = _top(searcher, query_, plan, want)
        rows += found
        counted += count
    if plan.ranked:
        if len(searchers) > 1:  # merge the overlay's hits in (a stable sort by score)
            rows.sort(key=lambda r: -r.score)
    else:
        rows.sort(key=lambda r: (r.order, r.segment))
    rows = rows[options.offset : want]
    texts, details = _hit_rows(conn, [r.segment for r in rows])
    marker = Highlighter(tree)
    hits = [
        _hit(r, details[r.segment], texts.get(r.segment), marker, options)
        for r in rows
        if r.segment in details
    ]
    return SearchResult(hits, min(counted, TOTAL_CAP), counted > TOTAL_CAP)


def _ids(ids: list[int]) -> tantivy.Query:
    """Documents of these segments: a union of term look-ups when they are few (a
    term set over the ``id`` fast field scans the whole column, ~2.5 ms at 1M)."""
    if len(ids) <= 64:
        return tantivy.Query.boolean_query(
            [(SHOULD, tantivy.Query.term_query(SCHEMA, "id", i)) for i in ids]
        )
    return tantivy.Query.term_set_query(SCHEMA, "id", ids)


@dataclass(frozen=True)
class _Ranked:
    segment: int
    score: float
    order: int = 0


def _count(result: tantivy.SearchResult) -> int:
    """The hit count of a search made with ``count=True`` (not in tantivy's stubs)."""
    return int(getattr(result, "count", 0) or 0)


def _top(
    searcher: tantivy.Searcher, query: tantivy.Query, plan: Plan, want: int
) -> tuple[list[_Ranked], int]:
    """The first `want` hits of one searcher in its order (score, then index order: stable
    for a given index), and the hit count."""
    if want == 0:
        return [], _count(searcher.search(query, limit=1, count=True))
    if not plan.ranked:
        result = searcher.search(
            query, limit=want, count=True, order_by_field="order", order=tantivy.Order.Asc
        )
        addresses = [a for _o, a in result.hits]
        ids = searcher.fast_field_values("id", addresses)
        return [
            _Ranked(int(i or 0), 0.0, int(o)) for (o, _a), i in zip(result.hits, ids, strict=True)
        ], _count(result)
    result = searcher.search(query, limit=want, count=True)
    hits = result.hits
    ids = searcher.fast_field_values("id", [a for _s, a in hits])
    ranked = [
        _Ranked(int(i or 0), round(float(s), 6)) for (s, _a), i in zip(hits, ids, strict=True)
    ]
    return ranked, _count(result)


@dataclass(frozen=True)
class _Details:
    call: int
    start: float | None
    end: float | None
    party: str | None
    speaker: str | None


def _hit_rows(
    conn: Connection, ids: list[int]
) -> tuple[dict[int, SegmentText], dict[int, _Details]]:
    """The texts (as :func:`.index.segment_texts` reads them) and the call, times, party
    and speaker of each segment in `ids`, in one statement (a page of hits is one round
    trip to the database, which is most of a search's time on PostgreSQL)."""
    if not ids:
        return {}, {}
    english = ", ''"
    if has_table(conn, "translations"):
        agg = "string_agg" if conn.dialect.name == "postgresql" else "group_concat"
        english = f", (SELECT {agg}(tr.text, ?) FROM translations tr WHERE tr.segment_id = s.id)"  # noqa: S608
    sql = (
        f"SELECT s.id, s.call_id, s.text, t.kind{english}, s.party, "  # noqa: S608 (constants)
        's.start, s."end", s.speaker_label FROM segments s '
        "JOIN transcripts t ON t.id = s.transcript_id "
        f"WHERE s.id IN ({marks(len(ids))})"
    )
    params: list[object] = ["\n"] if english != ", ''" else []
    texts: dict[int, SegmentText] = {}
    details: dict[int, _Details] = {}
    for i, c, body, kind, extra, party, start, end, speaker in fetch(conn, sql, params + ids):
        if kind == "translation":
            texts[int(i)] = SegmentText(int(i), int(c), "", body or "", party)
        else:
            texts[int(i)] = SegmentText(int(i), int(c), body or "", extra or "", party)
        details[int(i)] = _Details(int(c), start, end, party, speaker)
    return texts, details


def _hit(
    row: _Ranked,
    details: _Details,
    seg: SegmentText | None,
    marker: Highlighter,
    options: SearchOptions,
) -> SearchHit:
    ru, en = (seg.ru, seg.en) if seg else ("", "")
    spans = marker.spans(seg) if seg else {"ru": [], "en": []}
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
