"""Identity review: undecided voice matches and attribution proposals, decided."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..security.roles import Actor, Permission
from ..store.audit import audit
from ..store.models import Segment


# -- identity review ------------------------------------------------------------------
@dataclass(frozen=True)
class VoiceProposal:
    """A voice match not yet decided, seen from one person: their call side, the other
    side whose voice scores close, and who (if anyone) that side is attributed to."""

    call_a: int
    party_a: str
    call_b: int
    party_b: str
    score: float
    other_person_id: int | None
    other_person: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def person_voice_proposals(
    session: Session, actor: Actor, person_id: int, *, min_score: float | None = None
) -> list[VoiceProposal]:
    """Undecided voice matches touching a call side attributed to `person_id`, best first
    (the same candidates as `earshot voices`, before anyone confirmed or rejected them)."""
    from ..identity.voice_links import DEFAULT_MIN_SCORE, voice_matches
    from ..store.models import Party, Person

    actor.require(Permission.READ, what="read voice matches")
    sides = {
        (p.call_id, p.label): p
        for p in session.scalars(select(Party).where(Party.person_id == person_id))
    }
    if not sides:
        return []
    out = []
    for m in voice_matches(session, min_score=min_score or DEFAULT_MIN_SCORE):
        if m.status is not None:
            continue
        a, b = (m.call_a, m.party_a), (m.call_b, m.party_b)
        if a not in sides and b not in sides:
            continue
        mine, other = (a, b) if a in sides else (b, a)
        party = session.scalars(
            select(Party).where(Party.call_id == other[0], Party.label == other[1])
        ).first()
        if party is not None and party.person_id == person_id:
            continue  # both sides already this person: nothing to decide
        who = session.get(Person, party.person_id) if party and party.person_id else None
        out.append(
            VoiceProposal(
                mine[0],
                mine[1],
                other[0],
                other[1],
                round(m.score, 4),
                who.id if who else None,
                who.name if who else None,
            )
        )
    return out


@dataclass(frozen=True)
class AttributionDecision:
    link_id: int
    status: str
    party_id: int
    person_id: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide_attribution(
    session: Session, actor: Actor, link_id: int, *, accept: bool, note: str | None = None
) -> AttributionDecision:
    """Accept (the side is this person from now on) or reject an attribution proposal,
    such as a self-identification ("Это Рома"); audited as `attribute`."""
    from ..identity.links import decide_proposal

    actor.require(Permission.VERIFY, what="decide who is speaking in a call")
    decided = decide_proposal(session, actor, link_id, accept=accept, note=note)
    audit(
        session,
        user=actor.name,
        action="attribute",
        object_type="attribution",
        object_id=str(link_id),
        detail={
            "accept": accept,
            "party_id": decided.party_id,
            "person_id": decided.person_id,
            "role": actor.role.value,
        },
    )
    return AttributionDecision(decided.link_id, decided.status, decided.party_id, decided.person_id)


@dataclass(frozen=True)
class CallSideProposal:
    """An open proposal about one side of a call: a person named by a self-identification
    (`link_id`), or a voice close to another call's side (`other_call`, `other_party`)."""

    party: str
    kind: str  # "self_identification" | "voice_match" | another attribution basis
    person_id: int | None
    person: str | None
    score: float | None
    link_id: int | None = None
    other_call: int | None = None
    other_party: str | None = None
    said: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def call_proposals(session: Session, actor: Actor, call_id: int) -> list[CallSideProposal]:
    """Open attribution proposals and undecided voice matches for the call's two sides."""
    from ..identity.links import pending_proposals
    from ..identity.voice_links import voice_matches
    from ..store.models import Party, Person

    actor.require(Permission.READ, what="read identity proposals")
    parties = {p.id: p for p in session.scalars(select(Party).where(Party.call_id == call_id))}
    out: list[CallSideProposal] = []
    for link in pending_proposals(session):
        party = parties.get(link.party_id)
        if party is None:
            continue
        person = session.get(Person, link.person_id)
        segment = session.get(Segment, link.segment_id) if link.segment_id else None
        out.append(
            CallSideProposal(
                party.label,
                str(link.basis),
                link.person_id,
                person.name if person else None,
                link.score,
                link_id=link.id,
                said=segment.text if segment else None,
            )
        )
    for m in voice_matches(session):
        if m.status is not None or call_id not in (m.call_a, m.call_b):
            continue
        mine, other = (
            ((m.call_a, m.party_a), (m.call_b, m.party_b))
            if m.call_a == call_id
            else ((m.call_b, m.party_b), (m.call_a, m.party_a))
        )
        side = session.scalars(
            select(Party).where(Party.call_id == other[0], Party.label == other[1])
        ).first()
        who = session.get(Person, side.person_id) if side and side.person_id else None
        out.append(
            CallSideProposal(
                mine[1],
                "voice_match",
                who.id if who else None,
                who.name if who else None,
                round(m.score, 4),
                other_call=other[0],
                other_party=other[1],
            )
        )
    return out
