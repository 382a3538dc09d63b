"""Keeping the index in step with edits: an outbox row in the same transaction.

After every flush, segments that were added, whose text, transcript, call, party, times or
speaker changed, or that were deleted, and segments whose row in ``translations`` changed (that
table belongs to the language layer; it is recognised by name, so search works before
and after it exists), get a ``search_outbox`` row on the session's own connection: a
rollback takes the rows away with the edit, a commit keeps both. A call whose start
time changes puts all its segments in the outbox (the index holds the start as a
facet). After the commit the same process applies the outbox to the index
(:func:`.indexer.apply_outbox`); a crash in between leaves the rows for the next open.

The index also holds the facets of :mod:`.facets` (phone, person, theme, term, place),
so a change to what one of them says puts the segments concerned in the outbox too:

* a party added, deleted, or whose ``phone_id``, ``person_id`` or ``call_id`` changed
  (a link to a person, a person merge re-pointing the party): every segment of its call;
* a phone whose ``e164`` changed: every segment of every call it is a party of;
* a ``segment_slang``, ``segment_themes`` or ``segment_entities`` row added, changed or
  deleted: its segment (before and after a move);
* a ``call_themes`` row added, changed or deleted: every segment of its call.

The language tables are recognised by name (like ``translations``). Bulk statements on
these tables that go through the session (``session.execute(delete(SegmentSlang)...)``,
``insert(...)`` with rows, ``update(...)``) bypass the unit of work, so they are caught
before they run (``do_orm_execute``): the rows a ``DELETE``/``UPDATE`` will touch are
read first with its own ``WHERE``, the rows of an ``INSERT`` from its parameters.
Until then, searches in the changing transaction (and in any other, for committed rows
not yet applied) see those segments through the pending overlay (:mod:`.engine`).
Bulk SQL that bypasses the ORM must call :func:`earshot.search.reindex_segments` itself.

``EARSHOT_TEST_KILL_AFTER_COMMIT=1`` (tests only) kills the process with SIGKILL right
after a commit that wrote outbox rows, before the index is touched.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Table, bindparam, event, inspect, select, text
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.dml import Delete, Insert, Update

from ..store.models import Call, Segment
from .index import enqueue

__all__ = ["mark_own", "own_pending"]

# What a document holds of its segment: its text and facets, and what a hit shows.
_WATCHED = ("text", "transcript_id", "call_id", "party", "start", "end", "speaker_label")

# Facet tables (:mod:`.facets`): which column ties a row to the index documents, and
# which columns the documents read. A segment table's row concerns its segment; a call
# table's row every segment of its call; a phone every segment of its calls.
_SEGMENT_FACETS: dict[str, tuple[str, ...]] = {
    "segment_slang": ("segment_id", "term"),
    "segment_themes": ("segment_id", "theme"),
    "segment_entities": ("segment_id", "kind", "normal", "place_name", "person_id"),
}
_CALL_FACETS: dict[str, tuple[str, ...]] = {
    "parties": ("call_id", "phone_id", "person_id"),
    "call_themes": ("call_id", "theme"),
}
_PHONE_FACETS = ("e164",)
_SEGMENTS_OF_CALLS = text("SELECT id FROM segments WHERE call_id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)
_CALLS_OF_PHONES = text("SELECT DISTINCT call_id FROM parties WHERE phone_id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)


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


def _values(obj: Any, name: str, *, changed_only: bool) -> set[int] | None:
    """The current and former values of attribute `name` of `obj` (ints), or None when
    `changed_only` and it did not change."""
    attr = inspect(obj).attrs[name]
    history = attr.history
    if changed_only and not history.has_changes():
        return None
    out = {int(v) for v in (*history.added, *history.deleted) if v is not None}
    if attr.value is not None:
        out.add(int(attr.value))
    return out


def _facet_rows(obj: Any, *, changed_only: bool) -> tuple[set[int], set[int], set[int]]:
    """(segments, calls, phones) whose documents a flushed row of a facet table concerns."""
    table = getattr(type(obj), "__tablename__", None)
    segs: set[int] = set()
    calls: set[int] = set()
    phones: set[int] = set()
    if table in _SEGMENT_FACETS or table in _CALL_FACETS:
        watched = _SEGMENT_FACETS.get(table) or _CALL_FACETS[str(table)]
        state = inspect(obj)
        if changed_only and not any(state.attrs[n].history.has_changes() for n in watched):
            return segs, calls, phones
        into = segs if table in _SEGMENT_FACETS else calls
        into |= _values(obj, watched[0], changed_only=False) or set()
    elif (
        table == "phones"
        and obj.id is not None
        and (not changed_only or inspect(obj).attrs.e164.history.has_changes())
    ):
        phones.add(int(obj.id))
    return segs, calls, phones


def _segments_of(session: Session, calls: Iterable[int], phones: Iterable[int] = ()) -> set[int]:
    """Every segment of `calls` and of the calls `phones` are a party of."""
    conn = session.connection()
    wanted = set(calls)
    if phones:
        wanted |= {int(r[0]) for r in conn.execute(_CALLS_OF_PHONES, {"ids": sorted(phones)})}
    if not wanted:
        return set()
    return {int(r[0]) for r in conn.execute(_SEGMENTS_OF_CALLS, {"ids": sorted(wanted)})}


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    ids: set[int] = set()
    moved_calls: set[int] = set()
    phones: set[int] = set()

    def facets(obj: Any, *, changed_only: bool) -> None:
        segs, calls, numbers = _facet_rows(obj, changed_only=changed_only)
        ids.update(segs)
        moved_calls.update(calls)
        phones.update(numbers)

    for obj in session.new:
        if isinstance(obj, Segment) and obj.id is not None:
            ids.add(obj.id)
        else:
            ids |= _translation_segments(obj)
            facets(obj, changed_only=False)
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
            facets(obj, changed_only=True)
    for obj in session.deleted:
        if isinstance(obj, Segment) and obj.id is not None:
            ids.add(obj.id)
        else:
            ids |= _translation_segments(obj)
            facets(obj, changed_only=False)
    if moved_calls or phones:
        ids |= _segments_of(session, moved_calls, phones)
    _enqueue(session, ids)


def _enqueue(session: Session, ids: set[int]) -> None:
    """Outbox rows for `ids`, each segment once per transaction (the language layer
    deletes and inserts several tables of one call: one row per segment is enough, the
    indexer reads the committed state)."""
    queued: set[int] = session.info.setdefault(_QUEUED, set())
    new = ids - queued
    if new:
        enqueue(session.connection(), sorted(new))
        queued |= new
        mark_own(session, new)


def mark_own(session: Session, ids: Iterable[int]) -> None:
    """Note that this session's transaction wrote outbox rows for `ids`: they are applied
    after its commit, and its own searches see them through the pending overlay."""
    session.info.setdefault(_MINE, set()).update(int(i) for i in ids)


def own_pending(session: Session) -> set[int]:
    """The segments this session's open transaction has put in the outbox (after a
    rolled-back savepoint a few too many: harmless, the overlay reads the database)."""
    return set(session.info.get(_MINE, ()))


@event.listens_for(Session, "after_transaction_end")
def _forget_queued(session: Session, _transaction: Any) -> None:
    # At the end of any transaction, a savepoint included (its rows may be rolled back
    # with it): forgetting costs at most a duplicate row, remembering could lose one.
    session.info.pop(_QUEUED, None)


def _rows(state: ORMExecuteState) -> list[dict[str, Any]]:
    params = state.parameters
    if isinstance(params, dict):
        return [params] if params else []
    if isinstance(params, list | tuple):
        return [r for r in params if isinstance(r, dict)]
    return []


def _inserted(state: ORMExecuteState, column: str) -> set[int]:
    """The values of `column` in the rows of a bulk INSERT (its parameters, or the
    statement's own VALUES), or that a bulk UPDATE sets."""
    out = {int(r[column]) for r in _rows(state) if r.get(column) is not None}
    if not out:
        stmt = state.statement
        try:
            compiled = stmt.compile().params if isinstance(stmt, Insert | Update) else {}
        except Exception:
            compiled = {}
        # a SET or VALUES parameter is named after its column (a multi-row VALUES adds
        # _m0, _m1 ...); WHERE parameters get a numeric suffix instead
        out = {
            int(v)
            for k, v in compiled.items()
            if v is not None and (k == column or k.startswith(f"{column}_m"))
        }
    return out


def _where_values(state: ORMExecuteState, table: Table, column: str) -> set[int]:
    """The values of `column` in the rows a bulk UPDATE or DELETE is about to touch."""
    stmt = state.statement
    assert isinstance(stmt, Update | Delete)
    query = select(table.c[column]).distinct()
    rows = _rows(state)
    keys = [c.name for c in table.primary_key.columns]
    if rows and all(k in r for r in rows for k in keys):  # a bulk UPDATE by primary key
        if column in keys:
            return {int(r[column]) for r in rows if r[column] is not None}
        pk = table.c[keys[0]]
        query = query.where(pk.in_(sorted({r[keys[0]] for r in rows})))
    elif stmt.whereclause is not None:
        query = query.where(stmt.whereclause)
    conn = state.session.connection()
    return {int(r[0]) for r in conn.execute(query) if r[0] is not None}


def _updates(state: ORMExecuteState, names: tuple[str, ...]) -> bool:
    """Whether a bulk UPDATE sets any of `names` (when it cannot tell: yes)."""
    stmt = state.statement
    assert isinstance(stmt, Update)
    set_names: set[str] = set()
    for key in getattr(stmt, "_values", None) or {}:
        set_names.add(str(getattr(key, "key", None) or getattr(key, "name", None) or key))
    for row in _rows(state):
        set_names |= set(row)
    return not set_names or bool(set_names & set(names))


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    """A bulk INSERT, UPDATE or DELETE on a facet table, or a bulk DELETE of segments:
    enqueue the segments concerned before it runs (in the same transaction)."""
    stmt = state.statement
    if not isinstance(stmt, Insert | Update | Delete):
        return
    table = stmt.table
    if not isinstance(table, Table):
        return
    name = table.name
    segs: set[int] = set()
    calls: set[int] = set()
    phones: set[int] = set()
    if name in _SEGMENT_FACETS or name in _CALL_FACETS:
        watched = _SEGMENT_FACETS.get(name) or _CALL_FACETS[name]
        into = segs if name in _SEGMENT_FACETS else calls
        key = watched[0]
        if isinstance(stmt, Insert):
            into |= _inserted(state, key)
        elif isinstance(stmt, Delete) or _updates(state, watched):
            into |= _where_values(state, table, key)
            if isinstance(stmt, Update):
                into |= _inserted(state, key)  # a row moved to another segment or call
    elif name == "segments" and isinstance(stmt, Delete):
        # A bulk delete(Segment) (a re-run of the transcript stage): no ORM objects, so
        # _after_flush never sees them; their documents must go too.
        segs |= _where_values(state, table, "id")
    elif name == "phones" and isinstance(stmt, Update | Delete):
        if isinstance(stmt, Delete) or _updates(state, _PHONE_FACETS):
            phones |= _where_values(state, table, "id")
    else:
        return
    if calls or phones:
        segs |= _segments_of(state.session, calls, phones)
    _enqueue(state.session, segs)


_QUEUED = "search_outbox_queued"
# the segments this session's transaction put in the outbox: applied after its commit
_MINE = "search_outbox_written"
KILL_AFTER_COMMIT = "EARSHOT_TEST_KILL_AFTER_COMMIT"


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_MINE, None):
        return
    if os.environ.get(KILL_AFTER_COMMIT):
        os.kill(os.getpid(), signal.SIGKILL)
    from .indexer import apply_outbox, index_for, opened, uses_memory

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


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_MINE, None)
