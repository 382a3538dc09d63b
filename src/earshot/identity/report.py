"""Everything known about a person, for `earshot person show` and the web's person page."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.identity_models import PartyPersonLink, PersonMerge, PersonSplit
from ..store.models import Call, Party, Person, PersonPhone, Phone, Segment
from ..vocab import VerificationStatus
from .evidence import evidence_dict, list_evidence
from .links import basis_token, current_link, refresh_phone_periods, sync_call_record_links
from .persons import person_dict
from .phones import refresh_phone_info
from .verification import current_status, event_dict, status_history
from .voice import VoiceOutcome, apply_voice_matches, load_voice_matches

__all__ = [
    "PersonReport",
    "bring_up_to_date",
    "list_persons",
    "person_report",
    "person_report_by_id",
]


@dataclass(frozen=True)
class PersonReport:
    """Everything known about a person: `earshot person show --json`, the web's person
    page and ``GET /api/cases/{case}/persons/{id}`` are this record's ``as_dict()``.

    ``calls`` holds one entry per call side attributed to the person, with the basis
    (an :class:`~earshot.vocab.AttributionBasis`) and the current attribution link;
    ``link_history`` every attribution ever made or proposed for them.
    """

    id: int
    name: str
    aliases: list[str]
    role: str | None
    affiliation: str | None
    home_region: str | None
    notes: str | None
    protected: bool
    merged_into: int | None
    created_at: str | None
    status: VerificationStatus
    status_history: list[dict[str, Any]] = field(default_factory=list)
    phones: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    voice_matches: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    link_history: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    splits: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bring_up_to_date(session: Session) -> VoiceOutcome:
    """Record call-record attributions, apply confirmed voice matches, derive periods."""
    sync_call_record_links(session)
    outcome = apply_voice_matches(session)
    refresh_phone_periods(session)
    return outcome


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _link_dict(session: Session, link: PartyPersonLink | None) -> dict[str, Any] | None:
    if link is None:
        return None
    segment = session.get(Segment, link.segment_id) if link.segment_id else None
    return {
        "link_id": link.id,
        "basis": link.basis,
        "status": link.status,
        "score": link.score,
        "actor": link.actor,
        "at": _iso(link.at),
        "decided_by": link.decided_by,
        "note": link.note,
        "segment": (
            {"id": segment.id, "idx": segment.idx, "start": segment.start, "text": segment.text}
            if segment
            else None
        ),
    }


def _side(session: Session, party: Party | None) -> dict[str, Any] | None:
    if party is None:
        return None
    phone = session.get(Phone, party.phone_id) if party.phone_id else None
    person = session.get(Person, party.person_id) if party.person_id else None
    return {
        "party": party.label,
        "phone": phone.e164 if phone else None,
        "person_id": person.id if person else None,
        "person": person.name if person else None,
        "basis": basis_token(party.person_basis),
    }


def person_report(session: Session, person: Person) -> PersonReport:
    """The person, calls (date, side, other side, basis), phones, voice matches,
    evidence, proposals, status history, merges and splits."""
    data = person_dict(person)
    data["status"] = current_status(session, person_id=person.id)
    data["status_history"] = [event_dict(e) for e in status_history(session, person_id=person.id)]
    phones = session.execute(
        select(PersonPhone, Phone)
        .join(Phone, Phone.id == PersonPhone.phone_id)
        .where(PersonPhone.person_id == person.id)
        .order_by(PersonPhone.period_from.is_(None), PersonPhone.period_from, Phone.e164)
    ).all()
    data["phones"] = []
    for link, phone in phones:
        refresh_phone_info(phone)
        data["phones"].append(
            {
                "phone_id": phone.id,
                "e164": phone.e164,
                "type": phone.number_type,
                "region": phone.region,
                "carrier": phone.carrier,
                "location": phone.location,
                "source": link.source,
                "from": _iso(link.period_from),
                "to": _iso(link.period_to),
                "note": link.note,
            }
        )
    parties = session.execute(
        select(Party, Call)
        .join(Call, Call.id == Party.call_id)
        .where(Party.person_id == person.id)
        .order_by(Call.started_at.is_(None), Call.started_at, Call.id, Party.label)
    ).all()
    data["calls"] = []
    sides: set[tuple[int, str]] = set()
    for party, call in parties:
        sides.add((call.id, party.label))
        other = next((p for p in call.parties if p.id != party.id), None)
        side_phone = session.get(Phone, party.phone_id) if party.phone_id else None
        data["calls"].append(
            {
                "call_id": call.id,
                "file": call.source_file,
                "started_at": _iso(call.started_at),
                "party": party.label,
                "role": party.role,
                "phone": side_phone.e164 if side_phone else None,
                "basis": basis_token(party.person_basis),
                "attribution": _link_dict(session, current_link(session, party.id)),
                "status": current_status(session, party_id=party.id),
                "other": _side(session, other),
            }
        )
    data["voice_matches"] = [
        {
            "id": m.id,
            "call_a": m.call_a,
            "party_a": m.party_a,
            "call_b": m.call_b,
            "party_b": m.party_b,
            "score": m.score,
            "status": m.status,
            "decided_by": m.decided_by,
        }
        for m in load_voice_matches(session)
        if (m.call_a, m.party_a) in sides or (m.call_b, m.party_b) in sides
    ]
    data["evidence"] = [
        evidence_dict(e)
        for e in list_evidence(
            session,
            person_ids=[person.id],
            phone_ids=[row["phone_id"] for row in data["phones"]],
            call_ids=sorted({c for c, _ in sides}),
        )
    ]
    links = session.execute(
        select(PartyPersonLink, Party)
        .join(Party, Party.id == PartyPersonLink.party_id)
        .where(PartyPersonLink.person_id == person.id)
        .order_by(PartyPersonLink.id)
    ).all()
    data["proposals"] = [
        {"call_id": party.call_id, **(_link_dict(session, link) or {}), "party": party.label}
        for link, party in links
        if link.status == "proposed" and link.superseded_at is None
    ]
    data["link_history"] = [
        {
            "call_id": party.call_id,
            "party": party.label,
            **(_link_dict(session, link) or {}),
            "superseded_at": _iso(link.superseded_at),
        }
        for link, party in links
    ]
    data["merges"] = [
        {
            "id": m.id,
            "kept_id": m.kept_id,
            "merged_id": m.merged_id,
            "actor": m.actor,
            "at": _iso(m.at),
            "reason": m.reason,
            "reversed_at": _iso(m.reversed_at),
            "reversed_by": m.reversed_by,
        }
        for m in session.execute(
            select(PersonMerge)
            .where((PersonMerge.kept_id == person.id) | (PersonMerge.merged_id == person.id))
            .order_by(PersonMerge.id)
        ).scalars()
    ]
    data["splits"] = [
        {
            "id": s.id,
            "from_id": s.from_id,
            "new_id": s.new_id,
            "actor": s.actor,
            "at": _iso(s.at),
            "reason": s.reason,
            "parties": s.moved.get("parties", []),
        }
        for s in session.execute(
            select(PersonSplit)
            .where((PersonSplit.from_id == person.id) | (PersonSplit.new_id == person.id))
            .order_by(PersonSplit.id)
        ).scalars()
    ]
    return PersonReport(**data)


def list_persons(session: Session, *, include_merged: bool = False) -> list[dict[str, Any]]:
    """Each person with status, phones, the number of call sides attributed, of distinct
    calls (`calls`) and the sides' roles (`side_roles`: caller/callee counts)."""
    query = select(Person).order_by(Person.name_key, Person.id)
    if not include_merged:
        query = query.where(Person.merged_into.is_(None))
    out = []
    for person in session.execute(query).scalars():
        data = person_dict(person)
        data["status"] = current_status(session, person_id=person.id)
        data["phones"] = list(
            session.execute(
                select(Phone.e164)
                .join(PersonPhone, PersonPhone.phone_id == Phone.id)
                .where(PersonPhone.person_id == person.id)
                .order_by(Phone.e164)
            ).scalars()
        )
        sides = session.execute(
            select(Party.call_id, Party.role).where(Party.person_id == person.id)
        ).all()
        data["call_sides"] = len(sides)
        data["calls"] = len({call_id for call_id, _role in sides})
        roles: dict[str, int] = {}
        for _call_id, role in sides:
            roles[str(role)] = roles.get(str(role), 0) + 1
        data["side_roles"] = dict(sorted(roles.items()))
        out.append(data)
    return out


def person_report_by_id(session: Session, person_id: int) -> PersonReport | None:
    """The report of person `person_id`, attributions brought up to date first, as
    `earshot person show` gives it (None: no such person)."""
    person = session.get(Person, person_id)
    if person is None:
        return None
    bring_up_to_date(session)
    return person_report(session, person)
