"""Checking that the index agrees with the database (after a crash, a restore, a bug).

Every document carries a digest of what it says about its segment (keys, signatures,
facets; see :func:`.tindex.document_digest`); this re-derives each segment's digest from
the database and compares, and finds documents without a segment and duplicates.
Segments with an outbox row are pending (the indexer has not applied them yet) and are
not compared.
"""

from __future__ import annotations

from collections import Counter

import tantivy
from sqlalchemy import text
from sqlalchemy.orm import Session

from .index import segment_texts
from .tindex import _fields, document_digest, index_for, pending_segments

__all__ = ["check_index"]

_BATCH = 2000


def check_index(session: Session, *, limit: int = 20) -> list[str]:
    """Problems found (at most `limit`), or an empty list when the index matches the data."""
    conn = session.connection()
    idx = index_for(session)
    searcher = idx.searcher()
    pending = set(pending_segments(conn))
    result = searcher.search(
        tantivy.Query.all_query(),
        limit=max(int(searcher.num_docs), 1),
        count=False,
        order_by_field="order",
        order=tantivy.Order.Asc,
    )
    addresses = [a for _o, a in result.hits]
    ids = [int(i or 0) for i in searcher.fast_field_values("id", addresses)]
    digests = [int(d or 0) for d in searcher.fast_field_values("digest", addresses)]
    stored = dict(zip(ids, digests, strict=True))
    problems: list[str] = []
    for seg_id, n in Counter(ids).items():
        if n > 1 and seg_id not in pending:
            problems.append(f"segment {seg_id}: {n} index documents")
    seen: set[int] = set()
    last = 0
    while len(problems) < limit:
        batch = [
            int(r[0])
            for r in conn.execute(
                text("SELECT id FROM segments WHERE id > :last ORDER BY id LIMIT :n"),
                {"last": last, "n": _BATCH},
            )
        ]
        if not batch:
            break
        last = batch[-1]
        seen.update(batch)
        for seg_id, seg in segment_texts(conn, batch).items():
            if seg_id in pending:
                continue
            got = stored.get(seg_id)
            if got is None:
                problems.append(f"segment without index document: {seg_id}")
            elif got != document_digest(_fields(seg, idx.zone)):
                problems.append(f"segment {seg_id}: index document differs from its text")
    for seg_id in sorted(set(stored) - seen - pending):
        if len(problems) >= limit:
            break
        problems.append(f"index document without segment: {seg_id}")
    return problems[:limit]
