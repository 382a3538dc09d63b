"""The indexer: opening a case's index, building it from the database, applying the
outbox, and the small in-memory index of pending segments.

The database is the truth and the index is derived from it (:mod:`.tindex` says what a
document holds). Every change that affects search writes a ``search_outbox`` row in the
changing transaction (:mod:`.sync`); after the commit the same process applies the
outbox here (:func:`apply_outbox`): the named segments' documents are rewritten from the
committed database, the index is committed, then the rows are deleted. A crash between
the two leaves the rows, and the next open applies them (:func:`index_for`); applying
twice is harmless (delete, then add).
"""

# SQL here is assembled from constant fragments and integers only.
# ruff: noqa: S608

from __future__ import annotations

import threading
import tomllib
import weakref
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..errors import SearchError
from .facets import FacetReader, Facets, segment_facets
from .index import SegmentText, fetch, has_table, read_segments, segment_texts
from .tindex import INDEX_DIR, CaseIndex, _zone, make_document

__all__ = [
    "apply_outbox",
    "case_zone",
    "index_for",
    "memory_index",
    "opened",
    "outbox_chunks",
    "pending_segments",
    "rebuild",
    "segment_sources",
    "uses_memory",
    "write_segments",
]

_BUILD_HEAP = 400_000_000
_BATCH = 5000


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
            for chunk in outbox_chunks(covered):
                if not _delete_rows(conn, f"id IN ({chunk})"):
                    break
    else:
        apply_outbox(engine, idx)


def _delete_rows(conn: Connection, where: str) -> bool:
    """Delete applied outbox rows in their own transaction, best effort: when another
    transaction of this process holds SQLite's write lock they stay, to be applied again
    later (harmless: delete, then add). Returns whether they went."""
    sqlite = conn.dialect.name == "sqlite"
    try:
        if sqlite:
            conn.exec_driver_sql("PRAGMA busy_timeout=250")
        conn.execute(text(f"DELETE FROM search_outbox WHERE {where}"))
        conn.commit()
        return True
    except OperationalError:
        with suppress(Exception):
            conn.rollback()
        return False
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")


def outbox_chunks(ids: list[int], size: int = 5000) -> Iterator[str]:
    """`ids` (outbox row ids) as comma-separated integer lists for ``id IN (...)``."""
    for first in range(0, len(ids), size):
        yield ", ".join(str(int(i)) for i in ids[first : first + size])


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
    """Apply the committed outbox to the index; returns the segments rewritten."""
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
