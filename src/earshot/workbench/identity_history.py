"""The whole record of who a person is and who speaks on a call side, and the persons
list with counts: read for the person page, the call page and the persons page.

The history is one time line: every attribution made or proposed (accepted,
rejected, superseded or withdrawn, with its basis), every verification decision with
the evidence it cites, evidence added, voice-match decisions, merges and splits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..identity import bring_up_to_date, find_person, list_persons
from ..identity.verification import status_history
from ..security.roles import Actor, Permission
from ..store.identity_models import Evidence, PartyPersonLink, PersonMerge, PersonSplit
from ..store.models import Party, Person, Segment
from ..store.speech_models import VoiceLink
from .attribution import _side

__all__ = [
    "PERSON_SORTS",
    "HistoryEntry",
    "PersonRow",
    "call_side_histories",
    "person_history",
    "persons_overview",
    "side_history",
]


@dataclass(frozen=True)
class HistoryEntry:
    """One event: what (`kind`, `status`), who, when, on which basis and evidence."""

    at: str | None
    kind: str  # attribution | verification | evidence | voice_match | merge | split
    actor: str | None
    status: str | None = None
    basis: str | None = None
    call_id: int | None = None
    party: str | None = None
    person_id: int | None = None
    person: str | None = None
    evidence_ids: list[int] = field(default_factory=list)
    note: str | None = None
    superseded_at: str | None = None
    said: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _name(session: Session, person_id: int | None) -> str | None:
    person = session.get(Person, person_id) if person_id else None
    return person.name if person else None


def _links(session: Session, links: list[PartyPersonLink]) -> list[HistoryEntry]:
    out = []
    for link in links:
        party = session.get(Party, link.party_id)
        segment = session.get(Segment, link.segment_id) if link.segment_id else None
        out.append(
            HistoryEntry(
                at=_iso(link.decided_at or link.at),
                kind="attribution",
                actor=link.decided_by or link.actor,
                status=str(link.status),
                basis=str(link.basis),
                call_id=party.call_id if party else None,
                party=party.label if party else None,
                person_id=link.person_id,
                person=_name(session, link.person_id),
                note=link.note,
                superseded_at=_iso(link.superseded_at),
                said=segment.text if segment else None,
            )
        )
    return out


def _verifications(session: Session, **subject: int) -> list[HistoryEntry]:
    return [
        HistoryEntry(
            at=_iso(event.at),
            kind="verification",
            actor=f"{event.actor} ({event.actor_role})",
            status=event.status,
            person_id=event.person_id,
            evidence_ids=[int(i) for i in event.evidence_ids],
            note=event.reason,
        )
        for event in status_history(session, **subject)
    ]


def _voice(session: Session, sides: set[tuple[int, str]]) -> list[HistoryEntry]:
    out = []
    for link in session.scalars(select(VoiceLink).order_by(VoiceLink.id)):
        a, b = (link.call_a, link.party_a), (link.call_b, link.party_b)
        if link.decided_by is None or (a not in sides and b not in sides):
            continue
        other = b if a in sides else a
        out.append(
            HistoryEntry(
                at=_iso(link.decided_at),
                kind="voice_match",
                actor=link.decided_by,
                status=link.status,
                call_id=other[0],
                party=other[1],
                note=link.note,
            )
        )
    return out


def _ordered(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    return sorted(entries, key=lambda e: e.at or "")


def person_history(session: Session, actor: Actor, person_id: int) -> list[HistoryEntry]:
    """Every attribution, verification, evidence, voice decision, merge and split of
    the person, oldest first (proposals rejected or superseded included)."""
    actor.require(Permission.READ, what="read a person's history")
    bring_up_to_date(session)
    person = find_person(session, person_id)
    links = list(
        session.scalars(
            select(PartyPersonLink)
            .where(PartyPersonLink.person_id == person.id)
            .order_by(PartyPersonLink.id)
        )
    )
    sides = {(p.call_id, p.label) for p in person_sides(session, person.id)}
    out = _links(session, links) + _verifications(session, person_id=person.id)
    out += _voice(session, sides)
    for item in session.scalars(
        select(Evidence).where(Evidence.person_id == person.id).order_by(Evidence.id)
    ):
        out.append(
            HistoryEntry(
                at=_iso(item.added_at),
                kind="evidence",
                actor=item.added_by,
                status=item.kind,
                evidence_ids=[item.id],
                note=item.summary,
            )
        )
    for m in session.scalars(
        select(PersonMerge).where(
            (PersonMerge.kept_id == person.id) | (PersonMerge.merged_id == person.id)
        )
    ):
        other = m.merged_id if m.kept_id == person.id else m.kept_id
        what = "merged in" if m.kept_id == person.id else "merged into"
        out.append(
            HistoryEntry(
                at=_iso(m.at),
                kind="merge",
                actor=m.actor,
                status=what,
                person_id=other,
                person=_name(session, other),
                note=m.reason,
            )
        )
        if m.reversed_at is not None:
            out.append(
                HistoryEntry(
                    at=_iso(m.reversed_at),
                    kind="merge",
                    actor=m.reversed_by,
                    status="merge undone",
                    person_id=other,
                    person=_name(session, other),
                )
            )
    for s in session.scalars(
        select(PersonSplit).where(
            (PersonSplit.from_id == person.id) | (PersonSplit.new_id == person.id)
        )
    ):
        other = s.new_id if s.from_id == person.id else s.from_id
        what = "split off to" if s.from_id == person.id else "split from"
        out.append(
            HistoryEntry(
                at=_iso(s.at),
                kind="split",
                actor=s.actor,
                status=what,
                person_id=other,
                person=_name(session, other),
                note=s.reason,
            )
        )
    return _ordered(out)


def person_sides(session: Session, person_id: int) -> list[Party]:
    return list(session.scalars(select(Party).where(Party.person_id == person_id)))


def side_history(
    session: Session, actor: Actor, call_id: int, party: str, *, refresh: bool = True
) -> list[HistoryEntry]:
    """Every attribution of one call side (to whomever), its verification decisions
    and the voice-match decisions that involve it, oldest first. `refresh=False` when
    the attributions were just brought up to date (:func:`call_side_histories`)."""
    actor.require(Permission.READ, what="read a call side's history")
    if refresh:
        bring_up_to_date(session)
    side = _side(session, call_id, party)
    links = list(
        session.scalars(
            select(PartyPersonLink)
            .where(PartyPersonLink.party_id == side.id)
            .order_by(PartyPersonLink.id)
        )
    )
    out = _links(session, links) + _verifications(session, party_id=side.id)
    out += _voice(session, {(side.call_id, side.label)})
    return _ordered(out)


def call_side_histories(
    session: Session, actor: Actor, call_id: int
) -> dict[str, list[HistoryEntry]]:
    """The history of each side of a call, by side label (the call page's block)."""
    actor.require(Permission.READ, what="read a call side's history")
    bring_up_to_date(session)
    labels = session.scalars(
        select(Party.label).where(Party.call_id == call_id).order_by(Party.label)
    ).all()
    return {label: side_history(session, actor, call_id, label, refresh=False) for label in labels}


@dataclass(frozen=True)
class PersonRow:
    """A line of the persons list: who, how often heard, in which roles, how verified."""

    id: int
    name: str
    aliases: list[str]
    role: str | None
    status: str
    phones: list[str]
    calls: int
    call_sides: int
    side_roles: dict[str, int]
    merged_into: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PERSON_SORTS = ("name", "role", "calls", "sides", "status")


def persons_overview(
    session: Session,
    actor: Actor,
    *,
    sort: str = "name",
    descending: bool = False,
    include_merged: bool = False,
) -> list[PersonRow]:
    """The persons list with the number of calls and call sides each is heard on, the
    sides' roles (caller, callee) and the person's own role (soldier, relative, ...),
    sorted by one of :data:`PERSON_SORTS`."""
    actor.require(Permission.READ, what="read the persons list")
    if sort not in PERSON_SORTS:
        from ..identity.errors import IdentityError

        raise IdentityError(f"unknown sort {sort!r}; use one of {', '.join(PERSON_SORTS)}")
    bring_up_to_date(session)
    rows = [
        PersonRow(
            id=p["id"],
            name=p["name"],
            aliases=p["aliases"],
            role=p["role"],
            status=str(p["status"]),
            phones=p["phones"],
            calls=p["calls"],
            call_sides=p["call_sides"],
            side_roles=p["side_roles"],
            merged_into=p["merged_into"],
        )
        for p in list_persons(session, include_merged=include_merged)
    ]
    keys = {
        "name": lambda r: (r.name.casefold(), r.id),
        "role": lambda r: (r.role or "", r.name.casefold()),
        "calls": lambda r: (r.calls, r.call_sides),
        "sides": lambda r: (r.call_sides, r.calls),
        "status": lambda r: (r.status, r.name.casefold()),
    }
    return sorted(rows, key=keys[sort], reverse=descending)
