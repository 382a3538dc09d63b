"""Who is on each side of a call: current attribution, history and proposals.

``parties.person_id`` holds the current attribution (every layer reads it there) and
``party_person_links`` every attribution ever made or proposed, with its basis:

* ``call_record``: the call records named the person (written by ingest);
* ``voice_match``: an editor confirmed this side's voice matches an attributed side;
* ``self_identification``: the speaker names himself in the call ("Это Андрей");
* ``editor``: an editor decided, on evidence.

Ingest writes only ``parties``; :func:`sync_call_record_links` brings the history
in line before anything here reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store.custody import append_custody
from ..store.identity_models import PartyPersonLink
from ..store.models import Call, Party, Person, PersonPhone, utcnow
from ..vocab import AttributionBasis, LinkStatus, VoiceLinkStatus
from .actor import EDITOR_ROLES, Actor, require_role
from .errors import IdentityError, IdentityNotFoundError

__all__ = [
    "BASES",
    "PartyLinkDecision",
    "basis_label",
    "basis_token",
    "current_link",
    "decide_proposal",
    "link_party",
    "pending_proposals",
    "propose_link",
    "refresh_phone_periods",
    "set_party_person",
    "sync_call_record_links",
    "unlink_party",
]

BASES = tuple(AttributionBasis)
# PersonPhone.source for a phone learned from an attribution.
_PHONE_SOURCE = {
    AttributionBasis.CALL_RECORD: "call record",
    AttributionBasis.VOICE_MATCH: "voice match",
    AttributionBasis.SELF_IDENTIFICATION: "self-identification",
    AttributionBasis.EDITOR: "editor",
}
SYSTEM_ACTOR = "call records"


def basis_token(value: str | None) -> AttributionBasis | None:
    """The basis of a `parties.person_basis` value (None: not attributed).

    One spelling only (migration 0301 rewrote the old "call record" / "voice match");
    anything else is refused rather than read as some other basis.
    """
    if value is None:
        return None
    try:
        return AttributionBasis(value)
    except ValueError:
        raise IdentityError(
            f"unknown attribution basis {value!r} on a call side; run `earshot case upgrade` "
            "(migration 0301 rewrites old spellings) or relink the side"
        ) from None


def basis_label(token: str) -> str:
    """How `parties.person_basis` stores a basis: the token itself."""
    return AttributionBasis(token).value


def _check_basis(basis: str) -> AttributionBasis:
    try:
        return AttributionBasis(basis)
    except ValueError:
        raise IdentityError(f"unknown basis {basis!r}; use one of {', '.join(BASES)}") from None


def current_link(session: Session, party_id: int) -> PartyPersonLink | None:
    """The accepted, not superseded attribution of a party (the latest if several)."""
    return session.execute(
        select(PartyPersonLink)
        .where(
            PartyPersonLink.party_id == party_id,
            PartyPersonLink.status == LinkStatus.ACCEPTED,
            PartyPersonLink.superseded_at.is_(None),
        )
        .order_by(PartyPersonLink.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _ensure_person_phone(session: Session, person_id: int, party: Party, basis: str) -> None:
    if party.phone_id is None:
        return
    exists = session.execute(
        select(PersonPhone.id).where(
            PersonPhone.person_id == person_id, PersonPhone.phone_id == party.phone_id
        )
    ).scalar_one_or_none()
    if exists is None:
        session.add(
            PersonPhone(
                person_id=person_id,
                phone_id=party.phone_id,
                source=_PHONE_SOURCE[AttributionBasis(basis)],
            )
        )
        session.flush()


def set_party_person(
    session: Session,
    party: Party,
    person_id: int,
    *,
    basis: str,
    actor: str,
    segment_id: int | None = None,
    score: float | None = None,
    note: str | None = None,
    custody: bool = True,
) -> PartyPersonLink:
    """Make `person_id` the current attribution of `party` (no role check: callers do it)."""
    basis = _check_basis(basis)
    now = utcnow()
    previous = current_link(session, party.id)
    if previous is not None:
        previous.superseded_at = now
    link = PartyPersonLink(
        party_id=party.id,
        person_id=person_id,
        basis=basis,
        segment_id=segment_id,
        score=score,
        status=LinkStatus.ACCEPTED,
        actor=actor,
        at=now,
        note=note,
        decided_by=actor,
        decided_at=now,
    )
    session.add(link)
    party.person_id = person_id
    party.person_basis = basis_label(basis)
    session.flush()
    _ensure_person_phone(session, person_id, party, basis)
    if custody:
        call = session.get(Call, party.call_id)
        append_custody(
            session,
            operator=actor,
            action="party-linked",
            sha256=call.sha256 if call else None,
            detail={
                "call_id": party.call_id,
                "party": party.label,
                "person_id": person_id,
                "basis": basis,
                "link_id": link.id,
                "previous_person_id": previous.person_id if previous else None,
                "note": note,
            },
        )
    return link


def sync_call_record_links(session: Session) -> int:
    """Record in the history the attributions ingest wrote on parties; returns how many.

    Also closes the history's current link of a party whose attribution was changed
    or cleared outside this module (a corrected call-records CSV).
    """
    currents = {
        link.party_id: link
        for link in session.execute(
            select(PartyPersonLink)
            .where(
                PartyPersonLink.status == LinkStatus.ACCEPTED,
                PartyPersonLink.superseded_at.is_(None),
            )
            .order_by(PartyPersonLink.id)
        ).scalars()
    }
    changed = 0
    now = utcnow()
    parties = session.execute(
        select(Party).where(Party.person_id.is_not(None) | Party.id.in_(list(currents)))
    ).scalars()
    for party in parties:
        link = currents.get(party.id)
        if link is not None and link.person_id == party.person_id:
            continue
        if link is not None:
            link.superseded_at = now
        if party.person_id is not None:
            basis = basis_token(party.person_basis) or AttributionBasis.CALL_RECORD
            session.add(
                PartyPersonLink(
                    party_id=party.id,
                    person_id=party.person_id,
                    basis=basis,
                    status=LinkStatus.ACCEPTED,
                    actor=SYSTEM_ACTOR,
                    at=now,
                    note="from the call records",
                    decided_by=SYSTEM_ACTOR,
                    decided_at=now,
                )
            )
        changed += 1
    if changed:
        session.flush()
    return changed


def refresh_phone_periods(session: Session) -> None:
    """Derive each derived person-phone link's period from the dates of its calls."""
    rows = session.execute(
        select(
            Party.person_id,
            Party.phone_id,
            func.min(Call.started_at),
            func.max(Call.started_at),
        )
        .join(Call, Call.id == Party.call_id)
        .where(Party.person_id.is_not(None), Party.phone_id.is_not(None))
        .group_by(Party.person_id, Party.phone_id)
    ).all()
    spans: dict[tuple[int, int], tuple[datetime | None, datetime | None]] = {
        (person or 0, phone or 0): (first, last) for person, phone, first, last in rows
    }
    derived = set(_PHONE_SOURCE.values()) - {"editor"}
    for link in session.execute(select(PersonPhone)).scalars():
        if link.source not in derived:
            continue
        first, last = spans.get((link.person_id, link.phone_id), (None, None))
        if link.period_from != first or link.period_to != last:
            link.period_from, link.period_to = first, last


def propose_link(
    session: Session,
    party: Party,
    person_id: int,
    *,
    basis: str,
    actor: str,
    segment_id: int | None = None,
    score: float | None = None,
    note: str | None = None,
) -> tuple[PartyPersonLink, bool]:
    """Record a proposal (idempotent: the same proposal again returns the first one)."""
    basis = _check_basis(basis)
    existing = session.execute(
        select(PartyPersonLink)
        .where(
            PartyPersonLink.party_id == party.id,
            PartyPersonLink.person_id == person_id,
            PartyPersonLink.basis == basis,
            PartyPersonLink.segment_id.is_(None)
            if segment_id is None
            else PartyPersonLink.segment_id == segment_id,
        )
        .limit(1)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    link = PartyPersonLink(
        party_id=party.id,
        person_id=person_id,
        basis=basis,
        segment_id=segment_id,
        score=score,
        status=LinkStatus.PROPOSED,
        actor=actor,
        note=note,
    )
    session.add(link)
    session.flush()
    return link, True


def pending_proposals(session: Session, person_id: int | None = None) -> list[PartyPersonLink]:
    query = select(PartyPersonLink).where(
        PartyPersonLink.status == LinkStatus.PROPOSED, PartyPersonLink.superseded_at.is_(None)
    )
    if person_id is not None:
        query = query.where(PartyPersonLink.person_id == person_id)
    return list(session.execute(query.order_by(PartyPersonLink.id)).scalars())


@dataclass(frozen=True)
class PartyLinkDecision:
    link_id: int
    status: str
    party_id: int
    person_id: int


def decide_proposal(
    session: Session, actor: Actor, link_id: int, *, accept: bool, note: str | None = None
) -> PartyLinkDecision:
    """An editor accepts (it becomes the current attribution) or rejects a proposal."""
    require_role(actor, EDITOR_ROLES, "decide who is speaking in a call")
    link = session.get(PartyPersonLink, link_id)
    if link is None or link.status != LinkStatus.PROPOSED or link.superseded_at is not None:
        raise IdentityNotFoundError(
            f"no open proposal #{link_id}; see `earshot person proposals CASE`"
        )
    party = session.get(Party, link.party_id)
    person = session.get(Person, link.person_id)
    if party is None or person is None:
        raise IdentityNotFoundError(f"proposal #{link_id} points at a missing party or person")
    if person.merged_into is not None:
        raise IdentityError(
            f"proposal #{link_id} names person #{person.id}, merged into #{person.merged_into}; "
            "reject it and link the call side to that person"
        )
    now = utcnow()
    link.decided_by = actor.name
    link.decided_at = now
    if note:
        link.note = f"{link.note}; {note}" if link.note else note
    if accept:
        previous = current_link(session, party.id)
        if previous is not None:
            previous.superseded_at = now
        link.status = LinkStatus.ACCEPTED
        party.person_id = person.id
        party.person_basis = basis_label(link.basis)
        session.flush()
        _ensure_person_phone(session, person.id, party, link.basis)
    else:
        link.status = LinkStatus.REJECTED
    call = session.get(Call, party.call_id)
    append_custody(
        session,
        operator=actor.name,
        action="party-link-accepted" if accept else "party-link-rejected",
        sha256=call.sha256 if call else None,
        detail={
            "link_id": link.id,
            "call_id": party.call_id,
            "party": party.label,
            "person_id": person.id,
            "basis": link.basis,
            "role": actor.role,
            "note": note,
        },
    )
    return PartyLinkDecision(link.id, link.status, party.id, person.id)


def link_party(
    session: Session,
    actor: Actor,
    party: Party,
    person: Person,
    *,
    basis: str = AttributionBasis.EDITOR,
    note: str | None = None,
    segment_id: int | None = None,
) -> PartyPersonLink:
    """An editor attributes a call side to a person."""
    require_role(actor, EDITOR_ROLES, "decide who is speaking in a call")
    if person.merged_into is not None:
        raise IdentityError(
            f"person #{person.id} was merged into #{person.merged_into}; link to that person"
        )
    return set_party_person(
        session, party, person.id, basis=basis, actor=actor.name, note=note, segment_id=segment_id
    )


def _refuse_if_voice_confirmed(session: Session, party: Party) -> None:
    """A side confirmed the same voice as another would be linked again through that
    match the next time attributions are brought up to date: the match goes first."""
    from ..store.speech_models import VoiceLink

    this_a = (VoiceLink.call_a == party.call_id) & (VoiceLink.party_a == party.label)
    this_b = (VoiceLink.call_b == party.call_id) & (VoiceLink.party_b == party.label)
    match = session.scalars(
        select(VoiceLink)
        .where(VoiceLink.status == VoiceLinkStatus.CONFIRMED, this_a | this_b)
        .order_by(VoiceLink.id)
    ).first()
    if match is not None:
        a, b = f"{match.call_a}:{match.party_a}", f"{match.call_b}:{match.party_b}"
        raise IdentityError(
            f"call {party.call_id} side {party.label} is confirmed the same voice as "
            f"{b if a == f'{party.call_id}:{party.label}' else a} (voice match #{match.id}), "
            f"which would link it again; reject that voice match first "
            f"(`earshot voices CASE --reject {a} {b}`)"
        )


def unlink_party(session: Session, actor: Actor, party: Party, *, note: str | None = None) -> int:
    """An editor withdraws a call side's attribution: the side is nobody known again.

    Nothing is deleted: the current link is superseded, with who withdrew it and why
    in its note, so the history still shows who it was attributed to and on what
    basis; returns the person the side was attributed to.
    """
    require_role(actor, EDITOR_ROLES, "decide who is speaking in a call")
    if party.person_id is None:
        raise IdentityError(f"call {party.call_id} side {party.label} is linked to nobody")
    _refuse_if_voice_confirmed(session, party)
    person_id = party.person_id
    now = utcnow()
    withdrawn = f"unlinked by {actor.name}" + (f": {note}" if note else "")
    link = current_link(session, party.id)
    if link is not None:
        link.superseded_at = now
        link.note = f"{link.note}; {withdrawn}" if link.note else withdrawn
    party.person_id = None
    party.person_basis = None
    session.flush()
    call = session.get(Call, party.call_id)
    append_custody(
        session,
        operator=actor.name,
        action="party-unlinked",
        sha256=call.sha256 if call else None,
        detail={
            "call_id": party.call_id,
            "party": party.label,
            "person_id": person_id,
            "link_id": link.id if link else None,
            "role": actor.role,
            "note": note,
        },
    )
    return person_id
