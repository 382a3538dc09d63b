"""Stable pseudonyms: every person of a case gets one published name, for good.

Default pseudonyms are numbered per role ("Soldier 1", "Relative 2", "Person 3") in
order of first appearance (the date of the person's first call, then its id), and
persisted the first time they are needed; a person added later gets the next free
number, so nobody is ever renumbered and every export of the case agrees. An
editor may replace a default with an editorial one ("THE PROFESSOR").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from earshot.store.models import Call, Party, Person
from earshot.store.publish_models import Pseudonym

from ..errors import PseudonymError

__all__ = [
    "PseudonymError",
    "assign_pseudonyms",
    "party_persons",
    "pseudonym_map",
    "pseudonym_rows",
    "set_pseudonym",
]

_PREFIX = {"soldier": "Soldier", "relative": "Relative", "other": "Person"}
_DEFAULT_RE = re.compile(r"^(Soldier|Relative|Person) (\d+)$")
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def _first_appearance(session: Session) -> dict[int, tuple[datetime, int]]:
    rows = session.execute(
        select(Party.person_id, Call.started_at, Call.id)
        .join(Call, Call.id == Party.call_id)
        .where(Party.person_id.is_not(None))
    )
    first: dict[int, tuple[datetime, int]] = {}
    for person_id, started_at, call_id in rows:
        if person_id is None:
            continue
        key = (started_at or _FAR_FUTURE, call_id)
        if person_id not in first or key < first[person_id]:
            first[person_id] = key
    return first


def _canonical(person: Person, by_id: dict[int, Person]) -> Person:
    seen: set[int] = set()
    while getattr(person, "merged_into", None) and person.id not in seen:
        seen.add(person.id)
        target = by_id.get(person.merged_into)  # type: ignore[arg-type]
        if target is None:
            break
        person = target
    return person


def assign_pseudonyms(session: Session, *, operator: str) -> dict[int, str]:
    """Give every person without one a default pseudonym; return person id -> pseudonym.

    Merged persons map to the pseudonym of the person they were merged into.
    """
    persons = {p.id: p for p in session.scalars(select(Person).order_by(Person.id))}
    existing = {p.person_id: p for p in session.scalars(select(Pseudonym))}
    taken = {p.pseudonym.casefold() for p in existing.values()}
    counters: dict[str, int] = {}
    for row in existing.values():
        match = _DEFAULT_RE.match(row.pseudonym)
        if match:
            counters[match.group(1)] = max(counters.get(match.group(1), 0), int(match.group(2)))
    first = _first_appearance(session)
    canonical = {pid: _canonical(p, persons) for pid, p in persons.items()}
    pending = sorted(
        {c.id for c in canonical.values()} - set(existing),
        key=lambda pid: (first.get(pid, (_FAR_FUTURE, 0)), pid),
    )
    for person_id in pending:
        role = getattr(persons[person_id], "role", None) or "other"
        prefix = _PREFIX.get(role, "Person")
        number = counters.get(prefix, 0) + 1
        while f"{prefix} {number}".casefold() in taken:
            number += 1
        counters[prefix] = number
        name = f"{prefix} {number}"
        taken.add(name.casefold())
        row = Pseudonym(person_id=person_id, pseudonym=name, kind="default", set_by=operator)
        session.add(row)
        existing[person_id] = row
    session.flush()
    return {pid: existing[c.id].pseudonym for pid, c in canonical.items() if c.id in existing}


def pseudonym_map(session: Session) -> dict[int, str]:
    """Person id -> pseudonym for the persons that already have one (no assignment)."""
    return {row.person_id: row.pseudonym for row in session.scalars(select(Pseudonym))}


def set_pseudonym(session: Session, person_id: int, pseudonym: str, *, operator: str) -> Pseudonym:
    """Set an editorial pseudonym for a person (it must be unused in this case)."""
    name = " ".join(pseudonym.split())
    if not name or len(name) > 80:
        raise PseudonymError("a pseudonym must be 1 to 80 characters; choose another")
    if session.get(Person, person_id) is None:
        raise PseudonymError(f"no person with id {person_id}; see `earshot person list`")
    clash = session.scalar(
        select(Pseudonym).where(
            func.lower(Pseudonym.pseudonym) == name.lower(), Pseudonym.person_id != person_id
        )
    )
    if clash is not None:
        raise PseudonymError(
            f"pseudonym {name!r} is already person {clash.person_id}'s; choose another"
        )
    row = session.scalar(select(Pseudonym).where(Pseudonym.person_id == person_id))
    if row is None:
        row = Pseudonym(person_id=person_id, pseudonym=name, kind="editorial", set_by=operator)
        session.add(row)
    else:
        row.pseudonym, row.kind, row.set_by = name, "editorial", operator
        row.at = datetime.now(UTC)
    session.flush()
    return row


def party_persons(
    session: Session, call_ids: list[int] | None = None
) -> dict[tuple[int, str], int]:
    """(call id, party label) -> person id, for the call sides attributed to a person.

    A side without an attribution whose phone belongs to exactly one person is
    taken to be that person (a phone shared by a household stays unattributed).
    """
    from earshot.store.models import PersonPhone

    owners: dict[int, set[int]] = {}
    pairs = session.execute(select(PersonPhone.phone_id, PersonPhone.person_id))
    for owned_phone, owner in pairs:
        owners.setdefault(owned_phone, set()).add(owner)
    query = select(Party.call_id, Party.label, Party.person_id, Party.phone_id)
    if call_ids is not None:
        query = query.where(Party.call_id.in_(call_ids))
    out: dict[tuple[int, str], int] = {}
    for call_id, label, person_id, phone_id in session.execute(query):
        if person_id is not None:
            out[(call_id, label)] = int(person_id)
        elif phone_id is not None and len(owners.get(phone_id, ())) == 1:
            out[(call_id, label)] = next(iter(owners[phone_id]))
    return out


def pseudonym_rows(session: Session, *, operator: str, assign: bool = True) -> list[dict[str, Any]]:
    """Every unmerged person with the one name published for them: ``person_id, name,
    role, pseudonym, kind`` (default or editorial) and ``set_by``. With `assign`, missing
    defaults are given now, exactly as the next export would give them, so the list shows
    what will be used; without it (a reader), only existing ones."""
    names = assign_pseudonyms(session, operator=operator) if assign else pseudonym_map(session)
    rows = {p.person_id: p for p in session.scalars(select(Pseudonym))}
    out = []
    for person in session.scalars(select(Person).order_by(Person.id)):
        if person.merged_into:
            continue
        row = rows.get(person.id)
        out.append(
            {
                "person_id": person.id,
                "name": person.name,
                "role": person.role,
                "pseudonym": names.get(person.id, ""),
                "kind": row.kind if row else "default",
                "set_by": row.set_by if row else None,
            }
        )
    return out
