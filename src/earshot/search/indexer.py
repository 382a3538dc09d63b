"""The indexer: opening a case's index, building it from the database, applying the
outbox, and the small in-memory index of pending segments.

The database is the truth and the index is derived from it (:mod:`.tindex` says what a
document holds). Every change that affects search writes a ``search_outbox`` row in the
changing transaction (:mod:`.sync`); after the commit the same process applies the
outbox here (:func:`apply_outbox`): the named segments' documents are rewritten from the
committed database, the index is committed, then the rows are deleted. A crash between
the two leaves the rows, and the next open applies them (:func:`index_for`); applying
twice is harmless (delete, then add). An in-memory index (an encrypted case) is one
process's own, so there the rows stay for the other processes' indexes: each remembers
what it took in (:mod:`.applied`, :func:`_take_in`).
"""

# SQL here is assembled from constant fragments and integers only.
# ruff: noqa: S608

from __future__ import annotations

import threading
import time
import tomllib
import weakref
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..errors import SearchError
from ..store.batches import batched, id_list
from .applied import KEEP, PRUNED_KEY
from .facets import FacetReader, Facets, segment_facets
from .index import SegmentText, fetch, has_table, read_segments, segment_texts
from .tindex import INDEX_DIR, CaseIndex, _zone, make_document

__all__ = [
    "apply_outbox",
    "case_zone",
    "index_for",
    "memory_index",
    "memory_pending",
    "opened",
    "outbox_chunks",
    "pending_segments",
    "rebuild",
    "segment_sources",
    "unapplied_segments",
    "uses_memory",
    "write_segments",
]

_BUILD_HEAP = 400_000_000
_BATCH = 5000


# The clock of the gaps of in-memory indexes (:mod:`.applied`); tests move it.
_now = time.monotonic

_OPEN: weakref.WeakKeyDictionary[Engine, CaseIndex] = weakref.WeakKeyDictionary()
_OPENING = threading.Lock()


def _config(case_dir: Path) -> dict[str, object]:
    try:
        return tomllib.loads((case_dir / "earshot.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _encrypted(case_dir: Path) -> bool:
    return bool(_config(case_dir).get("encryption"))


def case_zone(case_dir: object) -> str:
    """The case's time zone (``[settings] timezone`` in ``earshot.toml``), as a valid
    IANA name (UTC when it is missing or unknown)."""
    if case_dir is None:
        return "UTC"
    settings = _config(Path(str(case_dir))).get("settings")
    name = str(settings.get("timezone") or "UTC") if isinstance(settings, dict) else "UTC"
    return _zone(name).key


def opened(engine: Engine) -> CaseIndex | None:
    """This process's handle on `engine`'s index, if it has one."""
    return _OPEN.get(engine)


def uses_memory(session: Session) -> bool:
    """Whether the case behind `session` keeps its index in memory (encrypted)."""
    case_dir = session.info.get("case_dir")
    return case_dir is None or _encrypted(Path(case_dir))


def index_for(session: Session, *, prepare: bool = True) -> CaseIndex:
    """The index of the case behind `session`, opened once per engine: built from the
    database when it is new (or in memory), and the outbox left by a crash applied
    (unless `prepare` is false: the caller is about to rebuild it)."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    found = _OPEN.get(engine)
    if found is not None and (found.built or not prepare):
        return found
    # Opened (and built) under one lock, so that a second thread of a server never sees
    # a half-built index.
    with _OPENING:
        idx = _OPEN.get(engine)
        if idx is None:
            case_dir = session.info.get("case_dir")
            memory = case_dir is None or uses_memory(session)
            idx = CaseIndex(
                None if memory else Path(str(case_dir)) / INDEX_DIR, case_zone(case_dir)
            )
            if prepare:
                _prepare(engine, idx, fresh=True)
            _OPEN[engine] = idx
        elif prepare and not idx.built:
            _prepare(engine, idx, fresh=False)
    return idx


def _prepare(engine: Engine, idx: CaseIndex, *, fresh: bool) -> None:
    """Build a new (or in-memory, or half-built) index from the database; else apply the
    outbox a crash may have left."""
    if not idx.built or (fresh and idx.path is None):
        with engine.connect() as conn:
            covered = rebuild(conn, idx)[1]
            conn.rollback()
            if idx.path is None:  # in memory: the rows stay for the other processes
                return
            for chunk in outbox_chunks(covered):
                if not _delete_rows(conn, f"id IN ({chunk})"):
                    break
    else:
        apply_outbox(engine, idx)


def _delete_rows(conn: Connection, where: str, frontier: int | None = None) -> bool:
    """Delete applied outbox rows in their own transaction, best effort: when another
    transaction of this process holds SQLite's write lock they stay, to be applied again
    later (harmless: delete, then add). With `frontier`, the rows are the oldest ones of
    in-memory indexes, pruned (:mod:`.applied`): the frontier is recorded with them.
    Returns whether they went."""
    sqlite = conn.dialect.name == "sqlite"
    try:
        if sqlite:
            conn.exec_driver_sql("PRAGMA busy_timeout=250")
        conn.execute(text(f"DELETE FROM search_outbox WHERE {where}"))
        if frontier is not None:
            _record_frontier(conn, frontier)
        conn.commit()
        return True
    except (OperationalError, IntegrityError):  # IntegrityError: two pruners at once
        with suppress(Exception):
            conn.rollback()
        return False
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")


# Two subqueries: SQLite answers a lone min() or max() from the index, but scans the
# whole table for ``SELECT min(id), max(id)``.
_ENDS = "SELECT (SELECT min(id) FROM search_outbox), (SELECT max(id) FROM search_outbox)"


def _frontier(conn: Connection) -> int:
    """The highest outbox id pruned so far (:mod:`.applied`), 0 when none was."""
    rows = fetch(conn, "SELECT value FROM case_info WHERE key = ?", [PRUNED_KEY])
    return int(rows[0][0]) if rows else 0


def _record_frontier(conn: Connection, upto: int) -> None:
    values = {"k": PRUNED_KEY, "v": str(upto)}
    rows = fetch(conn, "SELECT value FROM case_info WHERE key = ?", [PRUNED_KEY])
    if not rows:
        conn.execute(text("INSERT INTO case_info (key, value) VALUES (:k, :v)"), values)
    elif int(rows[0][0]) < upto:
        conn.execute(text("UPDATE case_info SET value = :v WHERE key = :k"), values)


def _ends(conn: Connection) -> tuple[int, int] | None:
    """The outbox's lowest and highest ids, or None when it is empty."""
    low, high = fetch(conn, _ENDS)[0]
    return None if low is None else (int(low), int(high))


def _prune_due(ends: tuple[int, int] | None) -> bool:
    """Whether the kept rows of in-memory indexes span more than twice KEEP."""
    return ends is not None and ends[1] - ends[0] >= 2 * KEEP


def _ordered(conn: Connection) -> bool:
    """Whether the backend commits outbox rows in id order (SQLite: one writer at a
    time), so that an in-memory index has no gaps to track (:mod:`.applied`)."""
    return conn.dialect.name != "postgresql"


def outbox_chunks(ids: list[int], size: int = 5000) -> Iterator[str]:
    """`ids` (outbox row ids) as comma-separated integer lists for ``id IN (...)``."""
    return map(id_list, batched(ids, size))


def forget(engine: Engine) -> None:
    """Drop this process's handle on an engine's index (after its case is closed)."""
    _OPEN.pop(engine, None)


def rebuild(
    conn: Connection,
    idx: CaseIndex,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, list[int]]:
    """Rewrite the whole index from the database as `conn` sees it; returns the documents
    written and the outbox rows it covers, which the caller deletes.

    Those are exactly the rows visible when the rebuild began: their changes were
    committed before it read anything. Not "every row up to the highest id": on
    PostgreSQL a transaction open at the start may hold a lower id and commit while the
    rebuild runs, after it read those segments; its row must stay, to be applied."""
    if not has_table(conn, "search_outbox"):
        raise SearchError("the case database predates the search outbox; open the case to upgrade")
    frontier = _frontier(conn) if idx.path is None else 0
    covered = sorted(int(r[0]) for r in fetch(conn, "SELECT id FROM search_outbox"))
    total = int(conn.execute(text("SELECT count(*) FROM segments")).scalar_one())
    done, last = 0, 0
    reader = FacetReader(conn)
    # One indexing thread: as fast here as two (the Python side is the bound), and the
    # documents land in one segment in segment id order, so ties in score come in the
    # same order after every rebuild (two threads split them between segments by chance).
    with idx.writer(_BUILD_HEAP, 1) as writer:
        writer.delete_all_documents()
        while True:
            segs = read_segments(conn, "s.id > ? ORDER BY s.id LIMIT ?", [last, _BATCH])
            if not segs:
                break
            facets = reader.segments({s.segment_id: s.call_id for s in segs})
            for seg in segs:
                writer.add_document(make_document(seg, idx.zone, facets.get(seg.segment_id)))
            done += len(segs)
            last = segs[-1].segment_id
            if progress is not None:
                progress(done, total)
    idx.mark_built()
    if idx.path is None:
        idx.applied.reset(covered, frontier, _now(), ordered=_ordered(conn))
    return done, covered


def segment_sources(conn: Connection, ids: list[int]) -> dict[int, tuple[SegmentText, Facets]]:
    """What the documents of `ids` are made from, as `conn` sees the database: each
    segment's text and facts, and its facets (missing segments are absent)."""
    texts = segment_texts(conn, ids)
    facets = segment_facets(conn, {i: seg.call_id for i, seg in texts.items()})
    return {i: (seg, facets.get(i, {})) for i, seg in texts.items()}


def write_segments(idx: CaseIndex, conn: Connection, ids: list[int]) -> None:
    """Rewrite the documents of `ids` from the database as `conn` sees it."""
    sources = segment_sources(conn, ids)
    with idx.writer() as writer:
        for seg_id in ids:
            writer.delete_documents_by_term("id", seg_id)
        for seg, facets in sources.values():
            writer.add_document(make_document(seg, idx.zone, facets))


def apply_outbox(engine: Engine, idx: CaseIndex, *, limit: int = 5_000) -> int:
    """Apply the committed outbox to the index; returns the segments rewritten.

    A disk index is every process's: the rows applied are deleted. An in-memory index
    is this process's alone: it takes in the rows it has not (:mod:`.applied`) and
    leaves them for the other processes' indexes."""
    if idx.path is None:
        return _take_in(engine, idx, limit)
    done = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, segment_id FROM search_outbox ORDER BY id LIMIT :n"),
                {"n": limit},
            ).all()
            if not rows:
                return done
            ids = sorted({int(r[1]) for r in rows})
            write_segments(idx, conn, ids)
            done += len(ids)
            marks = ", ".join(str(int(r[0])) for r in rows)
            if not _delete_rows(conn, f"id IN ({marks})"):
                return done
        if len(rows) < limit:
            return done


def _take_in(engine: Engine, idx: CaseIndex, limit: int) -> int:
    """Bring an in-memory index up to the committed outbox (see :mod:`.applied`): the
    rows it has not taken in are applied, and stay; when rows it needed were pruned
    (or the table was emptied) it is rebuilt from the database; the oldest rows are
    pruned when more than twice KEEP are kept."""
    applied = idx.applied
    with idx.locked(), engine.connect() as conn:
        ends = _ends(conn)
        if (
            ends is not None
            and applied.behind(*ends)
            and (ends[1] < applied.upto or _frontier(conn) >= applied.lowest_unseen())
        ):
            done = rebuild(conn, idx)[0]
            conn.rollback()
            return done
        rows = _unseen_rows(conn, idx)
        segments = sorted({s for _i, s in rows})
        for batch in batched(segments, limit):
            write_segments(idx, conn, batch)
        now = _now()
        applied.take([i for i, _s in rows], now, ordered=_ordered(conn))
        if applied.gaps and applied.needs_horizon(now):
            snapshot = "txid_current_snapshot()"
            xmin, xmax = fetch(
                conn, f"SELECT txid_snapshot_xmin({snapshot}), txid_snapshot_xmax({snapshot})"
            )[0]
            applied.settle(now, int(xmin), int(xmax))
        conn.rollback()
        if ends is not None and _prune_due(ends):
            upto = ends[1] - KEEP
            _delete_rows(conn, f"id <= {upto}", frontier=upto)
        return len(segments)


def memory_pending(engine: Engine, conn: Connection, idx: CaseIndex, own: set[int]) -> set[int]:
    """For a search on `conn` with the in-memory `idx`: take in what other processes
    committed, when there is anything (:func:`_take_in`, on a connection of its own),
    and return the segments whose rows `idx` still lacks (this transaction's own, `own`
    among them, and any committed in between). Two small statements on `conn` when
    nothing is new, which is most searches."""
    applied = idx.applied
    ends = _ends(conn)
    rows = _unseen_rows(conn, idx)
    look = (
        any(seg_id not in own for _i, seg_id in rows)
        or bool(applied.gaps and applied.needs_horizon(_now()))
        or (ends is not None and applied.behind(*ends))
        or _prune_due(ends)
    )
    if look:
        _take_in(engine, idx, _BATCH)
        rows = _unseen_rows(conn, idx)
    return {seg_id for _i, seg_id in rows}


def unapplied_segments(conn: Connection, idx: CaseIndex) -> set[int]:
    """Segments with an outbox row visible to `conn` that `idx` has not taken in: for
    a disk index every row (applied rows are deleted), for an in-memory one those it
    has not seen (:mod:`.applied`). Their documents may be stale."""
    if idx.path is not None:
        return set(pending_segments(conn))
    return {seg_id for _i, seg_id in _unseen_rows(conn, idx)}


def _unseen_rows(conn: Connection, idx: CaseIndex) -> list[tuple[int, int]]:
    """(outbox id, segment id) of the rows visible to `conn` that the in-memory `idx`
    has not taken in."""
    where, params = idx.applied.where()
    sql = f"SELECT id, segment_id FROM search_outbox WHERE {where}"
    rows = [(int(i), int(s)) for i, s in fetch(conn, sql, params)]
    return [(i, s) for i, s in rows if idx.applied.is_new(i)]


def pending_segments(conn: Connection) -> list[int]:
    """Segments with an outbox row visible to `conn` (this transaction's own changes,
    and committed ones not yet applied): the index may be stale for them."""
    return sorted({int(r[0]) for r in fetch(conn, "SELECT DISTINCT segment_id FROM search_outbox")})


def memory_index(conn: Connection, ids: list[int], zone: str) -> CaseIndex:
    """A small in-memory index of `ids` as `conn` sees them (the pending overlay), in
    the case index's time `zone`."""
    idx = CaseIndex(None, zone)
    writer = idx.index.writer(15_000_000, 1)
    for seg, facets in segment_sources(conn, ids).values():
        writer.add_document(make_document(seg, zone, facets))
    writer.commit()
    writer.wait_merging_threads()
    idx.index.reload()
    return idx
