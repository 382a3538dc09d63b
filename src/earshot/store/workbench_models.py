"""Tables of the workbench: notes people leave on a segment, and the versions of a
segment's Russian text as people correct it.

Comments are the newsroom's conversation about a line ("is this 'пятисотые' or
'двухсотые'? listen at 0:07"): threaded, signed and dated, in the audit log, and
never part of an export (no publish module reads this table).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["SavedSearch", "SegmentComment", "SegmentTextVersion"]


class SegmentComment(Base):
    """One comment on a segment; `parent_id` makes it a reply in that thread."""

    __tablename__ = "segment_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("segment_comments.id"))
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SegmentTextVersion(Base):
    """One state of a segment's Russian text. Version 1 is the text as transcribed
    (recorded when it is first corrected); each correction appends the next."""

    __tablename__ = "segment_text_versions"
    __table_args__ = (UniqueConstraint("segment_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedSearch(Base):
    """A query someone kept under a name, to run again (their own list, per case)."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("owner", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(120))
    query: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
