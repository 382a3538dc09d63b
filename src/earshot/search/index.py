"""What the search index is made from, read from the database on both backends.

:func:`segment_texts` is the one reader of a segment's searchable text and facts: the
indexer (:mod:`.indexer`), the pending overlay, ``check_index`` and the snippets all use
it, so they can never disagree (the multi-valued facets beside it come from
:mod:`.facets`, read by the same callers). :func:`enqueue` writes the outbox rows that
tell the indexer which segments to rewrite, in the caller's transaction.
"""

# SQL here is assembled from constant fragments and bind markers (:i0, ...); user text
# only ever travels as bound parameters.

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, inspect, text

from ..store.models import UTCDateTime

__all__ = ["SegmentText", "enqueue", "fetch", "has_table", "segment_texts"]

_CHUNK = 500

_TABLES: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()


def has_table(conn: Connection, name: str) -> bool:
    """Whether the case has table `name` (positive answers are cached per engine)."""
    known = _TABLES.setdefault(conn.engine, set())
    if name in known:
        return True
    if inspect(conn).has_table(name):
        known.add(name)
        return True
    return False


def fetch(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of `sql` (``?`` placeholders, no ``%``), run on the database connection
    under `conn`, inside its transaction.

    Why not SQLAlchemy: a search runs a few tiny statements per query, and compiling
    an expanding ``IN`` list and processing the result rows cost ten times the statement
    itself (about 350 µs against 30 µs for a page of hits on SQLite); at a few
    milliseconds a query that is most of the time.
    """
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


@dataclass(frozen=True)
class SegmentText:
    """What one segment contributes to the index: its Russian and English text, the
    facts its facet tokens come from (its party, its call's start), and what a hit
    shows (its times and speaker), stored in the document so that a page of hits needs
    no database round trip."""

    segment_id: int
    call_id: int
    ru: str
    en: str
    party: str | None = None
    started_at: datetime | None = None
    start: float | None = None
    end: float | None = None
    speaker: str | None = None


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    batch: list[int] = []
    for seg_id in ids:
        batch.append(seg_id)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


_SEGMENTS = (
    text(
        'SELECT s.id, s.call_id, s.text, t.kind, s.party, c.started_at, s.start, s."end", '
        "s.speaker_label FROM segments s "
        "JOIN transcripts t ON t.id = s.transcript_id "
        "LEFT JOIN calls c ON c.id = s.call_id WHERE s.id IN :ids"
    )
    .bindparams(bindparam("ids", expanding=True))
    .columns(started_at=UTCDateTime())
)
_TRANSLATIONS = text(
    "SELECT segment_id, text FROM translations WHERE segment_id IN :ids"
).bindparams(bindparam("ids", expanding=True))


def segment_texts(conn: Connection, ids: Iterable[int]) -> dict[int, SegmentText]:
    """The Russian and English text of each segment in `ids` (missing ids are absent).

    A segment of a translation transcript is English; a verbatim segment is Russian
    and takes its English from the ``translations`` table when that layer exists.
    (The statements are built once: this runs for every outbox apply and overlay.)
    """
    out: dict[int, SegmentText] = {}
    translations = has_table(conn, "translations")
    for batch in _chunks(ids):
        rows = conn.execute(_SEGMENTS, {"ids": batch}).all()
        english: dict[int, list[str]] = {}
        if translations:
            for seg_id, body in conn.execute(_TRANSLATIONS, {"ids": batch}):
                if body:
                    english.setdefault(int(seg_id), []).append(str(body))
        for seg_id, call_id, body, kind, party, started, start, end, speaker in rows:
            if kind == "translation":
                ru, en = "", body or ""
            else:
                ru, en = body or "", "\n".join(english.get(int(seg_id), []))
            out[int(seg_id)] = SegmentText(
                int(seg_id), int(call_id), ru, en, party, started, start, end, speaker
            )
    return out


def enqueue(conn: Connection, ids: Iterable[int]) -> int:
    """Ask the indexer to rewrite the documents of `ids` (in the current transaction)."""
    rows = [{"s": int(i)} for i in ids]
    if rows:
        conn.execute(text("INSERT INTO search_outbox (segment_id) VALUES (:s)"), rows)
    return len(rows)
