"""Changes made from the browser, each checked, versioned where people collide, and logged.

Translations use optimistic concurrency: the editor sends the version it loaded; if
someone saved since, the edit is refused with :class:`StaleEditError` naming who and
when, instead of silently overwriting them. The compare-and-set is one UPDATE
guarded by the version, so two simultaneous saves cannot both win.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import EarshotError
from ..store.models import Person, Segment
from .views import model

__all__ = [
    "MAX_TEXT",
    "TRANSLATION_STATUSES",
    "VERIFICATION_STATUSES",
    "EditRefusedError",
    "StaleEditError",
    "current_translation",
    "decide_voice_link",
    "link_entity",
    "save_translation",
    "set_call_theme",
    "set_verification",
    "stale_message",
]

TRANSLATION_STATUSES = ("draft", "edited", "reviewed", "approved")
VERIFICATION_STATUSES = ("unverified", "partly_verified", "verified", "disputed")
MAX_TEXT = 20_000


class EditRefusedError(EarshotError):
    """The edit is not possible as asked (unknown object, bad value, layer missing)."""


class StaleEditError(EditRefusedError):
    """Someone saved the same object after the editor loaded it."""

    def __init__(self, message: str, current: dict[str, Any]) -> None:
        super().__init__(message)
        self.current = current


def _now() -> datetime:
    return datetime.now(UTC)


def _as_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "segment_id": row.segment_id,
        "text": row.text,
        "status": row.status,
        "version": row.version,
        "translator": row.translator,
        "reviewer": row.reviewer,
        "approver": row.approver,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }


def _current(session: Session, segment_id: int) -> Any | None:
    from ..store.language_models import Translation

    return session.execute(
        select(Translation).where(Translation.segment_id == segment_id)
    ).scalar_one_or_none()


def save_translation(
    session: Session,
    *,
    call_id: int,
    segment_id: int,
    text: str,
    status: str,
    expected_version: int,
    actor: str,
    four_eyes: bool = True,
) -> dict[str, Any]:
    """Save the English of one segment and move it to `status`, in one transaction.

    Delegates to the review workflow (``earshot.language.translation``): changed text
    is an edit; "reviewed" and "approved" are the next steps of review, one at a time,
    so approval always follows a review. Marking a draft or an edit "reviewed" reviews
    it (with the reviewer's corrections, if any); under the four-eyes rule nobody
    reviews their own translation or approves their own review. `expected_version` 0
    means "there was none".
    """
    from ..language.translation import workflow

    if status not in TRANSLATION_STATUSES:
        raise EditRefusedError(
            f"unknown translation status {status!r}; use one of {', '.join(TRANSLATION_STATUSES)}"
        )
    if len(text) > MAX_TEXT:
        raise EditRefusedError(f"translation is {len(text)} characters; the limit is {MAX_TEXT}")
    segment = session.get(Segment, segment_id)
    if segment is None or segment.call_id != call_id:
        raise EditRefusedError(f"segment {segment_id} is not part of call {call_id}")
    row = _current(session, segment_id)
    version = expected_version
    changed = row is None or text != row.text
    try:
        if status == "reviewed" and row is not None and row.status in ("draft", "edited"):
            # A reviewer's corrections are part of the review (the translator stays
            # the translator), so the four-eyes rule still sees who translated it.
            row = workflow.review_translation(
                session,
                segment_id,
                actor=actor,
                expected_version=version,
                text=text if changed else None,
                four_eyes=four_eyes,
            )
        elif changed:
            if row is None and not text.strip():
                raise EditRefusedError("nothing to save: the translation is empty")
            row = workflow.edit_translation(
                session, segment_id, text, actor=actor, expected_version=version
            )
            version = row.version
            if status == "reviewed":
                row = workflow.review_translation(
                    session, segment_id, actor=actor, expected_version=version, four_eyes=four_eyes
                )
        elif row is not None and row.version != version:
            raise workflow.StaleEditError("stale")
        assert row is not None  # an empty row is refused above; otherwise one was saved
        if status == "approved" and row.status != "approved":
            row = workflow.approve_translation(
                session, segment_id, actor=actor, expected_version=row.version, four_eyes=four_eyes
            )
    except workflow.StaleEditError as exc:
        raise StaleEditError(str(exc), {}) from None
    except workflow.TranslationStateError as exc:
        raise EditRefusedError(str(exc)) from None
    session.flush()
    return _as_dict(row)


def current_translation(session: Session, segment_id: int) -> dict[str, Any] | None:
    """The translation as saved now (for the editor to compare after a conflict)."""
    row = _current(session, segment_id)
    return None if row is None else _as_dict(row)


def stale_message(row: dict[str, Any] | None, expected: int) -> str:
    """What a refused stale edit tells the editor: who changed it, when, and what to do."""
    if row is None:
        return "not saved: this translation was removed since you loaded it; reload the call"
    who = row["approver"] or row["reviewer"] or row["translator"] or "someone"
    when = (row["updated_at"] or "recently")[:16].replace("T", " ")
    return (
        f"not saved: {who} changed this translation at {when} (now version {row['version']}, "
        f"you loaded version {expected}); your text is kept in the editor: compare, then save "
        f"again"
    )


def set_call_theme(
    session: Session, *, call_id: int, theme: str, present: bool, actor: str | None = None
) -> list[str]:
    """Add or remove a theme tag of a call; returns the call's themes.

    Stored as an editor's override, so a later re-analysis keeps the decision.
    """
    call_theme = model("language_models", "CallTheme")
    if call_theme is None:
        raise EditRefusedError("themes are not available: the language layer is missing")
    theme = theme.strip()
    if not theme or len(theme) > 60:
        raise EditRefusedError("a theme tag must be 1 to 60 characters")
    from ..language.overrides import set_theme

    set_theme(session, call_id=call_id, theme=theme, present=present, actor=actor)
    return list(
        session.execute(
            select(call_theme.theme).where(call_theme.call_id == call_id).order_by(call_theme.theme)
        ).scalars()
    )


def link_entity(
    session: Session,
    *,
    call_id: int,
    entity_id: int,
    person_id: int | None,
    actor: str | None = None,
) -> None:
    """Link a name found in a call to a Person (or unlink it with None), kept across re-analysis."""
    entity = model("language_models", "SegmentEntity")
    if entity is None:
        raise EditRefusedError("entities are not available: the language layer is missing")
    row = session.get(entity, entity_id)
    if row is None or row.call_id != call_id:
        raise EditRefusedError(f"entity {entity_id} is not part of call {call_id}")
    if person_id is not None and session.get(Person, person_id) is None:
        raise EditRefusedError(f"person {person_id} does not exist in this case")
    from ..language.overrides import set_entity_person

    set_entity_person(session, row, person_id=person_id, actor=actor)


def decide_voice_link(
    session: Session, *, link_id: int, confirm: bool, actor: str, note: str | None
) -> dict[str, Any]:
    """Confirm or reject a proposed voice match between two call sides."""
    link = model("speech_models", "VoiceLink")
    if link is None:
        raise EditRefusedError("voice matches are not available: the speech layer is missing")
    row = session.get(link, link_id)
    if row is None:
        raise EditRefusedError(f"voice match {link_id} does not exist")
    row.status = "confirmed" if confirm else "rejected"
    row.decided_by = actor
    row.decided_at = _now()
    row.note = (note or "")[:2000] or row.note
    return {"id": row.id, "status": row.status, "decided_by": actor}


def set_verification(
    session: Session, *, person_id: int, status: str, reason: str, actor: str, actor_role: str
) -> dict[str, Any]:
    """Record a verification decision on a person (the history keeps every one)."""
    event = model("identity_models", "VerificationEvent")
    if event is None:
        raise EditRefusedError("verification is not available: the identity layer is missing")
    if status not in VERIFICATION_STATUSES:
        raise EditRefusedError(
            f"unknown verification status {status!r}; use one of {', '.join(VERIFICATION_STATUSES)}"
        )
    if not reason.strip():
        raise EditRefusedError("say why: a verification decision needs a reason")
    if session.get(Person, person_id) is None:
        raise EditRefusedError(f"person {person_id} does not exist in this case")
    session.add(
        event(
            person_id=person_id,
            status=status,
            reason=reason[:5000],
            evidence_ids=[],
            actor=actor,
            actor_role=actor_role,
            at=_now(),
        )
    )
    return {"person_id": person_id, "status": status, "actor": actor}
