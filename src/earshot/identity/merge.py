"""Merging two persons found to be one, and splitting them apart again.

Merging B into A moves every link of B to A (call sides, proposals, phones,
evidence, verification history, names as aliases) and marks B ``merged_into`` A;
the ``person_merges`` row lists exactly what moved, so a split puts back exactly
those links. Nothing is deleted: call-side attributions are superseded and
re-made, never rewritten, so the history shows both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.custody import append_custody
from ..store.identity_models import (
    Evidence,
    PartyPersonLink,
    PersonMerge,
    PersonSplit,
    VerificationEvent,
)
from ..store.models import Party, Person, PersonPhone, utcnow
from .actor import EDITOR_ROLES, Actor, require_role
from .errors import IdentityError, IdentityNotFoundError
from .links import basis_label, set_party_person
from .names import name_key

__all__ = ["merge_persons", "split_calls", "unmerge"]


def _copy_link(
    old: PartyPersonLink, person_id: int, actor: str, note: str, status: str | None = None
) -> PartyPersonLink:
    now = utcnow()
    return PartyPersonLink(
        party_id=old.party_id,
        person_id=person_id,
        basis=old.basis,
        segment_id=old.segment_id,
        score=old.score,
        status=status or old.status,
        actor=actor,
        at=now,
        note=note,
        decided_by=actor if (status or old.status) != "proposed" else None,
        decided_at=now if (status or old.status) != "proposed" else None,
    )


def _open_links(session: Session, person_id: int) -> list[PartyPersonLink]:
    """Current attributions and open proposals of a person."""
    return list(
        session.execute(
            select(PartyPersonLink)
            .where(
                PartyPersonLink.person_id == person_id,
                PartyPersonLink.status.in_(("accepted", "proposed")),
                PartyPersonLink.superseded_at.is_(None),
            )
            .order_by(PartyPersonLink.id)
        ).scalars()
    )


def _move_links(
    session: Session, links: list[PartyPersonLink], to: int, actor: str, note: str
) -> list[list[int]]:
    """Supersede each link with a copy for person `to`; returns [party, old, new] triples."""
    moved: list[list[int]] = []
    now = utcnow()
    for old in links:
        old.superseded_at = now
        new = _copy_link(old, to, actor, note)
        session.add(new)
        session.flush()
        if old.status == "accepted":
            party = session.get(Party, old.party_id)
            if party is not None:
                party.person_id = to
                party.person_basis = basis_label(old.basis)
        moved.append([old.party_id, old.id, new.id])
    return moved


def merge_persons(
    session: Session, actor: Actor, keep: Person, merged: Person, *, reason: str | None = None
) -> PersonMerge:
    """Merge `merged` into `keep`: every link moves, `merged` stays as a pointer."""
    require_role(actor, EDITOR_ROLES, "merge persons")
    if keep.id == merged.id:
        raise IdentityError(f"cannot merge person #{keep.id} into itself")
    for person in (keep, merged):
        if person.merged_into is not None:
            raise IdentityError(
                f"person #{person.id} was already merged into #{person.merged_into}; "
                "merge with that person instead"
            )
    record = PersonMerge(kept_id=keep.id, merged_id=merged.id, reason=reason, actor=actor.name)
    session.add(record)
    session.flush()
    note = f"merge #{record.id}: person #{merged.id} into #{keep.id}"
    moved: dict[str, Any] = {
        "party_links": _move_links(
            session, _open_links(session, merged.id), keep.id, actor.name, note
        )
    }
    kept_phones = {
        link.phone_id
        for link in session.execute(
            select(PersonPhone).where(PersonPhone.person_id == keep.id)
        ).scalars()
    }
    moved["person_phones"], moved["person_phones_left"] = [], []
    for link in session.execute(
        select(PersonPhone).where(PersonPhone.person_id == merged.id).order_by(PersonPhone.id)
    ).scalars():
        if link.phone_id in kept_phones:
            moved["person_phones_left"].append(link.id)  # the kept person has it already
        else:
            link.person_id = keep.id
            moved["person_phones"].append(link.id)
    moved["evidence"] = []
    for item in session.execute(select(Evidence).where(Evidence.person_id == merged.id)).scalars():
        item.person_id = keep.id
        moved["evidence"].append(item.id)
    moved["verification"] = []
    for event in session.execute(
        select(VerificationEvent).where(VerificationEvent.person_id == merged.id)
    ).scalars():
        event.person_id = keep.id
        moved["verification"].append(event.id)
    known = {name_key(a) for a in keep.aliases or []} | {keep.name_key}
    added: list[str] = []
    for alias in [merged.name, *(merged.aliases or [])]:
        if name_key(alias) not in known:
            known.add(name_key(alias))
            added.append(alias)
    keep.aliases = [*(keep.aliases or []), *added]
    moved["aliases_added"] = added
    merged.merged_into = keep.id
    record.moved = moved
    session.flush()
    append_custody(
        session,
        operator=actor.name,
        action="persons-merged",
        detail={
            "merge_id": record.id,
            "kept_id": keep.id,
            "merged_id": merged.id,
            "moved": moved,
            "reason": reason,
            "role": actor.role,
        },
    )
    return record


def _latest_merge(session: Session, person: Person, merge_id: int | None) -> PersonMerge:
    query = select(PersonMerge).where(PersonMerge.reversed_at.is_(None))
    if merge_id is not None:
        query = query.where(PersonMerge.id == merge_id)
    else:
        query = query.where(
            (PersonMerge.kept_id == person.id) | (PersonMerge.merged_id == person.id)
        )
    record = session.execute(query.order_by(PersonMerge.id.desc()).limit(1)).scalar_one_or_none()
    if record is None:
        raise IdentityNotFoundError(
            f"no merge of person #{person.id} to undo"
            + (f" with id #{merge_id}" if merge_id is not None else "")
            + "; to move some calls to a new person use `earshot person split --calls`"
        )
    return record


def unmerge(
    session: Session, actor: Actor, person: Person, *, merge_id: int | None = None
) -> PersonMerge:
    """Undo a recorded merge exactly: every moved link goes back to the merged person.

    Refuses when something moved has changed since (a call side re-attributed), so a
    split never silently overrides a later decision.
    """
    require_role(actor, EDITOR_ROLES, "split persons")
    record = _latest_merge(session, person, merge_id)
    later = session.execute(
        select(PersonMerge.id).where(
            PersonMerge.id > record.id,
            PersonMerge.reversed_at.is_(None),
            (PersonMerge.merged_id == record.kept_id) | (PersonMerge.kept_id == record.merged_id),
        )
    ).scalar()
    if later is not None:
        raise IdentityError(
            f"merge #{later} came after merge #{record.id} and involves the same persons; "
            f"split that one first"
        )
    keep = session.get(Person, record.kept_id)
    merged = session.get(Person, record.merged_id)
    if keep is None or merged is None:
        raise IdentityNotFoundError(f"merge #{record.id} points at a missing person")
    moved = record.moved
    triples = [tuple(t) for t in moved.get("party_links", [])]
    stale = []
    for party_id, _old_id, new_id in triples:
        new = session.get(PartyPersonLink, new_id)
        if new is None or new.superseded_at is not None or new.person_id != keep.id:
            stale.append(f"call side #{party_id} (link #{new_id})")
    if stale:
        raise IdentityError(
            f"cannot undo merge #{record.id}: changed since: {', '.join(stale)}; "
            "split the calls with `earshot person split --calls` instead"
        )
    note = f"split of merge #{record.id}: back to person #{merged.id}"
    now = utcnow()
    for party_id, old_id, new_id in triples:
        new = session.get(PartyPersonLink, new_id)
        old = session.get(PartyPersonLink, old_id)
        assert new is not None and old is not None
        new.superseded_at = now
        restored = _copy_link(old, merged.id, actor.name, f"{note} (as link #{old_id})")
        session.add(restored)
        if old.status == "accepted":
            party = session.get(Party, party_id)
            if party is not None:
                party.person_id = merged.id
                party.person_basis = basis_label(old.basis)
    for link_id in moved.get("person_phones", []):
        phone_link = session.get(PersonPhone, link_id)
        if phone_link is not None and phone_link.person_id == keep.id:
            phone_link.person_id = merged.id
    for item_id in moved.get("evidence", []):
        item = session.get(Evidence, item_id)
        if item is not None and item.person_id == keep.id:
            item.person_id = merged.id
    for event_id in moved.get("verification", []):
        event = session.get(VerificationEvent, event_id)
        if event is not None and event.person_id == keep.id:
            event.person_id = merged.id
    added = {name_key(a) for a in moved.get("aliases_added", [])}
    keep.aliases = [a for a in keep.aliases or [] if name_key(a) not in added]
    merged.merged_into = None
    record.reversed_at = now
    record.reversed_by = actor.name
    session.flush()
    append_custody(
        session,
        operator=actor.name,
        action="person-unmerged",
        detail={
            "merge_id": record.id,
            "kept_id": keep.id,
            "merged_id": merged.id,
            "role": actor.role,
        },
    )
    return record


def split_calls(
    session: Session,
    actor: Actor,
    person: Person,
    parties: Sequence[Party],
    *,
    new_name: str,
    reason: str | None = None,
) -> PersonSplit:
    """Some call sides of `person` are someone else: attribute them to a new person."""
    require_role(actor, EDITOR_ROLES, "split persons")
    from .persons import PersonDetails, add_person

    wrong = [p for p in parties if p.person_id != person.id]
    if wrong:
        sides = ", ".join(f"{p.call_id}:{p.label}" for p in wrong)
        raise IdentityError(f"call side(s) {sides} are not attributed to person #{person.id}")
    if not parties:
        raise IdentityError("name the call sides to move with --calls CALL:PARTY")
    new = add_person(
        session,
        actor,
        PersonDetails(
            name=new_name,
            role=person.role,
            affiliation=person.affiliation,
            home_region=person.home_region,
            protected=person.protected,
        ),
    )
    record = PersonSplit(from_id=person.id, new_id=new.id, reason=reason, actor=actor.name)
    session.add(record)
    session.flush()
    links = [
        set_party_person(
            session,
            party,
            new.id,
            basis="editor",
            actor=actor.name,
            note=f"split #{record.id} from person #{person.id}" + (f": {reason}" if reason else ""),
        ).id
        for party in parties
    ]
    record.moved = {"parties": [p.id for p in parties], "links": links}
    session.flush()
    append_custody(
        session,
        operator=actor.name,
        action="person-split",
        detail={
            "split_id": record.id,
            "from_id": person.id,
            "new_id": new.id,
            "parties": record.moved["parties"],
            "reason": reason,
            "role": actor.role,
        },
    )
    return record
