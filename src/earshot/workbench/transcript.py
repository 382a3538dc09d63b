"""Correcting the Russian text of a segment: versioned, re-analysed, re-indexed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import EditRefusedError, StaleEditError
from ..language.analysis_store import current_transcript
from ..language.segment_reanalysis import SegmentReanalysis, reanalyse_segment
from ..security.roles import Actor, Permission
from ..store.audit import audit
from ..store.workbench_models import SegmentTextVersion
from .notes import MAX_COMMENT, _segment


# -- correcting the Russian text ----------------------------------------------------
@dataclass(frozen=True)
class SegmentTextRecord:
    """A segment's Russian text at one version, and (after a correction) what the
    re-analysis of that segment found."""

    segment_id: int
    call_id: int
    version: int
    text: str
    actor: str
    at: str
    analysis: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _versions(session: Session, segment_id: int) -> list[SegmentTextVersion]:
    return list(
        session.scalars(
            select(SegmentTextVersion)
            .where(SegmentTextVersion.segment_id == segment_id)
            .order_by(SegmentTextVersion.version)
        )
    )


def segment_text_versions(
    session: Session, actor: Actor, *, call_id: int, segment_id: int
) -> list[SegmentTextRecord]:
    """Every recorded state of the segment's Russian, oldest first (empty: never corrected)."""
    actor.require(Permission.READ, what="read transcript history")
    _segment(session, call_id, segment_id)
    return [
        SegmentTextRecord(v.segment_id, v.call_id, v.version, v.text, v.actor, v.at.isoformat())
        for v in _versions(session, segment_id)
    ]


def correct_segment_text(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    segment_id: int,
    text: str,
    expected_version: int,
) -> SegmentTextRecord:
    """Correct the Russian text of one segment of the call's current transcript.

    Versioned like translations: `expected_version` is the version the editor loaded
    (1 for a text never corrected); a newer save refuses with
    :class:`~earshot.errors.StaleEditError`. The first correction records the text as
    transcribed as version 1. Only that segment is re-analysed (entities, slang,
    themes; the call's themes pooled again) and re-indexed for search, in the same
    transaction; the audit entry keeps the old and the new text's lengths.
    """
    actor.require(Permission.EDIT_TRANSCRIPT, what="correct a transcript")
    segment = _segment(session, call_id, segment_id)
    current = current_transcript(session, call_id)
    if current is None or segment.transcript_id != current.id:
        raise EditRefusedError(
            f"segment {segment_id} is not in call {call_id}'s current transcript; reload the call"
        )
    text = " ".join(text.split())
    if not text:
        raise EditRefusedError("the corrected text is empty; a segment keeps at least one word")
    if len(text) > MAX_COMMENT * 5:
        raise EditRefusedError(
            f"the text is {len(text)} characters; the limit is {MAX_COMMENT * 5}"
        )
    versions = _versions(session, segment_id)
    now = versions[-1].version if versions else 1
    if expected_version != now:
        raise StaleEditError(
            f"segment {segment_id} was corrected meanwhile (now version {now}, you loaded "
            f"version {expected_version}); your text is kept: compare, then save again"
        )
    if text == segment.text:
        raise EditRefusedError("the text is unchanged; nothing to save")
    old = segment.text
    if not versions:
        session.add(
            SegmentTextVersion(
                segment_id=segment_id, call_id=call_id, version=1, text=old, actor="transcript"
            )
        )
    row = SegmentTextVersion(
        segment_id=segment_id, call_id=call_id, version=now + 1, text=text, actor=actor.name
    )
    session.add(row)
    segment.text = text
    session.flush()  # the search index follows the new text here (earshot.search.sync)
    found: SegmentReanalysis = reanalyse_segment(session, segment)
    audit(
        session,
        user=actor.name,
        action="correct_transcript",
        object_type="segment",
        object_id=str(segment_id),
        detail={
            "call_id": call_id,
            "version": now + 1,
            "old_chars": len(old),
            "new_chars": len(text),
            "role": actor.role.value,
        },
    )
    return SegmentTextRecord(
        segment_id,
        call_id,
        now + 1,
        text,
        actor.name,
        row.at.isoformat(),
        found.as_dict(),
    )
