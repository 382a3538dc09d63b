"""The case's search index: one embedded tantivy index, the same on every backend: its
schema, its documents, and the handle on it (:class:`CaseIndex`). Opening, building and
keeping it in step with the database is :mod:`.indexer`'s.

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
BM25); each word also has one *signature* (its sorted keys joined by ``_``), and
``ru_pair`` / ``en_pair`` hold the *pairs* of consecutive signatures (``a|b``) with
positions: an exact two-word phrase is one pair term, a longer one a phrase of pairs, far
shorter postings than its words' (Elasticsearch's ``index_phrases``); ``ru_sig`` /
``en_sig`` hold a ``key>signature`` term for each key of an ambiguous word (how a phrase
word finds every signature holding one of its keys, through the term dictionary). Facets
are fast fields: ``id``, ``call``, ``started`` (microseconds since the epoch, UTC, with
its UTC ``hour``, ``day`` and ``month`` as terms for date ranges), ``party``, ``order``
(call and segment for unranked listings); the multi-valued facets ``phone``, ``person``, ``theme``,
``term`` and ``place`` (:mod:`.facets`) are raw terms (``person`` integers);
``lday`` / ``lmonth`` are the call's day and month in the index's time zone;
``ru_text``, ``en_text``, ``start``, ``end``, ``speaker`` (and ``party``) are stored,
for a page of hits, with ``ru_words`` / ``en_words``, each word's signature in order
(how a hit's words are highlighted without lemmatising them again); ``digest``
(:func:`source_digest`) lets :func:`earshot.search.check_index` compare a document with
the rows it came from.
"""

# SQL here is assembled from constant fragments and integers only.

from __future__ import annotations

import fcntl
import shutil
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tantivy

from ..errors import SearchError
from .applied import Applied
from .facets import Facets
from .index import SegmentText
from .text import COLUMNS, Column, doc_parts

__all__ = [
    "BUILT_MARK",
    "INDEX_DIR",
    "INDEX_VERSION",
    "LOCK_NAME",
    "SCHEMA",
    "CaseIndex",
    "make_document",
    "micros",
    "source_digest",
]

INDEX_DIR = "search-index"
LOCK_NAME = "search-index.lock"
BUILT_MARK = "earshot-index-built"
INDEX_VERSION = "10"  # bump when the documents change: the next open rebuilds
_HEAP = 64_000_000
_LOCK_WAIT_S = 120.0
_EPOCH = datetime(1970, 1, 1)


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=True, indexed=True, fast=True)
    sb.add_integer_field("call", stored=True, indexed=True, fast=True)
    sb.add_integer_field("started", indexed=True, fast=True)
    sb.add_integer_field("order", fast=True)
    sb.add_integer_field("digest", fast=True)
    sb.add_text_field("party", stored=True, tokenizer_name="raw", index_option="basic")
    # What a hit shows, stored (not indexed): a page of hits is read from the index.
    sb.add_bytes_field("ru_text", stored=True)
    sb.add_bytes_field("en_text", stored=True)
    # each word's signature, in order: a hit's words are highlighted by their keys as
    # indexed, with no lemmatising at search time (a cold process would parse every
    # word of every hit shown: 3.5 ms a page instead of 0.5)
    sb.add_bytes_field("ru_words", stored=True)
    sb.add_bytes_field("en_words", stored=True)
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
        sb.add_text_field(f"{column}_pair", tokenizer_name="whitespace", index_option="position")
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
    """The fields of a segment's document; empty ones are left out (the English of an
    untranslated segment: less to hand over, and the digest reads a missing field as
    empty)."""
    out: dict[str, object] = {
        "id": seg.segment_id,
        "call": seg.call_id,
        "order": (seg.call_id << 32) | seg.segment_id,
    }
    if seg.party:
        out["party"] = seg.party
    texts: tuple[tuple[Column, str], ...] = (("ru", seg.ru), ("en", seg.en))
    for column, body in texts:
        if body:
            parts = doc_parts(body, column)
            if parts.keys:
                out[column] = parts.keys
                if parts.pairs:
                    out[f"{column}_pair"] = parts.pairs
                if parts.ambiguous:
                    out[f"{column}_sig"] = parts.ambiguous
                out[f"{column}_words"] = parts.signatures.encode()
            out[f"{column}_text"] = body.encode()
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


def source_digest(seg: SegmentText, facets: Facets | None = None) -> int:
    """A 32-bit digest (CRC-32) of what a segment's document is made from: its texts,
    facts and facets, as read from the database (:func:`.index.read_segments`,
    :mod:`.facets`). :func:`earshot.search.check_index` compares it with the one the
    document was written with, so a row changed behind the outbox's back shows.

    Why the sources and not the document's terms: the terms follow from the sources by
    code whose changes bump :data:`INDEX_VERSION` (a rebuild), and digesting the sources
    costs a fifth as much, which the rebuild pays a million times."""
    started = "" if seg.started_at is None else micros(seg.started_at)
    head = (
        f"{seg.segment_id}\x1f{seg.call_id}\x1f{seg.party or ''}\x1f{started}\x1f"
        f"{seg.start}\x1f{seg.end}\x1f{seg.speaker or ''}\x1f{facets or ''}\x1f{seg.ru}\x1f"
    )
    return zlib.crc32(seg.en.encode(), zlib.crc32(head.encode()))


def make_document(
    seg: SegmentText, zone: str = "UTC", facets: Facets | None = None
) -> tantivy.Document:
    """The index document of one segment (see the module docstring); `zone` is the
    index's time zone (:attr:`CaseIndex.zone`), `facets` from :mod:`.facets`."""
    fields = _fields(seg, zone, facets)
    fields["digest"] = source_digest(seg, facets)
    # from_dict with the schema converts each value by its field's type, in one pass:
    # a third cheaper than Document(**fields) (the rebuild makes a million of these).
    return tantivy.Document.from_dict(fields, SCHEMA)


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
        #: when this process last read the outbox for this index, and the committed
        #: rows it found there (see :func:`earshot.search.engine._pending`)
        self.outbox_checked = float("-inf")
        self.outbox_left: set[int] = set()
        #: an in-memory index's record of the outbox rows it has taken in (they stay in
        #: the outbox for the other processes' indexes: :mod:`.applied`)
        self.applied = Applied()
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
