"""Finding the persons, phones, calls and call sides a user names on the command line.

A person is named by id ("12" or "#12") or by name (any spelling folded alike,
or an alias) when that is unambiguous; a call side as CALL:PARTY where CALL is the
call id or its file name ("call03.wav:B", "7:A").
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..phones import normalize_phone
from ..store.models import Call, Party, Person, Phone
from .errors import IdentityNotFoundError
from .names import name_key

__all__ = ["find_call", "find_party", "find_person", "find_phone", "parse_party_ref"]


def _as_id(ref: str) -> int | None:
    text = ref.strip().removeprefix("#")
    return int(text) if text.isdigit() else None


def find_person(session: Session, ref: str | int, *, follow_merge: bool = False) -> Person:
    """The person `ref` names; with `follow_merge`, the person it was merged into."""
    person: Person | None = None
    number = ref if isinstance(ref, int) else _as_id(ref)
    if number is not None:
        person = session.get(Person, number)
    else:
        key = name_key(str(ref))
        matches = list(
            session.execute(select(Person).where(Person.name_key == key).order_by(Person.id))
            .scalars()
            .all()
        )
        if not matches:
            matches = [
                p
                for p in session.execute(select(Person).order_by(Person.id)).scalars()
                if key in {name_key(a) for a in p.aliases or []}
            ]
        live = [p for p in matches if p.merged_into is None] or matches
        if len(live) > 1:
            ids = ", ".join(f"#{p.id}" for p in live)
            raise IdentityNotFoundError(
                f"{ref!r} names {len(live)} persons ({ids}); give the person's id instead"
            )
        person = live[0] if live else None
    if person is None:
        raise IdentityNotFoundError(f"no person {ref!r} in this case; see `earshot person list`")
    seen = {person.id}
    while follow_merge and person.merged_into is not None:
        person = session.get(Person, person.merged_into) or person
        if person.id in seen:
            break
        seen.add(person.id)
    return person


def find_call(session: Session, ref: str | int) -> Call:
    number = ref if isinstance(ref, int) else _as_id(ref)
    call = session.get(Call, number) if number is not None else None
    if call is None and not isinstance(ref, int):
        calls = list(session.execute(select(Call).where(Call.source_file == ref)).scalars())
        if len(calls) > 1:
            raise IdentityNotFoundError(
                f"{len(calls)} calls have the file name {ref!r}; give the call id instead"
            )
        call = calls[0] if calls else None
    if call is None:
        raise IdentityNotFoundError(f"no call {ref!r} in this case; see `earshot calls`")
    return call


def parse_party_ref(ref: str) -> tuple[str, str]:
    """Split "CALL:PARTY" (the call may itself contain colons: split at the last)."""
    call, sep, label = ref.rpartition(":")
    if not sep or not call or not label:
        raise IdentityNotFoundError(
            f"{ref!r} is not a call side; write CALL:PARTY, e.g. 12:A or call03.wav:B"
        )
    return call, label.strip().upper()


def find_party(session: Session, ref: str) -> Party:
    call_ref, label = parse_party_ref(ref)
    call = find_call(session, call_ref)
    for party in call.parties:
        if party.label == label:
            return party
    labels = ", ".join(p.label for p in call.parties) or "none"
    raise IdentityNotFoundError(f"call {call.id} has no party {label!r} (it has {labels})")


def find_phone(session: Session, ref: str, *, region: str = "RU") -> Phone:
    number = _as_id(ref) if len(ref.strip().removeprefix("#")) < 7 else None
    phone = session.get(Phone, number) if number is not None else None
    if phone is None:
        try:
            e164 = normalize_phone(ref, region)
        except ValueError as exc:
            raise IdentityNotFoundError(str(exc)) from None
        phone = session.execute(select(Phone).where(Phone.e164 == e164)).scalar_one_or_none()
    if phone is None:
        raise IdentityNotFoundError(f"no phone {ref!r} in this case; see `earshot phone list`")
    return phone
