"""What points at a segment follows its words when the transcript's layout changes.

Decisions (docs/web.md, *Splitting, merging, boundaries and parties*):

- **Translations** cannot be split or joined by a machine without a translator's eye:
  a split segment keeps its whole English, set back to ``draft`` (review and approval
  dropped, version bumped so an open editor gets a conflict) with a note saying it
  covers both halves; the new half is untranslated. A merge joins both Englishes into
  the kept segment's, also back to ``draft``; the merged-away segment's translation
  history moves to the kept one, so nothing of it is lost.
- **Quotes** keep their text, times and verbatim English as made (they are provenance).
  A quote ending at a split segment is made to end at its second half, so it still
  spans the same words; a quote beginning or ending at a merged-away segment points at
  the merged one. Whether its text still matches is then judged by the quote's STALE
  flag (:func:`earshot.publish.quotes.quote_dict`): the current English of the span is
  compared with the quoted verbatim, and a span with an untranslated segment counts as
  changed, never as unchanged.
- **Redactions** are made from the current text at every export (entities, nickname
  decisions), so they follow the words; editors' name links (entity overrides, which
  hold character spans) are moved with the words they cover, and a link whose name a
  split cuts in two is dropped (the name is found again by the re-analysis).
- **Comments** and self-identification proposals of a merged-away segment move to the
  merged one; an open self-identification proposal of a segment whose party changes
  moves to the new side (it is about whoever said the words).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..store.identity_models import PartyPersonLink
from ..store.language_models import (
    EntityPersonOverride,
    SegmentEntity,
    SegmentSlang,
    SegmentTheme,
    Translation,
    TranslationHistory,
)
from ..store.models import Party, Segment, utcnow
from ..store.publish_models import Quote
from ..store.workbench_models import SegmentComment
from ..vocab import LinkStatus, TranslationStatus

__all__ = ["after_merge", "after_party_change", "after_split"]


def _history(session: Session, row: Translation, actor: str, action: str, note: str) -> None:
    session.flush()
    session.add(
        TranslationHistory(
            translation_id=row.id, segment_id=row.segment_id, version=row.version,
            status=row.status, text=row.text, actor=actor, action=action, at=utcnow(),
            note=note,
        )
    )  # fmt: skip


def _to_review(row: Translation, note: str) -> None:
    """Back to draft: the English no longer matches its segment one to one."""
    row.status = TranslationStatus.DRAFT.value
    row.reviewer = None
    row.approver = None
    row.version += 1
    row.updated_at = utcnow()
    row.notes = [*list(row.notes or []), {"kind": "layout", "text": note}]


def _translation(session: Session, segment_id: int) -> Translation | None:
    return session.scalar(select(Translation).where(Translation.segment_id == segment_id))


def after_split(session: Session, first: Segment, second: Segment, offset: int, actor: str) -> None:
    """`first` was cut before character `offset` of its old text; `second` is the rest."""
    row = _translation(session, first.id)
    if row is not None:
        note = (
            f"segment split: this English covers segment {first.id} and the new segment "
            f"{second.id}; divide it between them"
        )
        _to_review(row, note)
        _history(session, row, actor, "split", note)
    for link in session.scalars(
        select(EntityPersonOverride).where(EntityPersonOverride.segment_id == first.id)
    ).all():
        if link.start >= offset:
            session.add(
                EntityPersonOverride(
                    segment_id=second.id, start=link.start - offset, end=link.end - offset,
                    call_id=link.call_id, person_id=link.person_id, actor=link.actor, at=link.at,
                )
            )  # fmt: skip
            session.delete(link)
        elif link.end > offset - 1:
            session.delete(link)  # the cut falls inside the linked name
    session.execute(
        update(Quote).where(Quote.last_segment_id == first.id).values(last_segment_id=second.id)
    )
    session.flush()


def after_merge(session: Session, kept: Segment, gone: Segment, offset: int, actor: str) -> None:
    """`gone` is appended to `kept` at character `offset`; move what points at it."""
    mine, theirs = _translation(session, kept.id), _translation(session, gone.id)
    note = f"segments {kept.id} and {gone.id} merged: check the joined English"
    if theirs is not None and mine is not None:
        mine.text = f"{mine.text} {theirs.text}".strip()
        session.execute(
            update(TranslationHistory)
            .where(TranslationHistory.translation_id == theirs.id)
            .values(translation_id=mine.id, segment_id=kept.id)
        )
        session.delete(theirs)
        session.flush()
    elif theirs is not None:
        theirs.segment_id = kept.id
        session.execute(
            update(TranslationHistory)
            .where(TranslationHistory.translation_id == theirs.id)
            .values(segment_id=kept.id)
        )
        mine = theirs
    if mine is not None:
        _to_review(mine, note)
        _history(session, mine, actor, "merge", note)
    for link in session.scalars(
        select(EntityPersonOverride).where(EntityPersonOverride.segment_id == gone.id)
    ).all():
        session.add(
            EntityPersonOverride(
                segment_id=kept.id, start=link.start + offset, end=link.end + offset,
                call_id=link.call_id, person_id=link.person_id, actor=link.actor, at=link.at,
            )
        )  # fmt: skip
        session.delete(link)
    for table, column in (
        (SegmentComment, SegmentComment.segment_id),
        (PartyPersonLink, PartyPersonLink.segment_id),
        (Quote, Quote.first_segment_id),
        (Quote, Quote.last_segment_id),
    ):
        session.execute(update(table).where(column == gone.id).values({column: kept.id}))
    for found in (SegmentEntity, SegmentSlang, SegmentTheme):  # analysed again, on `kept`
        session.execute(delete(found).where(found.segment_id == gone.id))
    session.flush()


def after_party_change(session: Session, segment: Segment, old: str | None) -> None:
    """Open self-identification proposals from the segment go to its new side."""
    sides = {
        p.label: p.id
        for p in session.scalars(select(Party).where(Party.call_id == segment.call_id))
    }
    new_side = sides.get(segment.party or "")
    old_side = sides.get(old or "")
    if new_side is None or old_side is None:
        return
    session.execute(
        update(PartyPersonLink)
        .where(
            PartyPersonLink.segment_id == segment.id,
            PartyPersonLink.party_id == old_side,
            PartyPersonLink.status == LinkStatus.PROPOSED.value,
        )
        .values(party_id=new_side)
    )
    session.flush()
