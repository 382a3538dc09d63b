"""Comments on segments and the history of a segment's translation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import EditRefusedError
from ..language.translation.workflow import translation_history
from ..security.roles import Actor, Permission
from ..store.audit import audit
from ..store.models import Segment
from ..store.workbench_models import SegmentComment

MAX_COMMENT = 4_000


@dataclass(frozen=True)
class CommentRecord:
    id: int
    segment_id: int
    call_id: int
    parent_id: int | None
    author: str
    text: str
    at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TranslationVersion:
    """One recorded state of a segment's English: who did what, when."""

    version: int
    status: str
    text: str
    actor: str
    action: str
    at: str
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _record(row: SegmentComment) -> CommentRecord:
    return CommentRecord(
        row.id, row.segment_id, row.call_id, row.parent_id, row.author, row.text, row.at.isoformat()
    )


def _segment(session: Session, call_id: int, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None or segment.call_id != call_id:
        raise EditRefusedError(f"no segment {segment_id} of call {call_id} in this case")
    return segment


def add_comment(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    segment_id: int,
    text: str,
    parent_id: int | None = None,
) -> CommentRecord:
    """Leave a comment on a segment, or a reply to one (`parent_id`) in its thread.

    Whoever may work on the call's text (a translator, an editor, an admin) may
    comment; a viewer reads. Empty or over-long text, and a reply to a comment on
    another segment, are refused.
    """
    actor.require(Permission.EDIT_TRANSLATION, what="comment on a segment")
    _segment(session, call_id, segment_id)
    text = text.strip()
    if not text:
        raise EditRefusedError("the comment is empty; write something first")
    if len(text) > MAX_COMMENT:
        raise EditRefusedError(f"the comment is {len(text)} characters; the limit is {MAX_COMMENT}")
    if parent_id is not None:
        parent = session.get(SegmentComment, parent_id)
        if parent is None or parent.segment_id != segment_id:
            raise EditRefusedError(f"comment {parent_id} is not on segment {segment_id}")
    row = SegmentComment(
        segment_id=segment_id, call_id=call_id, parent_id=parent_id, author=actor.name, text=text
    )
    session.add(row)
    session.flush()
    audit(
        session,
        user=actor.name,
        action="comment",
        object_type="segment",
        object_id=str(segment_id),
        detail={
            "comment_id": row.id,
            "call_id": call_id,
            "parent_id": parent_id,
            "role": actor.role.value,
        },
    )
    return _record(row)


def call_comments(session: Session, actor: Actor, call_id: int) -> list[CommentRecord]:
    """Every comment on the call's segments, oldest first (threads by `parent_id`)."""
    actor.require(Permission.READ, what="read comments")
    rows = session.scalars(
        select(SegmentComment)
        .where(SegmentComment.call_id == call_id)
        .order_by(SegmentComment.at, SegmentComment.id)
    )
    return [_record(r) for r in rows]


def segment_translation_history(
    session: Session, actor: Actor, *, call_id: int, segment_id: int
) -> list[TranslationVersion]:
    """Every saved state of the segment's English, oldest first."""
    actor.require(Permission.READ, what="read translation history")
    _segment(session, call_id, segment_id)
    return [
        TranslationVersion(h.version, h.status, h.text, h.actor, h.action, h.at.isoformat(), h.note)
        for h in translation_history(session, segment_id)
    ]
