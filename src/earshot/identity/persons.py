"""Persons: who the team believes is speaking, with aliases, role and affiliation.

Soldiers go by nicknames ("Crazy Professor", "Селезень") and relatives by
diminutives; every alias is kept on the person, so the leak guard can protect it
and self-identification can recognise it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..phones import normalize_phone
from ..store.custody import append_custody
from ..store.models import Person, PersonPhone, Phone
from .actor import CONTRIBUTOR_ROLES, Actor, require_role
from .errors import IdentityError
from .names import name_key
from .phones import refresh_phone_info

__all__ = [
    "ROLES",
    "PersonDetails",
    "PersonEdit",
    "add_person",
    "add_person_phone",
    "edit_person",
    "person_dict",
]

ROLES = ("soldier", "relative", "other")
_SPACES = re.compile(r"\s+")


def _clean(text: str, what: str) -> str:
    value = _SPACES.sub(" ", text.strip())
    if not value:
        raise IdentityError(f"{what} is empty; give some text")
    return value


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise IdentityError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class PersonDetails:
    """What is known about a new person."""

    name: str
    aliases: Sequence[str] = ()
    role: str = "other"
    affiliation: str | None = None
    home_region: str | None = None
    notes: str | None = None
    protected: bool = True


@dataclass(frozen=True)
class PersonEdit:
    """Changes to a person; None leaves a field as it is."""

    name: str | None = None
    role: str | None = None
    affiliation: str | None = None
    home_region: str | None = None
    notes: str | None = None
    protected: bool | None = None
    add_aliases: Sequence[str] = field(default_factory=tuple)
    remove_aliases: Sequence[str] = field(default_factory=tuple)


def person_dict(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "aliases": list(person.aliases or []),
        "role": person.role,
        "affiliation": person.affiliation,
        "home_region": person.home_region,
        "notes": person.notes,
        "protected": person.protected,
        "merged_into": person.merged_into,
        "created_at": person.created_at.isoformat() if person.created_at else None,
    }


def _merge_aliases(existing: Sequence[str], new: Sequence[str], name: str) -> list[str]:
    out = list(existing)
    keys = {name_key(a) for a in out} | {name_key(name)}
    for alias in new:
        cleaned = _clean(alias, "an alias")
        if name_key(cleaned) not in keys:
            keys.add(name_key(cleaned))
            out.append(cleaned)
    return out


def add_person(session: Session, actor: Actor, details: PersonDetails) -> Person:
    require_role(actor, CONTRIBUTOR_ROLES, "add persons")
    name = _clean(details.name, "the person's name")
    person = Person(
        name=name,
        name_key=name_key(name),
        aliases=_merge_aliases([], details.aliases, name),
        role=_check_role(details.role),
        affiliation=details.affiliation,
        home_region=details.home_region,
        notes=details.notes,
        protected=details.protected,
    )
    session.add(person)
    session.flush()
    append_custody(
        session,
        operator=actor.name,
        action="person-added",
        detail={"person_id": person.id, "role": actor.role},
    )
    return person


def edit_person(session: Session, actor: Actor, person: Person, edit: PersonEdit) -> Person:
    """Apply `edit`; the custody log records every field's old and new value."""
    require_role(actor, CONTRIBUTOR_ROLES, "edit persons")
    if person.merged_into is not None:
        raise IdentityError(
            f"person #{person.id} was merged into #{person.merged_into}; edit that person"
        )
    before = {k: v for k, v in _fields(person).items()}
    if edit.name is not None:
        person.name = _clean(edit.name, "the person's name")
        person.name_key = name_key(person.name)
    if edit.role is not None:
        person.role = _check_role(edit.role)
    for attr in ("affiliation", "home_region", "notes"):
        value = getattr(edit, attr)
        if value is not None:
            setattr(person, attr, value.strip() or None)
    if edit.protected is not None:
        person.protected = edit.protected
    aliases = list(person.aliases or [])
    if edit.remove_aliases:
        drop = {name_key(a) for a in edit.remove_aliases}
        aliases = [a for a in aliases if name_key(a) not in drop]
    person.aliases = _merge_aliases(aliases, edit.add_aliases, person.name)
    after = _fields(person)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        session.flush()
        append_custody(
            session,
            operator=actor.name,
            action="person-edited",
            detail={"person_id": person.id, "changes": changes, "role": actor.role},
        )
    return person


def _fields(person: Person) -> dict[str, Any]:
    data = person_dict(person)
    return {
        k: data[k]
        for k in ("name", "aliases", "role", "affiliation", "home_region", "notes", "protected")
    }


def add_person_phone(
    session: Session,
    actor: Actor,
    person: Person,
    number: str,
    *,
    region: str = "RU",
    source: str = "editor",
    period_from: datetime | None = None,
    period_to: datetime | None = None,
    note: str | None = None,
) -> PersonPhone:
    """Record that `person` uses `number` (from a source other than a call)."""
    require_role(actor, CONTRIBUTOR_ROLES, "link phones to persons")
    try:
        e164 = normalize_phone(number, region)
    except ValueError as exc:
        raise IdentityError(str(exc)) from None
    phone = session.execute(select(Phone).where(Phone.e164 == e164)).scalar_one_or_none()
    if phone is None:
        phone = Phone(e164=e164)
        session.add(phone)
        session.flush()
    refresh_phone_info(phone)
    link = session.execute(
        select(PersonPhone).where(
            PersonPhone.person_id == person.id, PersonPhone.phone_id == phone.id
        )
    ).scalar_one_or_none()
    if link is None:
        link = PersonPhone(person_id=person.id, phone_id=phone.id, source=source)
        session.add(link)
    link.period_from = period_from or link.period_from
    link.period_to = period_to or link.period_to
    link.note = note or link.note
    session.flush()
    append_custody(
        session,
        operator=actor.name,
        action="person-phone-linked",
        detail={"person_id": person.id, "phone": e164, "source": source, "link_id": link.id},
    )
    return link
