"""Search tables that both backends share, and the indexes search needs on core tables.

* ``segment_search``: PostgreSQL's index (lemma tokens as tsvector, GIN indexes).
* ``search_stats``: PostgreSQL's row and token totals, kept in step with
  ``segment_search`` so that BM25 needs no scan of it.
* ``search_signatures``: SQLite's map from a lemma to every *word signature* holding it
  (the sorted lemmas of one ambiguous word, joined by ``_``), for exact phrase queries
  in FTS5 (see :mod:`earshot.search.index`).
* ``search_keys`` (migration 0403): each index key's document frequency per column
  (PostgreSQL; kept by triggers on ``segment_search``), and ``segment_search.ru_rep`` /
  ``en_rep``: the counts of the keys that occur more than once in the row's column (jsonb,
  NULL when none do), so that BM25 needs neither a GIN count nor an unnest per query.
* ``segment_search.party`` / ``started_at`` (migration 0404): the segment's party and its
  call's start (PostgreSQL), the facts SQLite's facet tokens are made from, so that a
  word plus ``party:``/``from:``/``to:`` is decided on the index rows alone.

On SQLite the full-text index itself is the FTS5 table ``segment_fts`` in the case
database (created by migration 0401; FTS5 tables cannot be ORM models). Every table
exists on both backends so that the schema is one; the other backend leaves it empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from .models import Base, Call, Party, UTCDateTime

__all__ = [
    "KEY_REPEATS",
    "LEMMA_VECTOR",
    "SearchKey",
    "SearchSignature",
    "SearchStats",
    "SegmentSearch",
]

LEMMA_VECTOR: TypeEngine[str] = TSVECTOR().with_variant(Text(), "sqlite")
KEY_REPEATS: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


class SegmentSearch(Base):
    """One segment's lemma tokens: Russian text and English translation, kept apart.

    `ru_len` / `en_len` are the tokens each text contributes to FTS5's document length
    on SQLite (lemma keys plus one word signature per word), so that BM25 is the same.
    `party` / `started_at` copy the segment's party and its call's start (the facet
    filters' data), kept in step by the same writers as the tokens.
    """

    __tablename__ = "segment_search"
    __table_args__ = (
        Index("ix_segment_search_ru", "ru", postgresql_using="gin"),
        Index("ix_segment_search_en", "en", postgresql_using="gin"),
        Index("ix_segment_search_facets", "started_at", "party"),
    )
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    call_id: Mapped[int] = mapped_column(Integer, index=True)
    ru: Mapped[str] = mapped_column(LEMMA_VECTOR)
    en: Mapped[str] = mapped_column(LEMMA_VECTOR)
    ru_len: Mapped[int] = mapped_column(Integer, default=0)
    en_len: Mapped[int] = mapped_column(Integer, default=0)
    ru_rep: Mapped[dict[str, int] | None] = mapped_column(KEY_REPEATS, nullable=True)
    en_rep: Mapped[dict[str, int] | None] = mapped_column(KEY_REPEATS, nullable=True)
    party: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SearchKey(Base):
    """Rows of ``segment_search`` holding `key` in ``ru``, in ``en``, and in both."""

    __tablename__ = "search_keys"
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    rows_ru: Mapped[int] = mapped_column(BigInteger)
    rows_en: Mapped[int] = mapped_column(BigInteger)
    rows_both: Mapped[int] = mapped_column(BigInteger)


class SearchStats(Base):
    """The one row of index totals (PostgreSQL): rows and tokens, for BM25's N and avgdl."""

    __tablename__ = "search_stats"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)


class SearchSignature(Base):
    """A lemma and one signature of an ambiguous word that holds it (SQLite)."""

    __tablename__ = "search_signatures"
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    signature: Mapped[str] = mapped_column(Text, primary_key=True)


# Call-level filters (dates, phone, person) start from these instead of scanning.
Index("ix_search_calls_started_at", Call.started_at)
Index("ix_search_parties_phone_id", Party.phone_id)
Index("ix_search_parties_person_id", Party.person_id)
