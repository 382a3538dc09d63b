"""Running a search: ranked hits from the tantivy index, bounded totals, snippets.

Scores are tantivy's BM25 (k1 = 1.2, b = 0.75) of the query's words over the lemma keys
in ``ru`` and ``en``; filters score nothing (see :mod:`.plan`). Hits come in tantivy's
top-k order: score, then index order (documents in segment id order after a rebuild;
a rewritten document moves to the end), the same for every page of one index. A query
with no scored text lists its hits in call and segment order.

The index follows committed data (:mod:`.indexer`). Segments with an outbox row (this
transaction's own changes, or committed ones the indexer has not applied yet) are the
*pending overlay*: they are left out of the case index and searched in a small
in-memory index made from the database as this session sees it, then merged, so an
edit is found in its own transaction and a rolled-back one never was.

Totals are exact up to :data:`TOTAL_CAP`; beyond it ``total`` is the cap and
``total_is_estimate`` is set.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import tantivy
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from .indexer import (
    index_for,
    memory_index,
    memory_pending,
    pending_segments,
)
from .plan import MUST, MUST_NOT, Plan, compile_query, ids_query
from .query import SearchError, parse_query
from .sync import own_pending
from .tindex import CaseIndex
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
    pending = _pending(session, conn, idx)
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
                    (MUST_NOT, ids_query("id", set(pending))),
                ]
            )
        found, count = _top(searcher, i, query_, plan, want)
        rows += found
        counted += count
    if plan.ranked:
        if len(searchers) > 1:  # merge the overlay's hits in (a stable sort by score)
            rows.sort(key=lambda r: -r.score)
    else:
        rows.sort(key=lambda r: r.order)  # call and segment: unique
    rows = rows[options.offset : want]
    marker = Highlighter(plan.searched)  # a slang form found is marked too
    hits = [_hit(r, _stored(searchers[r.searcher], r), marker, options) for r in rows]
    return SearchResult(hits, min(counted, TOTAL_CAP), counted > TOTAL_CAP)


OUTBOX_CHECK_S = 1.0


def _pending(session: Session, conn: Connection, idx: CaseIndex) -> list[int]:
    """The segments to search in the pending overlay: this transaction's own edits
    (known to the session), and committed outbox rows the index has not taken in.

    A disk index is shared: a writer applies its rows right after its commit, before it
    returns, and readers reload on its index commit; so committed rows linger only when
    their writer died (or, briefly, while it applies them). A disk index therefore reads
    the outbox at most once every :data:`OUTBOX_CHECK_S` seconds and keeps what it found
    until the next look, sparing every search a database round trip. An in-memory index
    (an encrypted case) is this process's own: at every search it takes in what other
    processes committed (:mod:`.applied`: each row once, and the rows stay for the other
    processes' indexes), so the overlay holds only this transaction's edits and rows
    committed in between."""
    own = own_pending(session)
    if idx.path is None:
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        return sorted(own | memory_pending(engine, conn, idx, own))
    now = time.monotonic()
    if now - idx.outbox_checked < OUTBOX_CHECK_S:
        return sorted(own | idx.outbox_left)
    found = set(pending_segments(conn))
    idx.outbox_checked = now
    idx.outbox_left = found - own
    return sorted(found | own)


@dataclass(frozen=True)
class _Ranked:
    score: float
    searcher: int
    address: tantivy.DocAddress
    order: int = 0


def _count(result: tantivy.SearchResult) -> int:
    """The hit count of a search made with ``count=True`` (not in tantivy's stubs)."""
    return int(getattr(result, "count", 0) or 0)


def _top(
    searcher: tantivy.Searcher, which: int, query: tantivy.Query, plan: Plan, want: int
) -> tuple[list[_Ranked], int]:
    """The first `want` hits of one searcher (number `which`) in its order (score, then
    index order: stable for a given index), and the hit count."""
    if want == 0:
        return [], _count(searcher.search(query, limit=1, count=True))
    if plan.ranked:
        result = searcher.search(query, limit=want, count=True)
        keys = [(round(float(score), 6), 0) for score, _a in result.hits]
    else:
        result = searcher.search(
            query, limit=want, count=True, order_by_field="order", order=tantivy.Order.Asc
        )
        keys = [(0.0, int(order)) for order, _a in result.hits]
    ranked = [
        _Ranked(score, which, address, order)
        for (score, order), (_k, address) in zip(keys, result.hits, strict=True)
    ]
    return ranked, _count(result)


@dataclass(frozen=True)
class _Shown:
    """What a hit shows, as the index stored it."""

    segment: int
    call: int
    ru: str
    en: str
    start: float | None
    end: float | None
    party: str | None
    speaker: str | None
    ru_words: str = ""  #: each word's signature, as indexed (:mod:`.verify`)
    en_words: str = ""


def _text(value: object) -> str:
    return bytes(value).decode() if isinstance(value, bytes | bytearray | list) else ""


def _stored(searcher: tantivy.Searcher, row: _Ranked) -> _Shown:
    """The stored fields of a hit's document (no database round trip: for pending
    segments this is the overlay index, made from the database as the session sees
    it)."""
    doc = searcher.doc(row.address)
    speaker = _text(doc.get_first("speaker"))
    start, end = doc.get_first("start"), doc.get_first("end")
    return _Shown(
        segment=int(doc.get_first("id") or 0),
        call=int(doc.get_first("call") or 0),
        ru=_text(doc.get_first("ru_text")),
        en=_text(doc.get_first("en_text")),
        start=None if start is None else float(start),
        end=None if end is None else float(end),
        party=doc.get_first("party") or None,
        speaker=speaker or None,
        ru_words=_text(doc.get_first("ru_words")),
        en_words=_text(doc.get_first("en_words")),
    )


def _hit(row: _Ranked, shown: _Shown, marker: Highlighter, options: SearchOptions) -> SearchHit:
    source, body, marks = marker.shown(shown.ru, shown.en, shown.ru_words, shown.en_words)
    return SearchHit(
        call=shown.call,
        segment=shown.segment,
        start=shown.start,
        end=shown.end,
        party=shown.party,
        speaker=shown.speaker,
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
