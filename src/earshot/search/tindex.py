"""The case's search index: one embedded tantivy index, the same on every backend.

The database is the truth and the index is derived from it. Every change that affects
search writes a ``search_outbox`` row in the changing transaction (:mod:`.sync`); after
the commit the same process applies the outbox here (:func:`apply_outbox`): the named
segments' documents are rewritten from the committed database, the index is committed,
then the rows are deleted. A crash between the two leaves the rows, and the next open
applies them (:func:`index_for`); applying twice is harmless (delete, then add).

Where the index lives:

* ``<case>/search-index/`` for a plain case, SQLite or PostgreSQL alike. Readers in
  every process reload when tantivy's ``meta.json`` changes (checked before each search),
  so several web servers see each commit; one writer at a time holds
  ``<case>/search-index.lock`` (``fcntl.flock``) while it writes, on top of tantivy's own
  writer lock.
* In memory for an encrypted case (``[encryption]`` in ``earshot.toml``): built from the
  decrypted database when the case is first searched in a process, so that no plaintext
  lemma ever reaches the disk (docs/security.md).

The document of a segment (:func:`make_document`): ``ru`` / ``en`` hold every lemma key
of every word (whitespace-separated, so the keys *are* the terms; term frequencies for
BM25), ``ru_seq`` / ``en_seq`` one *signature* per word (its sorted keys joined by ``_``)
with positions for exact phrases, ``ru_sig`` / ``en_sig`` a ``key>signature`` term for
each key of an ambiguous word (how a phrase word finds every signature holding one of its
keys, through the term dictionary). Facets are fast fields: ``id``, ``call``,
``started`` (microseconds since the epoch, UTC, with its UTC ``hour``, ``day`` and
``month`` as terms for date ranges), ``party``, ``order`` (call and segment
for unranked listings); the multi-valued facets ``phone``, ``person``, ``theme``,
``term`` and ``place`` (:mod:`.facets`) are raw terms (``person`` integers);
``digest`` lets :func:`earshot.search.check_index` compare a document with the rows it
came from.
"""

# SQL here is assembled from constant fragments and integers only.
# ruff: noqa: S608

from __future__ import annotations

import fcntl
import shutil
import threading
import time
import tomllib
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tantivy
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..errors import SearchError
from .facets import FACET_FIELDS, FacetReader, Facets, segment_facets
from .index import SegmentText, fetch, has_table, segment_texts
from .text import COLUMNS, doc_parts

__all__ = [
    "INDEX_DIR",
    "SCHEMA",
    "CaseIndex",
    "apply_outbox",
    "case_zone",
    "document_digest",
    "index_for",
    "make_document",
    "micros",
    "opened",
    "rebuild",
    "uses_memory",
]

INDEX_DIR = "search-index"
LOCK_NAME = "search-index.lock"
BUILT_MARK = "earshot-index-built"
INDEX_VERSION = "6"  # bump when the documents change: the next open rebuilds
_HEAP = 64_000_000
_BUILD_HEAP = 400_000_000
_BATCH = 5000
_LOCK_WAIT_S = 120.0
_EPOCH = datetime(1970, 1, 1)


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", indexed=True, fast=True)
    sb.add_integer_field("call", indexed=True, fast=True)
    sb.add_integer_field("started", indexed=True, fast=True)
    sb.add_integer_field("order", fast=True)
    sb.add_integer_field("digest", fast=True)
    sb.add_text_field("party", stored=True, tokenizer_name="raw", index_option="basic")
    # What a hit shows, stored (not indexed): a page of hits is read from the index.
    sb.add_bytes_field("ru_text", stored=True)
    sb.add_bytes_field("en_text", stored=True)
    sb.add_bytes_field("speaker", stored=True)
    sb.add_float_field("start", stored=True)
    sb.add_float_field("end", stored=True)
    sb.add_text_field("day", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("month", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("hour", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("lday", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("lmonth", tokenizer_name="raw", index_option="basic")
    # Multi-valued facets (:mod:`.facets`): what phone:, person:, theme:, term:, place: ask.
    for name in ("phone", "theme", "term", "place"):
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("person", indexed=True)
    for column in COLUMNS:
        sb.add_text_field(column, tokenizer_name="whitespace", index_option="freq")
        sb.add_text_field(f"{column}_seq", tokenizer_name="whitespace", index_option="position")
        sb.add_text_field(f"{column}_sig", tokenizer_name="whitespace", index_option="basic")
    return sb.build()


SCHEMA = _schema()


@lru_cache(maxsize=65536)
def micros(moment: datetime) -> int:
    """`moment` (aware, or naive UTC as the schema stores it) in µs since the epoch."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _fields(seg: SegmentText, zone: str = "UTC", facets: Facets | None = None) -> dict[str, object]:
    ru, ru_seq, ru_sig = doc_parts(seg.ru, "ru")
    en, en_seq, en_sig = doc_parts(seg.en, "en")
    out: dict[str, object] = {
        "id": seg.segment_id,
        "call": seg.call_id,
        "order": (seg.call_id << 32) | seg.segment_id,
        "party": seg.party or "",
        "ru": ru,
        "ru_seq": ru_seq,
        "ru_sig": ru_sig,
        "en": en,
        "en_seq": en_seq,
        "en_sig": en_sig,
        "ru_text": seg.ru.encode(),
        "en_text": seg.en.encode(),
    }
    if seg.start is not None:
        out["start"] = float(seg.start)
    if seg.end is not None:
        out["end"] = float(seg.end)
    if seg.speaker:
        out["speaker"] = seg.speaker.encode()
    if seg.started_at is not None:
        out.update(_call_facts(seg.started_at, zone))
    if facets:
        out.update(facets)
    return out


@lru_cache(maxsize=65536)
def _call_facts(moment: datetime, zone: str) -> dict[str, object]:
    """The facets that come from the call's start (the same for all its segments, so
    computed once per call): µs since the epoch, its UTC hour, day and month, and its
    day and month in the index's time zone (the case's), as terms: a ``from:``/``to:``
    filter in that zone is then a few whole months and days. (Read-only: shared.)"""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    local = utc.astimezone(_zone(zone))
    return {
        "started": micros(moment),
        "hour": f"{utc:%Y%m%d%H}",
        "day": f"{utc:%Y%m%d}",
        "month": f"{utc:%Y%m}",
        "lday": f"{local:%Y%m%d}",
        "lmonth": f"{local:%Y%m}",
    }


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def document_digest(fields: dict[str, object]) -> int:
    """A 32-bit digest (CRC-32) of everything a document says about its segment (the
    ``*_sig`` terms follow from the keys and signatures)."""
    body = "\x1f".join(
        [
            str(fields[k]) if k in fields else ""
            for k in (
                *("id", "call", "party", "started", "ru", "ru_seq", "en", "en_seq"),
                *("start", "end", "speaker"),
                *FACET_FIELDS,
            )
        ]
    )
    return zlib.crc32(body.encode())


def make_document(
    seg: SegmentText, zone: str = "UTC", facets: Facets | None = None
) -> tantivy.Document:
    """The index document of one segment (see the module docstring); `zone` is the
    index's time zone (:attr:`CaseIndex.zone`), `facets` from :mod:`.facets`."""
    fields = _fields(seg, zone, facets)
    fields["digest"] = document_digest(fields)
    # Empty texts are left out (the English of an untranslated segment): the same
    # document, less to hand over.
    return tantivy.Document(**{k: v for k, v in fields.items() if v != "" and v != b""})


class CaseIndex:
    """One case's index in this process: on disk (`path`) or in memory (None)."""

    def __init__(self, path: Path | None, zone: str = "UTC") -> None:
        self.path = path
        #: the time zone of the ``lday``/``lmonth`` terms: the case's when the index was
        #: built (kept in the built mark; `--reindex` adopts a changed case zone)
        self.zone = zone
        self._local = threading.RLock()
        self._stamp: tuple[int, int] | None = None
        self._built = False
        if path is None:
            self.index = tantivy.Index(SCHEMA)
            return
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mark = path / BUILT_MARK
        if mark.exists():
            version, _, built_zone = mark.read_text("utf-8").strip().partition("\n")
            if version != INDEX_VERSION:
                with self.locked():
                    shutil.rmtree(path)
                    path.mkdir(mode=0o700)
            elif built_zone:
                self.zone = built_zone
        self.index = tantivy.Index(SCHEMA, path=str(path), reuse=True)

    @property
    def built(self) -> bool:
        if not self._built:  # once built, an index stays built (a rebuild marks it again)
            self._built = self.path is None or (self.path / BUILT_MARK).exists()
        return self._built

    def mark_built(self) -> None:
        if self.path is not None:
            (self.path / BUILT_MARK).write_text(f"{INDEX_VERSION}\n{self.zone}", "utf-8")

    def searcher(self) -> tantivy.Searcher:
        """A searcher over the last commit (of any process: reloaded when it changed)."""
        if self.path is not None:
            try:
                st = (self.path / "meta.json").stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp != self._stamp:
                self.index.reload()
                self._stamp = stamp
        return self.index.searcher()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The case's one-writer lock (a no-op across processes for an in-memory index)."""
        with self._local:
            if self.path is None:
                yield
                return
            with (self.path.parent / LOCK_NAME).open("a+") as fh:
                deadline = time.monotonic() + _LOCK_WAIT_S
                while True:
                    try:
                        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise SearchError(
                                f"{self.path.parent / LOCK_NAME}: another process has been "
                                f"writing the search index for {_LOCK_WAIT_S:.0f} s; wait for "
                                "it to finish, or stop it and run `earshot search CASE --reindex`"
                            ) from None
                        time.sleep(0.05)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    @contextmanager
    def writer(self, heap: int = _HEAP, threads: int = 1) -> Iterator[tantivy.IndexWriter]:
        """A writer under the lock; committed (and merges finished) when the block ends."""
        with self.locked():
            writer = self.index.writer(heap, threads)
            try:
                yield writer
            except BaseException:
                writer.rollback()
                raise
            writer.commit()
            writer.wait_merging_threads()
            self.index.reload()
            self._stamp = None


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
    translated = has_table(conn, "translations")
    agg = "string_agg" if conn.dialect.name == "postgresql" else "group_concat"
    english = (
        f", (SELECT {agg}(tr.text, ?) FROM translations tr WHERE tr.segment_id = s.id)"
        if translated
        else ", ''"
    )
    sql = (
        f"SELECT s.id, s.call_id, s.text, t.kind{english}, s.party, c.started_at, "
        's.start, s."end", s.speaker_label '
        "FROM segments s JOIN transcripts t ON t.id = s.transcript_id "
        "LEFT JOIN calls c ON c.id = s.call_id WHERE s.id > ? ORDER BY s.id LIMIT ?"
    )
    # The bulk path reads with the driver's own cursor (see .index.fetch) and turns
    # each call's start into a datetime once, not once per segment.
    starts: dict[object, datetime | None] = {None: None}
    done, last = 0, 0
    reader = FacetReader(conn)
    # One indexing thread: as fast here as two (the Python side is the bound), and the
    # documents land in one segment in segment id order, so ties in score come in the
    # same order after every rebuild (two threads split them between segments by chance).
    with idx.writer(_BUILD_HEAP, 1) as writer:
        writer.delete_all_documents()
        while True:
            rows = fetch(conn, sql, (["\n"] if translated else []) + [last, _BATCH])
            if not rows:
                break
            facets = reader.batch({r[0]: r[1] for r in rows})
            for i, c, body, kind, extra, party, raw_start, start, end, speaker in rows:
                started = starts.get(raw_start)
                if started is None and raw_start is not None:
                    started = starts[raw_start] = _utc(raw_start)
                ru, en = ("", body or "") if kind == "translation" else (body or "", extra or "")
                seg = SegmentText(i, c, ru, en, party, started, start, end, speaker)
                writer.add_document(make_document(seg, idx.zone, facets.get(i)))
            if len(starts) > 100_000:
                starts = {None: None}
            done += len(rows)
            last = int(rows[-1][0])
            if progress is not None:
                progress(done, total)
    idx.mark_built()
    return done, covered


def _utc(raw: object) -> datetime:
    """A call start as the driver returns it (SQLite: ISO text; PostgreSQL: a naive
    datetime), as the aware UTC datetime the schema means (see UTCDateTime)."""
    value = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
    if not isinstance(value, datetime):
        raise SearchError(f"unexpected call start {raw!r} in the database")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def write_segments(idx: CaseIndex, conn: Connection, ids: list[int]) -> None:
    """Rewrite the documents of `ids` from the database as `conn` sees it."""
    texts = segment_texts(conn, ids)
    facets = segment_facets(conn, {i: seg.call_id for i, seg in texts.items()})
    with idx.writer() as writer:
        for seg_id in ids:
            writer.delete_documents_by_term("id", seg_id)
        for seg in texts.values():
            writer.add_document(make_document(seg, idx.zone, facets.get(seg.segment_id)))


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
    texts = segment_texts(conn, ids)
    facets = segment_facets(conn, {i: seg.call_id for i, seg in texts.items()})
    writer = idx.index.writer(15_000_000, 1)
    for seg in texts.values():
        writer.add_document(make_document(seg, zone, facets.get(seg.segment_id)))
    writer.commit()
    writer.wait_merging_threads()
    idx.index.reload()
    return idx
