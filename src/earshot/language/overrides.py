"""Editors' decisions on analysis output, re-applied after every re-analysis.

The language stage replaces a call's entities and themes wholesale when its
transcript or engine changes. An editor's "this call is about money", "not about
morale" or "this «Андрюша» is person 3" must survive that, so each decision is
stored once as an override and laid over every new analysis.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..store.language_models import (
    CallTheme,
    CallThemeOverride,
    EntityPersonOverride,
    SegmentEntity,
)
from ..store.models import utcnow

__all__ = ["HUMAN", "apply_overrides", "set_entity_person", "set_theme"]

HUMAN = "human"  # the info_key of rows an editor decided


def set_theme(
    session: Session, *, call_id: int, theme: str, present: bool, actor: str | None
) -> None:
    """Record that `call_id` does or does not carry `theme`, and apply it now."""
    row = session.get(CallThemeOverride, (call_id, theme))
    if row is None:
        session.add(CallThemeOverride(call_id=call_id, theme=theme, present=present, actor=actor))
    else:
        row.present, row.actor, row.at = present, actor, utcnow()
    session.flush()
    apply_overrides(session, [call_id])


def set_entity_person(
    session: Session, entity: SegmentEntity, *, person_id: int | None, actor: str | None
) -> None:
    """Record an editor's link of `entity`'s span to a person (None: to nobody)."""
    key = (entity.segment_id, entity.start, entity.end)
    row = session.get(EntityPersonOverride, key)
    if row is None:
        session.add(
            EntityPersonOverride(
                segment_id=entity.segment_id,
                start=entity.start,
                end=entity.end,
                call_id=entity.call_id,
                person_id=person_id,
                actor=actor,
            )
        )
    else:
        row.person_id, row.actor, row.at = person_id, actor, utcnow()
    session.flush()
    apply_overrides(session, [entity.call_id])


def apply_overrides(session: Session, call_ids: Sequence[int]) -> None:
    """Lay the editors' decisions over the current analysis rows of `call_ids`."""
    if not call_ids:
        return
    themes = session.execute(
        select(CallThemeOverride).where(CallThemeOverride.call_id.in_(call_ids))
    ).scalars()
    for decision in themes:
        existing = session.get(CallTheme, (decision.call_id, decision.theme))
        if decision.present and existing is None:
            session.add(CallTheme(call_id=decision.call_id, theme=decision.theme, info_key=HUMAN))
        elif decision.present and existing is not None:
            existing.info_key = HUMAN
        elif not decision.present and existing is not None:
            session.execute(
                delete(CallTheme).where(
                    CallTheme.call_id == decision.call_id, CallTheme.theme == decision.theme
                )
            )
    links = session.execute(
        select(EntityPersonOverride).where(EntityPersonOverride.call_id.in_(call_ids))
    ).scalars()
    for link in links:
        session.execute(
            update(SegmentEntity)
            .where(
                SegmentEntity.segment_id == link.segment_id,
                SegmentEntity.start == link.start,
                SegmentEntity.end == link.end,
            )
            .values(person_id=link.person_id, person_score=None if link.person_id is None else 1.0)
        )
    session.flush()
