"""Checking that the index agrees with the database (after a crash, a restore, a bug).

Every document carries a digest of what it was made from (the segment's texts and
facts, and its phone/person/theme/term/place facets of :mod:`.facets`; see
:func:`.tindex.source_digest`); this re-reads each segment from the database, digests
it again and compares, and finds documents without a segment and duplicates.
Segments with an outbox row are pending (the indexer has not applied them yet) and are
not compared.

It walks the segments in id order, a batch at a time, and asks the index only for the
documents of each batch's id range, so memory stays flat however large the case (a
million segments used to mean a million ids and digests held at once).
"""

from __future__ import annotations

from collections import Counter

import tantivy
from sqlalchemy import text
from sqlalchemy.orm import Session

from .indexer import index_for, segment_sources, unapplied_segments
from .tindex import SCHEMA, source_digest

__all__ = ["check_index"]

_BATCH = 2000
_LAST_ID = 2**63 - 1
_FIRST_ID = -(2**63)


def _documents(searcher: tantivy.Searcher, lo: int, hi: int) -> list[tuple[int, int]]:
    """(segment id, digest) of every index document with lo < id <= hi."""
    query = tantivy.Query.range_query(
        SCHEMA, "id", tantivy.FieldType.Integer, lo, hi, include_lower=False
    )
    count = int(getattr(searcher.search(query, limit=1, count=True), "count", 0) or 0)
    if count == 0:
        return []
    addresses = [a for _score, a in searcher.search(query, limit=count, count=False).hits]
    ids = searcher.fast_field_values("id", addresses)
    digests = searcher.fast_field_values("digest", addresses)
    return [(int(i or 0), int(d or 0)) for i, d in zip(ids, digests, strict=True)]


def check_index(session: Session, *, limit: int = 20) -> list[str]:
    """Problems found (at most `limit`), or an empty list when the index matches the data."""
    conn = session.connection()
    idx = index_for(session)
    searcher = idx.searcher()
    pending = unapplied_segments(conn, idx)
    problems: list[str] = []
    last, lo = 0, _FIRST_ID  # the first round also takes documents below every segment
    while len(problems) < limit:
        batch = [
            int(r[0])
            for r in conn.execute(
                text("SELECT id FROM segments WHERE id > :last ORDER BY id LIMIT :n"),
                {"last": last, "n": _BATCH},
            )
        ]
        # The last round takes every document above the last segment: orphans.
        hi = batch[-1] if batch else _LAST_ID
        docs = _documents(searcher, lo, hi)
        stored = dict(docs)
        counts = Counter(i for i, _d in docs)
        doubled = {i for i, n in counts.items() if n > 1} - pending
        problems += [f"segment {i}: {counts[i]} index documents" for i in sorted(doubled)]
        sources = segment_sources(conn, batch)
        for seg_id in batch:
            if seg_id in pending or seg_id in doubled or seg_id not in sources:
                continue
            seg, facets = sources[seg_id]
            got = stored.get(seg_id)
            if got is None:
                problems.append(f"segment without index document: {seg_id}")
            elif got != source_digest(seg, facets):
                problems.append(f"segment {seg_id}: index document differs from its text")
        known = set(batch)
        for seg_id in sorted(set(stored) - known - pending):
            problems.append(f"index document without segment: {seg_id}")
        if not batch:
            break
        last = lo = hi
    return problems[:limit]
