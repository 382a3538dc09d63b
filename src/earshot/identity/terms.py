"""What must never leave the case un-redacted: every protected person's names and phones.

The publication layer's pseudonyms and leak guard read this; every alias and
nickname counts, since "Селезень" identifies a soldier as surely as his surname.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..phones import phone_digits
from ..store.models import Party, Person, PersonPhone, Phone

__all__ = ["ProtectedPerson", "identity_terms"]


@dataclass(frozen=True)
class ProtectedPerson:
    """A protected person's identifying strings (phones as bare digits)."""

    person_id: int
    names: tuple[str, ...]
    aliases: tuple[str, ...]
    phones: tuple[str, ...]


def identity_terms(session: Session) -> list[ProtectedPerson]:
    """Every protected person (merged ones too: their names live on as aliases)."""
    phones: dict[int, set[str]] = {}
    for person_id, e164 in session.execute(
        select(PersonPhone.person_id, Phone.e164).join(Phone, Phone.id == PersonPhone.phone_id)
    ):
        phones.setdefault(person_id, set()).add(phone_digits(e164))
    for party_person, e164 in session.execute(
        select(Party.person_id, Phone.e164)
        .join(Phone, Phone.id == Party.phone_id)
        .where(Party.person_id.is_not(None))
    ):
        phones.setdefault(party_person or 0, set()).add(phone_digits(e164))
    out = []
    for person in session.execute(
        select(Person).where(Person.protected.is_(True)).order_by(Person.id)
    ).scalars():
        out.append(
            ProtectedPerson(
                person_id=person.id,
                names=(person.name,),
                aliases=tuple(person.aliases or ()),
                phones=tuple(sorted(phones.get(person.id, ()))),
            )
        )
    return out
