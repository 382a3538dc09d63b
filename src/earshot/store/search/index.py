"""Writing the search index, on both backends, from one function.

Every index row is made by :func:`index_segments` from :func:`segment_texts`, so the
ORM events (edits in a transaction), ``reindex`` and the benchmark's bulk build all
store exactly the same tokens. SQLite keeps them in an FTS5 table inside the
companion file ``earshot-search.db`` (attached as schema ``search`` on every
connection), PostgreSQL in ``segment_search`` as tsvectors built without a text
parser (the lemma tokens are cast verbatim), with GIN indexes.
"""

# SQL here is assembled from constant fragments and bind markers (:p0, ...); user text
# only ever travels as bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect, text

from .text import Column, index_string, index_text, text_keys

__all__ = [
    "FTS_TABLE",
    "SEARCH_DB_NAME",
    "SegmentText",
    "has_table",
    "index_segments",
    "reindex_all",
    "segment_texts",
    "tsvector_literal",
]

SEARCH_DB_NAME = "earshot-search.db"
FTS_TABLE = "search.segment_fts"
_CHUNK = 500
_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search.segment_fts USING fts5("
    "ru, en, tokenize = \"unicode61 remove_diacritics 0 tokenchars '-'\")"
)
_STATE_DDL = "CREATE TABLE IF NOT EXISTS search.search_state (key TEXT PRIMARY KEY, value TEXT)"


def _attach_search_db(dbapi_connection: Any, _record: Any) -> None:
    """Attach the FTS5 companion file to every connection of a case's SQLite database."""
    if type(dbapi_connection).__module__.split(".")[0] not in ("sqlite3", "pysqlite2"):
        return
    cursor = dbapi_connection.cursor()
    try:
        main = next(
            (row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"), ""
        )
        if not main or Path(main).name != "earshot.db":
            return
        if any(row[1] == "search" for row in cursor.execute("PRAGMA database_list")):
            return
        cursor.execute("ATTACH DATABASE ? AS search", (str(Path(main).with_name(SEARCH_DB_NAME)),))
        cursor.execute("PRAGMA search.journal_mode=WAL")
        cursor.execute("PRAGMA search.synchronous=FULL")
        fresh = not cursor.execute(
            "SELECT 1 FROM search.sqlite_master WHERE name = 'segment_fts'"
        ).fetchone()
        cursor.execute(_FTS_DDL)
        cursor.execute(_STATE_DDL)
        if fresh:
            has_segments = (
                cursor.execute(
                    "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = 'segments'"
                ).fetchone()
                and cursor.execute("SELECT 1 FROM main.segments LIMIT 1").fetchone()
            )
            if has_segments:
                cursor.execute(
                    "INSERT OR REPLACE INTO search.search_state "
                    "VALUES ('stale', 'index file was missing')"
                )
        dbapi_connection.commit()
    finally:
        cursor.close()


event.listen(Engine, "connect", _attach_search_db)

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


@dataclass(frozen=True)
class SegmentText:
    """What one segment contributes to the index: its Russian and English text."""

    segment_id: int
    call_id: int
    ru: str
    en: str


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    batch: list[int] = []
    for seg_id in ids:
        batch.append(seg_id)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _in(ids: list[int]) -> tuple[str, dict[str, int]]:
    names = [f"i{n}" for n in range(len(ids))]
    return ", ".join(f":{n}" for n in names), dict(zip(names, ids, strict=True))


def segment_texts(conn: Connection, ids: Iterable[int]) -> dict[int, SegmentText]:
    """The Russian and English text of each segment in `ids` (missing ids are absent).

    A segment of a translation transcript is English; a verbatim segment is Russian
    and takes its English from the ``translations`` table when that layer exists.
    """
    out: dict[int, SegmentText] = {}
    translations = has_table(conn, "translations")
    for batch in _chunks(ids):
        marks, params = _in(batch)
        rows = conn.execute(
            text(
                "SELECT s.id, s.call_id, s.text, t.kind FROM segments s "
                f"JOIN transcripts t ON t.id = s.transcript_id WHERE s.id IN ({marks})"
            ),
            params,
        ).all()
        english: dict[int, list[str]] = {}
        if translations:
            for seg_id, body in conn.execute(
                text(f"SELECT segment_id, text FROM translations WHERE segment_id IN ({marks})"),
                params,
            ):
                if body:
                    english.setdefault(int(seg_id), []).append(str(body))
        for seg_id, call_id, body, kind in rows:
            if kind == "translation":
                out[int(seg_id)] = SegmentText(int(seg_id), int(call_id), "", body or "")
            else:
                extra = "\n".join(english.get(int(seg_id), []))
                out[int(seg_id)] = SegmentText(int(seg_id), int(call_id), body or "", extra)
    return out


def tsvector_literal(body: str, column: Column) -> str:
    """A tsvector literal of `body`'s keys; every key of one word shares its position."""
    parts: list[str] = []
    for position, token in enumerate(text_keys(body, column), start=1):
        pos = min(position, 16383)
        for key in token.keys:
            quoted = key.replace("\\", "\\\\").replace("'", "''")
            parts.append(f"'{quoted}':{pos}")
    return " ".join(parts)


def index_segments(conn: Connection, ids: Iterable[int]) -> int:
    """(Re)write the index rows of `ids` in the current transaction; returns rows written.

    Ids whose segment no longer exists lose their row.
    """
    written = 0
    postgres = conn.dialect.name == "postgresql"
    for batch in _chunks(ids):
        texts = segment_texts(conn, batch)
        marks, params = _in(batch)
        if postgres:
            conn.execute(text(f"DELETE FROM segment_search WHERE segment_id IN ({marks})"), params)
        else:
            conn.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})"), params)
        written += _insert(conn, list(texts.values()))
    return written


def _insert(conn: Connection, rows: list[SegmentText]) -> int:
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        payload = []
        for row in rows:
            _ru, ru_len = index_string(row.ru, "ru")
            _en, en_len = index_string(row.en, "en")
            payload.append(
                {
                    "id": row.segment_id,
                    "call": row.call_id,
                    "ru": tsvector_literal(row.ru, "ru"),
                    "en": tsvector_literal(row.en, "en"),
                    "ru_len": ru_len,
                    "en_len": en_len,
                }
            )
        conn.execute(
            text(
                "INSERT INTO segment_search (segment_id, call_id, ru, en, ru_len, en_len) VALUES "
                "(:id, :call, CAST(:ru AS tsvector), CAST(:en AS tsvector), :ru_len, :en_len)"
            ),
            payload,
        )
    else:
        conn.exec_driver_sql(
            f"INSERT INTO {FTS_TABLE} (rowid, ru, en) VALUES (?, ?, ?)",
            [(row.segment_id, index_text(row.ru, "ru"), index_text(row.en, "en")) for row in rows],
        )
    return len(rows)


def reindex_all(conn: Connection, *, batch: int = 5000, progress: Any = None) -> int:
    """Rebuild the whole index in the current transaction; `progress(done, total)` if given."""
    postgres = conn.dialect.name == "postgresql"
    conn.execute(text("DELETE FROM segment_search" if postgres else f"DELETE FROM {FTS_TABLE}"))
    total = int(conn.execute(text("SELECT count(*) FROM segments")).scalar_one())
    translated = has_table(conn, "translations")
    english = (
        ", (SELECT string_agg(tr.text, :nl) FROM translations tr WHERE tr.segment_id = s.id)"
        if postgres and translated
        else ", (SELECT group_concat(tr.text, :nl) FROM translations tr WHERE tr.segment_id = s.id)"
        if translated
        else ", ''"
    )
    done, last = 0, 0
    while True:
        rows = conn.execute(
            text(
                f"SELECT s.id, s.call_id, s.text, t.kind{english} FROM segments s "
                "JOIN transcripts t ON t.id = s.transcript_id "
                "WHERE s.id > :last ORDER BY s.id LIMIT :n"
            ),
            {"last": last, "n": batch, "nl": "\n"},
        ).all()
        if not rows:
            break
        done += _insert(
            conn,
            [
                SegmentText(int(i), int(c), "", body or "")
                if kind == "translation"
                else SegmentText(int(i), int(c), body or "", extra or "")
                for i, c, body, kind, extra in rows
            ],
        )
        last = int(rows[-1][0])
        if progress is not None:
            progress(done, total)
    if not postgres:
        conn.execute(text("DELETE FROM search.search_state WHERE key = 'stale'"))
        conn.execute(
            text(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE.split('.')[1]}) VALUES ('optimize')")
        )
    return done
