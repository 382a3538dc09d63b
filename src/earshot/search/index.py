"""What the search index is made from, read from the database on both backends.

:func:`read_segments` is the one reader of a segment's searchable text and facts: the
rebuild and the outbox (:mod:`.indexer`), the pending overlay and ``check_index`` all use
it, so they can never disagree (the multi-valued facets beside it come from
:mod:`.facets`, read by the same callers). :func:`enqueue` writes the outbox rows that
tell the indexer which segments to rewrite, in the caller's transaction.
"""

# SQL here is assembled from constant fragments and ``?`` markers; user text only ever
# travels as bound parameters.

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text

from ..errors import SearchError
from ..store.batches import batched

__all__ = [
    "SegmentText",
    "call_start",
    "enqueue",
    "fetch",
    "has_table",
    "read_segments",
    "segment_texts",
]

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


# A translation is one row per segment (translations.segment_id is unique), so the
# join gives each segment at most one English text.
_SELECT = (
    "SELECT s.id, s.call_id, s.text, t.kind, {english}, s.party, c.started_at, s.start, "
    's."end", s.speaker_label FROM segments s '
    "JOIN transcripts t ON t.id = s.transcript_id "
    "LEFT JOIN calls c ON c.id = s.call_id{join} WHERE "
)
_WITH_ENGLISH = _SELECT.format(
    english="tr.text", join=" LEFT JOIN translations tr ON tr.segment_id = s.id"
)
_WITHOUT_ENGLISH = _SELECT.format(english="NULL", join="")


@lru_cache(maxsize=4096)
def call_start(raw: object) -> datetime | None:
    """A call start as the driver returns it (SQLite: ISO text; PostgreSQL: a naive
    datetime), as the aware UTC datetime the schema means (see UTCDateTime); cached, as
    every segment of a call has the same."""
    if raw is None:
        return None
    value = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
    if not isinstance(value, datetime):
        raise SearchError(f"unexpected call start {raw!r} in the database")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_segments(conn: Connection, where: str, params: Sequence[Any]) -> list[SegmentText]:
    """The segments matching `where` (a constant SQL condition on ``s``, the segments,
    with ``?`` markers for `params`, and any ORDER BY / LIMIT), as the index reads them.

    The one reader of a segment's searchable text and facts, for the rebuild, the
    outbox, the pending overlay and ``check_index`` alike, so that they never disagree.
    A segment of a translation transcript is English; a verbatim segment is Russian and
    takes its English from the ``translations`` table when that layer exists."""
    select = _WITH_ENGLISH if has_table(conn, "translations") else _WITHOUT_ENGLISH
    out: list[SegmentText] = []
    for seg_id, call_id, body, kind, english, party, raw, start, end, speaker in fetch(
        conn, select + where, params
    ):
        ru, en = ("", body or "") if kind == "translation" else (body or "", english or "")
        out.append(
            SegmentText(seg_id, call_id, ru, en, party, call_start(raw), start, end, speaker)
        )
    return out


def segment_texts(conn: Connection, ids: Iterable[int]) -> dict[int, SegmentText]:
    """The segments of `ids` (:func:`read_segments`), by id; missing ids are absent."""
    out: dict[int, SegmentText] = {}
    for batch in batched((int(i) for i in ids), _CHUNK):
        marks = ", ".join("?" * len(batch))
        for seg in read_segments(conn, f"s.id IN ({marks})", batch):
            out[seg.segment_id] = seg
    return out


def enqueue(conn: Connection, ids: Iterable[int]) -> int:
    """Ask the indexer to rewrite the documents of `ids` (in the current transaction)."""
    rows = [{"s": int(i)} for i in ids]
    if rows:
        conn.execute(text("INSERT INTO search_outbox (segment_id) VALUES (:s)"), rows)
    return len(rows)
