"""Keeping the index in step with edits: an outbox row in the same transaction.

After every flush, segments that were added, whose text, transcript, call, party, times or
speaker changed, or that were deleted, and segments whose row in ``translations`` changed (that
table belongs to the language layer; it is recognised by name, so search works before
and after it exists), get a ``search_outbox`` row on the session's own connection: a
rollback takes the rows away with the edit, a commit keeps both. A call whose start
time changes puts all its segments in the outbox (the index holds the start as a
facet). After the commit the same process applies the outbox to the index
(:func:`.tindex.apply_outbox`); a crash in between leaves the rows for the next open.
Until then, searches in the changing transaction (and in any other, for committed rows
not yet applied) see those segments through the pending overlay (:mod:`.engine`).
Bulk SQL that bypasses the ORM must call :func:`earshot.search.reindex_segments` itself.

``EARSHOT_TEST_KILL_AFTER_COMMIT=1`` (tests only) kills the process with SIGKILL right
after a commit that wrote outbox rows, before the index is touched.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from sqlalchemy import Engine, event, inspect, select, text
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from ..store.models import Call, Segment
from .index import enqueue

__all__: list[str] = []

# What a document holds of its segment: its text and facets, and what a hit shows.
_WATCHED = ("text", "transcript_id", "call_id", "party", "start", "end", "speaker_label")


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
        enqueue(session.connection(), sorted(ids))
        session.info[_DIRTY] = True


_DIRTY = "search_outbox_written"
KILL_AFTER_COMMIT = "EARSHOT_TEST_KILL_AFTER_COMMIT"


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_DIRTY, False):
        return
    if os.environ.get(KILL_AFTER_COMMIT):
        os.kill(os.getpid(), signal.SIGKILL)
    from .tindex import apply_outbox, index_for, opened, uses_memory

    engine = session.get_bind()
    assert isinstance(engine, Engine)
    idx = opened(engine)
    if idx is None:
        if uses_memory(session):
            # An in-memory index is built from the database when this process first
            # searches, which covers these rows: no build here (ingest workers of an
            # encrypted case would each build the whole index).
            return
        idx = index_for(session)  # a new index is built, which covers these rows too
    apply_outbox(engine, idx)


@event.listens_for(Session, "do_orm_execute")
def _bulk_delete(state: ORMExecuteState) -> None:
    """A bulk ``delete(Segment)`` (no ORM objects, so :func:`_after_flush` never sees
    them): the segments it is about to delete get outbox rows first, in the same
    transaction, so their documents go too. (A bulk UPDATE must still call
    :func:`earshot.search.reindex_segments`.)"""
    if not state.is_delete or state.bind_mapper is not inspect(Segment):
        return
    where = getattr(state.statement, "whereclause", None)
    query = select(Segment.id) if where is None else select(Segment.id).where(where)
    ids = list(state.session.execute(query).scalars())
    if ids:
        enqueue(state.session.connection(), ids)
        state.session.info[_DIRTY] = True


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_DIRTY, None)
