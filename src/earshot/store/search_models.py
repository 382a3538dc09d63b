"""The PostgreSQL search index table (lemma tokens as tsvector with GIN indexes).

On SQLite the index is an FTS5 table in a companion file (see
:mod:`earshot.store.search.sqlite`), because FTS5's shadow tables would otherwise
sit in the case schema; this table exists there too (the schema is identical on
both backends) but stays empty.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from .models import Base

__all__ = ["LEMMA_VECTOR", "SegmentSearch"]

LEMMA_VECTOR: TypeEngine[str] = TSVECTOR().with_variant(Text(), "sqlite")


class SegmentSearch(Base):
    """One segment's lemma tokens: Russian text and English translation, kept apart."""

    __tablename__ = "segment_search"
    __table_args__ = (
        Index("ix_segment_search_ru", "ru", postgresql_using="gin"),
        Index("ix_segment_search_en", "en", postgresql_using="gin"),
    )
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    call_id: Mapped[int] = mapped_column(Integer, index=True)
    ru: Mapped[str] = mapped_column(LEMMA_VECTOR)
    en: Mapped[str] = mapped_column(LEMMA_VECTOR)
    ru_len: Mapped[int] = mapped_column(Integer, default=0)
    en_len: Mapped[int] = mapped_column(Integer, default=0)
