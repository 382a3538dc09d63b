"""Who a published call side is: the library's current attribution, and nothing more.

Every publication (exports in every format, quote sheets, dossiers, clips, FtM)
names a call side from one place, here, so no writer can guess an identity the
editors never made. A side is named by its person's pseudonym only when the side
has a current attribution (``parties.person_id``, the one the workbench and
``earshot calls --json`` show, with its basis from
:func:`earshot.identity.current_link`); otherwise it is "Unknown speaker N",
numbered per call. A phone's owner is never taken for the speaker: optionally
(``phone_groups``) an unknown side says whose number it is, marked as such.

A side with only a *proposed* attribution (self-identification or voice, not
yet decided) makes a publication refuse, unless the operator asks to publish it
as proposed (``allow_proposed``, audited): then it reads "Soldier 1 (proposed)".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.identity.links import basis_token
from earshot.store.batches import batched
from earshot.store.identity_models import PartyPersonLink, VerificationEvent
from earshot.store.models import Party, PersonPhone

from ..errors import ProposedAttributionError

__all__ = [
    "AttributionState",
    "ProposedAttributionError",
    "SideAttribution",
    "SideName",
    "attribution_report",
    "call_side_attributions",
    "check_proposed",
    "side_names",
]

UNKNOWN = "Unknown speaker"


class AttributionState(StrEnum):
    """How a side is known: attributed (current), only proposed, or not at all."""

    CURRENT = "current"
    PROPOSED = "proposed"
    NONE = "none"


@dataclass(frozen=True)
class SideAttribution:
    """One call side as the library attributes it now."""

    call_id: int
    label: str
    party_id: int
    phone_id: int | None
    person_id: int | None  # the current attribution
    basis: str | None  # its basis token (call_record, voice_match, ...)
    side_status: str  # verification status of this side
    person_status: str | None  # verification status of the person
    proposed_person_id: int | None  # an open proposal, when the side has no attribution
    proposed_basis: str | None

    @property
    def state(self) -> AttributionState:
        if self.person_id is not None:
            return AttributionState.CURRENT
        if self.proposed_person_id is not None:
            return AttributionState.PROPOSED
        return AttributionState.NONE


@dataclass(frozen=True)
class SideName:
    """How a side is published, and on what it rests."""

    name: str  # "Soldier 1", "Unknown speaker 2", "Soldier 1 (proposed)"
    state: AttributionState
    person_id: int | None  # the person named (current or, when allowed, proposed)
    phone_of: str | None = None  # "Soldier 2": whose number an unknown side calls from


_CHUNK = 500


def _latest(
    session: Session, model: Any, column: Any, ids: Sequence[int], *where: Any
) -> dict[int, Any]:
    """`column` value -> the row with the highest id among `model` rows for `ids`."""
    out: dict[int, Any] = {}
    for chunk in batched(sorted(set(ids)), _CHUNK):
        rows = session.scalars(select(model).where(column.in_(chunk), *where).order_by(model.id))
        for row in rows:
            out[getattr(row, column.key)] = row
    return out


def call_side_attributions(
    session: Session, call_ids: Sequence[int] | None = None
) -> dict[tuple[int, str], SideAttribution]:
    """(call id, side label) -> the side's current attribution, for `call_ids` (default all).

    The same reading as :func:`earshot.identity.current_link` and
    :func:`earshot.identity.current_status` (the latest accepted, not superseded link; the
    latest verification event), done in a few queries for the whole publication.
    """
    query = select(Party).order_by(Party.call_id, Party.label)
    if call_ids is not None:
        query = query.where(Party.call_id.in_(list(call_ids)))
    parties = list(session.scalars(query))
    ids = [p.id for p in parties]
    accepted = _latest(
        session,
        PartyPersonLink,
        PartyPersonLink.party_id,
        ids,
        PartyPersonLink.status == "accepted",
        PartyPersonLink.superseded_at.is_(None),
    )
    proposals: dict[int, PartyPersonLink] = {}
    for chunk in batched(sorted(set(ids)), _CHUNK):
        rows = session.scalars(
            select(PartyPersonLink)
            .where(
                PartyPersonLink.party_id.in_(chunk),
                PartyPersonLink.status == "proposed",
                PartyPersonLink.superseded_at.is_(None),
            )
            .order_by(PartyPersonLink.id)
        )
        for link in rows:
            proposals.setdefault(link.party_id, link)
    side_events = _latest(session, VerificationEvent, VerificationEvent.party_id, ids)
    person_ids = [p.person_id for p in parties if p.person_id is not None]
    person_events = _latest(session, VerificationEvent, VerificationEvent.person_id, person_ids)
    out: dict[tuple[int, str], SideAttribution] = {}
    for party in parties:
        person_id = party.person_id
        basis = basis_token(party.person_basis)
        current = accepted.get(party.id)
        if person_id is not None and current is not None and current.person_id == person_id:
            basis = current.basis
        proposal = proposals.get(party.id) if person_id is None else None
        side_event = side_events.get(party.id)
        person_event = person_events.get(person_id) if person_id is not None else None
        out[(party.call_id, party.label)] = SideAttribution(
            call_id=party.call_id,
            label=party.label,
            party_id=party.id,
            phone_id=party.phone_id,
            person_id=person_id,
            basis=(basis or "call_record") if person_id is not None else None,
            side_status=side_event.status if side_event else "unverified",
            person_status=(
                (person_event.status if person_event else "unverified")
                if person_id is not None
                else None
            ),
            proposed_person_id=proposal.person_id if proposal else None,
            proposed_basis=proposal.basis if proposal else None,
        )
    return out


def check_proposed(
    attributions: Mapping[tuple[int, str], SideAttribution], *, allow_proposed: bool
) -> list[SideAttribution]:
    """The sides with only a proposed attribution; refuse them unless `allow_proposed`."""
    proposed = [a for a in attributions.values() if a.state is AttributionState.PROPOSED]
    if proposed and not allow_proposed:
        where = ", ".join(
            f"call {a.call_id} side {a.label} ({a.proposed_basis})" for a in proposed[:5]
        )
        more = f" and {len(proposed) - 5} more" if len(proposed) > 5 else ""
        raise ProposedAttributionError(
            f"{len(proposed)} call side(s) have only a proposed attribution: {where}{more}. "
            "Decide them first (`earshot person proposals CASE`), or publish them as "
            "proposed with --allow-proposed (audited)"
        )
    return proposed


def _phone_owners(session: Session) -> dict[int, set[int]]:
    owners: dict[int, set[int]] = defaultdict(set)
    for phone_id, person_id in session.execute(select(PersonPhone.phone_id, PersonPhone.person_id)):
        owners[phone_id].add(person_id)
    return owners


def side_names(
    session: Session,
    attributions: Mapping[tuple[int, str], SideAttribution],
    names: Mapping[int, str],
    *,
    allow_proposed: bool = False,
    phone_groups: bool = False,
) -> dict[tuple[int, str], SideName]:
    """How each side is published; `names`: person id -> published name (pseudonym).

    Unknown sides are numbered per call in side order ("Unknown speaker 1" is the
    first unknown side of that call). With `phone_groups`, an unknown side whose
    phone belongs to persons with a published name says so ("on the number of
    Soldier 2"): that is a fact about the phone, never an attribution.
    """
    check_proposed(attributions, allow_proposed=allow_proposed)
    owners = _phone_owners(session) if phone_groups else {}
    unknown_count: dict[int, int] = defaultdict(int)
    out: dict[tuple[int, str], SideName] = {}
    for key in sorted(attributions):
        side = attributions[key]
        if side.person_id is not None and side.person_id in names:
            out[key] = SideName(names[side.person_id], AttributionState.CURRENT, side.person_id)
            continue
        if (
            side.state is AttributionState.PROPOSED
            and side.proposed_person_id is not None
            and side.proposed_person_id in names
        ):
            out[key] = SideName(
                f"{names[side.proposed_person_id]} (proposed)",
                AttributionState.PROPOSED,
                side.proposed_person_id,
            )
            continue
        unknown_count[side.call_id] += 1
        name = f"{UNKNOWN} {unknown_count[side.call_id]}"
        phone_of = None
        if side.phone_id is not None and owners.get(side.phone_id):
            published = sorted({names[p] for p in owners[side.phone_id] if p in names})
            if published and len(published) == len(owners[side.phone_id]):
                phone_of = " and ".join(published)
                name += f" (on the number of {phone_of})"
        out[key] = SideName(name, AttributionState.NONE, None, phone_of)
    return out


def attribution_report(
    attributions: Mapping[tuple[int, str], SideAttribution],
    published: Mapping[tuple[int, str], SideName],
) -> list[dict[str, Any]]:
    """Every attribution a publication relies on: side, published name, basis, status.

    Unknown sides are listed too (as relying on nothing), so the report accounts for
    every side published.
    """
    rows: list[dict[str, Any]] = []
    for key in sorted(published):
        side, name = attributions[key], published[key]
        rows.append(
            {
                "call": side.call_id,
                "side": side.label,
                "published_as": name.name,
                "state": str(name.state),
                "basis": (
                    side.basis
                    if name.state is AttributionState.CURRENT
                    else side.proposed_basis
                    if name.state is AttributionState.PROPOSED
                    else None
                ),
                "side_verification": side.side_status,
                "person_verification": side.person_status,
                "phone_of": name.phone_of,
            }
        )
    return rows
