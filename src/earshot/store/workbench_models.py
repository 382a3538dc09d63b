"""Tables of the workbench: notes people leave on a segment, and the versions of a
segment's Russian text as people correct it, and changes to the layout of a transcript
(split, merge, moved boundaries, party).

Comments are the newsroom's conversation about a line ("is this 'пятисотые' or
'двухсотые'? listen at 0:07"): threaded, signed and dated, in the audit log, and
never part of an export (no publish module reads this table).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["SavedSearch", "SegmentComment", "SegmentEdit", "SegmentTextVersion"]


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


class SegmentEdit(Base):
    """One change to the layout of a call's transcript: a split, a merge, a moved
    boundary or a changed party, with who and when, numbered per call.

    `version` is the call's layout version after the change (1 for the first): an
    editor's change based on an older layout is refused. `before` / `after` keep the
    segments involved as they were and became (idx, times, party, text, and for a merge
    the text versions of the segment merged away), so nothing a merge removes is lost.
    `segment_id` is the segment changed (kept by a split or a merge), `other_segment_id`
    the one a split made or a merge removed; neither is a foreign key, since a later
    merge may remove either and its history must stay.
    """

    __tablename__ = "segment_edits"
    __table_args__ = (UniqueConstraint("call_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    segment_id: Mapped[int] = mapped_column(index=True)
    other_segment_id: Mapped[int | None]
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
