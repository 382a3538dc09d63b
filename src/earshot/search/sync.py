"""Keeping the index in step with edits, in the same transaction.

After every flush, segments that were added, whose text or transcript changed, or
that were deleted, and segments whose row in ``translations`` changed (that table
belongs to the language layer; it is recognised by name, so search works before and
after it exists), are re-indexed on the session's own connection: a rollback undoes
the index change with the edit. A call whose start time changes has all its segments
re-indexed too, as does a segment whose party changes: the index holds the facet data
made from both, on both backends (SQLite's facet tokens, see :func:`.index.meta_tokens`;
PostgreSQL's ``segment_search.party`` / ``started_at``). Bulk SQL that bypasses the ORM must call
:func:`earshot.search.reindex_segments` itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session, UOWTransaction

from ..store.models import Call, Segment
from .index import index_segments

__all__: list[str] = []

_WATCHED = ("text", "transcript_id", "call_id", "party")


def _translation_segments(obj: Any) -> set[int]:
    if getattr(type(obj), "__tablename__", None) != "translations":
        return set()
    out: set[int] = set()
    seg_id = getattr(obj, "segment_id", None)
    if seg_id is not None:
        out.add(int(seg_id))
    history = inspect(obj).attrs.segment_id.history if hasattr(obj, "segment_id") else None
    if history is not None:
        out |= {int(v) for v in history.deleted if v is not None}
    return out


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Segment) and obj.id is not None:
            ids.add(obj.id)
        else:
            ids |= _translation_segments(obj)
    moved_calls: set[int] = set()
    for obj in session.dirty:
        if isinstance(obj, Call):
            if inspect(obj).attrs.started_at.history.has_changes():
                moved_calls.add(obj.id)
        elif isinstance(obj, Segment):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _WATCHED):
                ids.add(obj.id)
        else:
            ids |= _translation_segments(obj)
    for obj in session.deleted:
        if isinstance(obj, Segment) and obj.id is not None:
            ids.add(obj.id)
        else:
            ids |= _translation_segments(obj)
    if moved_calls:
        marks = ", ".join(str(int(c)) for c in sorted(moved_calls))
        ids |= {
            int(r[0])
            for r in session.connection().execute(
                text(f"SELECT id FROM segments WHERE call_id IN ({marks})")  # noqa: S608 (ints)
            )
        }
    if ids:
        index_segments(session.connection(), sorted(ids))
