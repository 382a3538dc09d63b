"""A plain substring search over the transcripts, for when the index cannot answer.

Every character of the query is literal (no wildcard, no syntax). The web falls back to
it when the search index cannot be read, with a note on how to rebuild the index; it
is slow on a large case but never wrong about what the text holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.language_models import CallTheme
from ..store.models import Segment, Transcript

__all__ = ["literal_hits", "theme_counts"]


def literal_hits(session: Session, query: str, limit: int) -> list[dict[str, Any]]:
    """Segments containing `query` as typed, in call and segment order, at most `limit`."""
    rows = session.execute(
        select(Segment, Transcript.kind)
        .join(Transcript, Transcript.id == Segment.transcript_id)
        .where(Segment.text.contains(query, autoescape=True))
        .order_by(Segment.call_id, Segment.idx)
        .limit(limit)
    ).all()
    hits = []
    folded = query.casefold()
    for seg, kind in rows:
        at = seg.text.casefold().find(folded)
        hits.append(
            {
                "call_id": seg.call_id,
                "segment_id": seg.id,
                "start": seg.start,
                "speaker": seg.speaker_label or seg.party,
                "kind": kind,
                "text": seg.text,
                "highlights": [[at, at + len(query)]] if at >= 0 else [],
            }
        )
    return hits


def theme_counts(session: Session, call_ids: Iterable[int]) -> Counter[str]:
    """How many of the calls `call_ids` carry each theme (the search page's theme facet)."""
    ids = set(call_ids)
    if not ids:
        return Counter()
    return Counter(
        session.execute(select(CallTheme.theme).where(CallTheme.call_id.in_(ids))).scalars()
    )
