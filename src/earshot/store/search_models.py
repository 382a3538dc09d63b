"""Search tables in the case database (migration 0405).

The search index itself is a tantivy index beside the database (``<case>/search-index``,
or in memory for an encrypted case; see :mod:`earshot.search.tindex`). The database stays
the truth: every change that affects search writes a ``search_outbox`` row in the same
transaction, and the indexer applies those rows to the index after the commit (and on
the next open after a crash), so a change is never lost between the two.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, Call, Party

__all__ = ["SearchOutbox"]


class SearchOutbox(Base):
    """A segment whose index document must be rewritten (or removed, when the segment is
    gone). No foreign key: a deleted segment's row must outlive it."""

    __tablename__ = "search_outbox"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    segment_id: Mapped[int] = mapped_column(BigInteger, index=True)


# Call-level filters (dates, phone, person) start from these instead of scanning.
Index("ix_search_calls_started_at", Call.started_at)
Index("ix_search_parties_phone_id", Party.phone_id)
Index("ix_search_parties_person_id", Party.person_id)
