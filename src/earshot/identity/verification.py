"""Verification status of a person or a call side, as a history of editors' decisions.

The current status is the latest event; nothing is overwritten, so anyone can
later see who decided what, when, why and on which evidence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.custody import append_custody
from ..store.identity_models import Evidence, VerificationEvent
from ..vocab import VerificationStatus
from .actor import EDITOR_ROLES, Actor, require_role
from .errors import IdentityError

__all__ = [
    "STATUSES",
    "current_status",
    "event_dict",
    "normalize_status",
    "set_verification",
    "status_history",
]

STATUSES = tuple(s.value for s in VerificationStatus)


def normalize_status(text: str) -> VerificationStatus:
    """Accept "partly verified", "partly-verified" and "partly_verified" alike."""
    status = text.strip().lower().replace("-", "_").replace(" ", "_")
    if status not in STATUSES:
        raise IdentityError(f"unknown status {text!r}; use one of {', '.join(STATUSES)}")
    return VerificationStatus(status)


def set_verification(
    session: Session,
    actor: Actor,
    *,
    status: VerificationStatus | str,
    reason: str,
    evidence_ids: list[int],
    person_id: int | None = None,
    party_id: int | None = None,
) -> VerificationEvent:
    """An editor sets the status of a person or of a call side, citing evidence."""
    require_role(actor, EDITOR_ROLES, "set verification status")
    if (person_id is None) == (party_id is None):
        raise IdentityError("verification is of one person or one call side; give exactly one")
    decided = normalize_status(status)
    if not reason.strip():
        raise IdentityError("give a reason for the status (what the evidence shows)")
    if decided != VerificationStatus.UNVERIFIED and not evidence_ids:
        raise IdentityError(
            f"status {decided.value!r} must cite evidence: add it with `earshot evidence add` "
            "and pass its id with --evidence"
        )
    ids = sorted(set(evidence_ids))
    found = set(session.execute(select(Evidence.id).where(Evidence.id.in_(ids))).scalars())
    if missing := [i for i in ids if i not in found]:
        raise IdentityError(
            f"no evidence item(s) {', '.join(f'#{i}' for i in missing)}; "
            "see `earshot evidence list`"
        )
    event = VerificationEvent(
        person_id=person_id,
        party_id=party_id,
        status=decided.value,
        reason=reason.strip(),
        evidence_ids=ids,
        actor=actor.name,
        actor_role=actor.role.value,
    )
    session.add(event)
    session.flush()
    append_custody(
        session,
        operator=actor.name,
        action="identity-verified",
        detail={
            "event_id": event.id,
            "person_id": person_id,
            "party_id": party_id,
            "status": decided.value,
            "evidence_ids": ids,
            "role": actor.role.value,
        },
    )
    return event


def status_history(
    session: Session, *, person_id: int | None = None, party_id: int | None = None
) -> list[VerificationEvent]:
    query = select(VerificationEvent)
    if person_id is not None:
        query = query.where(VerificationEvent.person_id == person_id)
    if party_id is not None:
        query = query.where(VerificationEvent.party_id == party_id)
    return list(session.execute(query.order_by(VerificationEvent.id)).scalars())


def current_status(
    session: Session, *, person_id: int | None = None, party_id: int | None = None
) -> VerificationStatus:
    history = status_history(session, person_id=person_id, party_id=party_id)
    return VerificationStatus(history[-1].status) if history else VerificationStatus.UNVERIFIED


def event_dict(event: VerificationEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "person_id": event.person_id,
        "party_id": event.party_id,
        "status": event.status,
        "reason": event.reason,
        "evidence_ids": list(event.evidence_ids),
        "actor": event.actor,
        "actor_role": event.actor_role,
        "at": event.at.isoformat(),
    }
