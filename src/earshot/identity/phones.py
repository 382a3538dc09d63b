"""Phones: E.164 numbers with type, region and carrier from libphonenumber's offline data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..phones import describe_phone
from ..store.models import Party, Person, PersonPhone, Phone

__all__ = ["list_phones", "phone_dict", "refresh_phone_info"]


def refresh_phone_info(phone: Phone) -> Phone:
    """Fill type, region, carrier and location once (the offline data never changes in a run)."""
    if phone.number_type is None:
        info = describe_phone(phone.e164)
        phone.number_type = info.type
        phone.region = info.region
        phone.carrier = info.carrier or None
        phone.location = info.location or None
    return phone


def phone_dict(session: Session, phone: Phone) -> dict[str, Any]:
    """The phone, who uses it (with period and source) and its calls."""
    refresh_phone_info(phone)
    users = session.execute(
        select(PersonPhone, Person)
        .join(Person, Person.id == PersonPhone.person_id)
        .where(PersonPhone.phone_id == phone.id)
        .order_by(PersonPhone.period_from.is_(None), PersonPhone.period_from, PersonPhone.id)
    ).all()
    calls = session.execute(
        select(func.count(func.distinct(Party.call_id))).where(Party.phone_id == phone.id)
    ).scalar_one()
    return {
        "id": phone.id,
        "e164": phone.e164,
        "type": phone.number_type,
        "region": phone.region,
        "carrier": phone.carrier,
        "location": phone.location,
        "notes": phone.notes,
        "calls": calls,
        "persons": [
            {
                "person_id": person.id,
                "name": person.name,
                "merged_into": person.merged_into,
                "link_id": link.id,
                "source": link.source,
                "from": link.period_from.isoformat() if link.period_from else None,
                "to": link.period_to.isoformat() if link.period_to else None,
                "note": link.note,
            }
            for link, person in users
        ],
    }


def list_phones(session: Session) -> list[dict[str, Any]]:
    phones = session.execute(select(Phone).order_by(Phone.e164)).scalars()
    return [phone_dict(session, phone) for phone in phones]
