"""Writing the search index, on both backends, from one function.

Every index row is made by :func:`index_segments` from :func:`segment_texts`, so the
ORM events (edits in a transaction), ``reindex`` and the benchmark's bulk build all
store exactly the same tokens.

SQLite keeps them in the FTS5 table ``segment_fts`` of the case database itself, so an
index change commits or rolls back with the edit that caused it (one WAL, one
transaction). Its columns: ``ru`` / ``en`` hold every lemma of every word (what words
match and BM25 scores); ``ru_seq`` / ``en_seq`` hold one *signature* per word (its
sorted lemmas joined by ``_``), so that FTS5's own phrase queries run over word
positions. ``search_signatures`` lists, for each lemma, the signatures of ambiguous
words holding it. ``meta`` holds three *facet tokens* per row (see :func:`meta_tokens`:
the segment's party, its call's UTC day and month), so that a word plus a date range or
a party is one doclist intersection inside FTS5 rather than a row-by-row join. BM25
weighs the signature and facet columns 0 (the ``rank`` configuration); the facet tokens
still count in FTS5's document length, which PostgreSQL adds as :data:`META_TOKENS`.

PostgreSQL keeps ``segment_search`` rows as tsvectors built without a text parser
(the lemma tokens are cast verbatim, every lemma of a word at that word's position, so
``<->`` is an exact phrase operator), with GIN indexes, and ``search_stats`` totals.
Since migration 0403 each row also holds ``ru_rep`` / ``en_rep``, the counts of its keys
that occur more than once (jsonb, NULL when none do), written here from the same
positions as the tsvector; and triggers on ``segment_search`` keep ``search_keys`` (each
key's document frequency per column) in step with every write, so BM25 needs neither a
count over the GIN index nor an unnest of each row. The triggers keep the
``search_stats`` totals too, so that index rows going by the foreign key's cascade when
a segment is deleted are counted out as well. Since migration 0404 each row also holds
the facts SQLite's facet tokens are made from, the segment's ``party`` and its call's
``started_at`` (naive UTC, exact), so that ``party:``/``from:``/``to:`` next to a word are
decided on ``segment_search`` alone (see :mod:`.plan`); like the tokens they are written
only here, so every writer (the ORM events, ``reindex``, the bulk build) keeps them.
"""

# SQL here is assembled from constant fragments and bind markers (:p0, ...); user text
# only ever travels as bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text

from ..store.models import UTCDateTime
from .text import Column, index_parts, text_keys

__all__ = [
    "FTS_TABLE",
    "META_TOKENS",
    "OLD_SEARCH_DB_NAME",
    "SegmentText",
    "create_fts",
    "facet_token",
    "has_table",
    "index_segments",
    "meta_tokens",
    "party_code",
    "reindex_all",
    "remove_old_index_file",
    "segment_texts",
    "tsvector_literal",
]

OLD_SEARCH_DB_NAME = "earshot-search.db"  # the companion file of schema 0400, now unused
FTS_TABLE = "segment_fts"
_CHUNK = 500
FTS_DDL = (
    "CREATE VIRTUAL TABLE segment_fts USING fts5(ru, en, ru_seq, en_seq, meta, "
    "tokenize = \"unicode61 remove_diacritics 0 tokenchars '-_'\")"
)
FTS_RANK = (
    "INSERT INTO segment_fts (segment_fts, rank) VALUES ('rank', 'bm25(1.0, 1.0, 0.0, 0.0, 0.0)')"
)
_FTS_INSERT = (
    "INSERT INTO segment_fts (rowid, ru, en, ru_seq, en_seq, meta) VALUES (?, ?, ?, ?, ?, ?)"
)
META_TOKENS = 3  # facet tokens per row: party, UTC day, UTC month
_COPY = "COPY segment_search (segment_id, call_id, ru, en, ru_len, en_len{extra}) FROM STDIN"
_MAX_POS = 16383  # a tsvector position's ceiling (greater ones are stored as it)
_MAX_POSITIONS = 256  # positions a tsvector keeps per lexeme
_GIN = ("ru", "en")
_REINDEX_CACHE_KIB = -262144  # 256 MiB while rebuilding
_SIGNATURE_INSERT = "INSERT OR IGNORE INTO search_signatures (key, signature) VALUES (?, ?)"

_TABLES: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
_COLUMNS: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()


def has_table(conn: Connection, name: str) -> bool:
    """Whether the case has table `name` (positive answers are cached per engine)."""
    known = _TABLES.setdefault(conn.engine, set())
    if name in known:
        return True
    if inspect(conn).has_table(name):
        known.add(name)
        return True
    return False


def _has_repeats(conn: Connection) -> bool:
    """Whether ``segment_search`` has the repeated-key columns and the triggers of
    migration 0403 (an older migration may rebuild the index before they exist; positive
    answers are cached). With them the triggers keep ``search_stats``; without, this
    module does."""
    known = _COLUMNS.setdefault(conn.engine, set())
    if "segment_search.ru_rep" in known:
        return True
    names = {c["name"] for c in inspect(conn).get_columns("segment_search")}
    if "ru_rep" in names:
        known.add("segment_search.ru_rep")
        return True
    return False


def _has_facets(conn: Connection) -> bool:
    """Whether ``segment_search`` has migration 0404's facet columns (cached when so)."""
    known = _COLUMNS.setdefault(conn.engine, set())
    if "segment_search.started_at" in known:
        return True
    names = {c["name"] for c in inspect(conn).get_columns("segment_search")}
    if "started_at" in names:
        known.add("segment_search.started_at")
        return True
    return False


def _naive_utc(moment: datetime | None) -> datetime | None:
    """`moment` as the schema stores timestamps (naive UTC, see models.UTCDateTime)."""
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def create_fts(conn: Connection) -> None:
    """(Re)create the empty FTS5 table with its BM25 weights (SQLite; in the transaction)."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS segment_fts")
    conn.exec_driver_sql(FTS_DDL)
    conn.exec_driver_sql(FTS_RANK)


def remove_old_index_file(database: str | None) -> list[Path]:
    """Delete schema 0400's companion index file beside the SQLite case database `database`."""
    if not database:
        return []
    removed = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        old = Path(database).with_name(OLD_SEARCH_DB_NAME + suffix)
        if old.exists():
            old.unlink()
            removed.append(old)
    return removed


@dataclass(frozen=True)
class SegmentText:
    """What one segment contributes to the index: its Russian and English text, and
    the facts its facet tokens come from (its party, its call's start)."""

    segment_id: int
    call_id: int
    ru: str
    en: str
    party: str | None = None
    started_at: datetime | None = None


PARTY_CODES = ("a", "b", "x")  # caller, callee, anything else (no party included)


def party_code(party: str | None) -> str:
    """One letter for a segment's party in facet tokens: ``a``, ``b``, or ``x`` for
    anything else, so that "any party" is a short, complete list."""
    return {"A": "a", "B": "b"}.get(party or "", "x")


def facet_token(kind: str, party: str, stamp: str = "") -> str:
    """``xp`` + party, ``xd`` + party + UTC day (YYYYMMDD), ``xm`` + party + UTC month."""
    return f"x{kind}{party}{stamp}"


def meta_tokens(party: str | None, started_at: datetime | None) -> str:
    """Exactly :data:`META_TOKENS` facet tokens (a constant, so that PostgreSQL can add
    it to its document lengths). The dates carry the party, so that a date + party
    filter names one short posting list: bm25() walks the whole posting list of every
    phrase in the MATCH once to count its documents, and a bare party or month token
    holds half or a sixth of the index."""
    code = party_code(party)
    if started_at is None:
        return f"{facet_token('p', code)} {facet_token('d', code, 'none')} " + facet_token(
            "m", code, "none"
        )
    utc = started_at.astimezone(UTC)
    return f"{facet_token('p', code)} {facet_token('d', code, f'{utc:%Y%m%d}')} " + facet_token(
        "m", code, f"{utc:%Y%m}"
    )


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
                "SELECT s.id, s.call_id, s.text, t.kind, s.party, c.started_at FROM segments s "
                "JOIN transcripts t ON t.id = s.transcript_id "
                f"LEFT JOIN calls c ON c.id = s.call_id WHERE s.id IN ({marks})"
            ).columns(started_at=UTCDateTime()),
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
        for seg_id, call_id, body, kind, party, started in rows:
            if kind == "translation":
                ru, en = "", body or ""
            else:
                ru, en = body or "", "\n".join(english.get(int(seg_id), []))
            out[int(seg_id)] = SegmentText(int(seg_id), int(call_id), ru, en, party, started)
    return out


def tsvector_literal(body: str, column: Column) -> str:
    """A tsvector literal of `body`'s keys; every key of one word shares its position."""
    return tsvector_parts(body, column)[0]


def tsvector_parts(body: str, column: Column) -> tuple[str, str | None]:
    """The tsvector literal of `body`'s keys and, as a JSON object, the number of
    positions the tsvector will hold for each key that has more than one (None when no
    key repeats): what ``cardinality(positions)`` of its lexeme gives, so that BM25 term
    frequencies can be read without unnesting the tsvector."""
    parts: list[str] = []
    positions: dict[str, set[int]] = {}
    for position, token in enumerate(text_keys(body, column), start=1):
        pos = min(position, _MAX_POS)
        for key in token.keys:
            quoted = key.replace("\\", "\\\\").replace("'", "''")
            parts.append(f"'{quoted}':{pos}")
            positions.setdefault(key, set()).add(pos)
    repeats = {k: min(len(p), _MAX_POSITIONS) for k, p in positions.items() if len(p) > 1}
    return " ".join(parts), json.dumps(repeats, ensure_ascii=False) if repeats else None


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
            gone = conn.execute(
                text(
                    f"DELETE FROM segment_search WHERE segment_id IN ({marks}) "
                    "RETURNING ru_len + en_len"
                ),
                params,
            ).all()
            if not _has_repeats(conn):
                _add_stats(conn, -len(gone), -sum(int(g[0]) for g in gone))
        else:
            conn.execute(text(f"DELETE FROM segment_fts WHERE rowid IN ({marks})"), params)
        written += _insert(conn, list(texts.values()), set())
    return written


def _add_stats(conn: Connection, rows: int, tokens: int) -> None:
    if rows or tokens:
        conn.execute(
            text("UPDATE search_stats SET rows = rows + :r, tokens = tokens + :t WHERE id = 1"),
            {"r": rows, "t": tokens},
        )


def _insert(conn: Connection, rows: list[SegmentText], known: set[str]) -> int:
    """Write index rows; `known` holds signatures already listed in this transaction."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        repeats = _has_repeats(conn)
        facets = repeats and _has_facets(conn)
        payload: list[tuple[Any, ...]] = []
        tokens = 0
        for row in rows:
            ru, ru_rep = tsvector_parts(row.ru, "ru")
            en, en_rep = tsvector_parts(row.en, "en")
            ru_len, en_len = index_parts(row.ru, "ru")[2], index_parts(row.en, "en")[2]
            tokens += ru_len + en_len
            fields: tuple[Any, ...] = (row.segment_id, row.call_id, ru, en, ru_len, en_len)
            if repeats:
                fields = (*fields, ru_rep, en_rep)
            if facets:
                fields = (*fields, row.party, _naive_utc(row.started_at))
            payload.append(fields)
        # COPY: the server parses the tsvector literals; many times faster than INSERTs.
        raw = conn.connection.driver_connection
        assert raw is not None
        extra = (", ru_rep, en_rep" if repeats else "") + (", party, started_at" if facets else "")
        sql = _COPY.format(extra=extra)
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for fields in payload:
                copy.write_row(fields)
        if not repeats:
            _add_stats(conn, len(payload), tokens)
        return len(rows)
    values = []
    fresh: set[str] = set()
    for row in rows:
        ru, ru_seq, _n, ru_amb = index_parts(row.ru, "ru")
        en, en_seq, _m, en_amb = index_parts(row.en, "en")
        values.append(
            (row.segment_id, ru, en, ru_seq, en_seq, meta_tokens(row.party, row.started_at))
        )
        if ru_amb or en_amb:
            fresh.update(ru_amb)
            fresh.update(en_amb)
    conn.exec_driver_sql(_FTS_INSERT, values)
    fresh -= known
    if fresh:
        conn.exec_driver_sql(
            _SIGNATURE_INSERT, [(key, sig) for sig in fresh for key in sig.split("_")]
        )
        known |= fresh
    return len(rows)


def reindex_all(conn: Connection, *, batch: int = 5000, progress: Any = None) -> int:
    """Rebuild the whole index in the current transaction; `progress(done, total)` if given."""
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # Filling GIN indexes row by row is slow: drop them and build them at the end.
        for column in _GIN:
            conn.execute(text(f"DROP INDEX IF EXISTS ix_segment_search_{column}"))
        # TRUNCATE, not DELETE: the triggers would count every row out of search_keys.
        keys = ", search_keys" if has_table(conn, "search_keys") else ""
        conn.execute(text(f"TRUNCATE segment_search{keys}"))
        conn.execute(text("DELETE FROM search_stats"))
        conn.execute(text("INSERT INTO search_stats (id, rows, tokens) VALUES (1, 0, 0)"))
    else:
        create_fts(conn)
        conn.execute(text("DELETE FROM search_signatures"))
        # FTS5 merges its segments as it grows; a big page cache keeps them in memory.
        cache = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
        conn.exec_driver_sql(f"PRAGMA cache_size = {_REINDEX_CACHE_KIB}")
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
    known: set[str] = set()
    while True:
        rows = conn.execute(
            text(
                f"SELECT s.id, s.call_id, s.text, t.kind{english}, s.party, c.started_at "
                "FROM segments s JOIN transcripts t ON t.id = s.transcript_id "
                "LEFT JOIN calls c ON c.id = s.call_id "
                "WHERE s.id > :last ORDER BY s.id LIMIT :n"
            ).columns(started_at=UTCDateTime()),
            {"last": last, "n": batch, "nl": "\n"},
        ).all()
        if not rows:
            break
        done += _insert(
            conn,
            [
                SegmentText(int(i), int(c), "", body or "", party, started)
                if kind == "translation"
                else SegmentText(int(i), int(c), body or "", extra or "", party, started)
                for i, c, body, kind, extra, party, started in rows
            ],
            known,
        )
        last = int(rows[-1][0])
        if progress is not None:
            progress(done, total)
    if postgres:
        for column in _GIN:
            conn.execute(
                text(
                    f"CREATE INDEX ix_segment_search_{column} ON segment_search "
                    f"USING gin ({column})"
                )
            )
    else:
        conn.exec_driver_sql("INSERT INTO segment_fts (segment_fts) VALUES ('optimize')")
        conn.exec_driver_sql(f"PRAGMA cache_size = {cache}")
    return done
