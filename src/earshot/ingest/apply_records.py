"""Apply call records (who called whom, when) to the calls they describe.

Applying is idempotent: a row whose values are already in place changes nothing
and logs nothing, so re-running an ingest is a no-op. A row that changes a call
(a corrected CSV) is logged in the chain of custody with the old and new values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..identity.names import name_key
from ..store.custody import append_custody
from ..store.failures import record_failure, resolve_failure
from ..store.models import Call, Person, PersonPhone, Phone
from ..vocab import AttributionBasis
from .records import CallRecord

__all__ = ["RecordOutcome", "apply_records"]

_SPACES = re.compile(r"\s+")


@dataclass
class RecordOutcome:
    applied: int = 0
    unchanged: int = 0
    failed: int = 0


def _phone(session: Session, e164: str) -> Phone:
    phone = session.execute(select(Phone).where(Phone.e164 == e164)).scalar_one_or_none()
    if phone is None:
        phone = Phone(e164=e164)
        session.add(phone)
        session.flush()
    return phone


def _person(session: Session, name: str, phone: Phone) -> Person:
    key = name_key(name)
    candidates = list(
        session.execute(select(Person).where(Person.name_key == key).order_by(Person.id)).scalars()
    )
    person = candidates[0] if candidates else None
    if person is None:
        person = Person(name=_SPACES.sub(" ", name.strip()), name_key=key)
        session.add(person)
        session.flush()
    link = session.execute(
        select(PersonPhone).where(
            PersonPhone.person_id == person.id, PersonPhone.phone_id == phone.id
        )
    ).scalar_one_or_none()
    if link is None:
        session.add(PersonPhone(person_id=person.id, phone_id=phone.id, source="call record"))
    return person


def _find_call(session: Session, file: str, batch_calls: set[int]) -> tuple[Call | None, str]:
    calls = list(session.execute(select(Call).where(Call.source_file == file)).scalars())
    if not calls:
        folded = file.casefold()
        calls = [
            c
            for c in session.execute(
                select(Call).where(Call.source_file.ilike(file.replace("%", r"\%")))
            ).scalars()
            if c.source_file.casefold() == folded
        ]
    if len(calls) > 1:
        in_batch = [c for c in calls if c.id in batch_calls]
        if len(in_batch) == 1:
            return in_batch[0], ""
        ids = ", ".join(str(c.id) for c in calls)
        return None, (
            f"{len(calls)} calls have the file name {file!r} (calls {ids}); "
            "rename the files so each is unique, or give the row for one of them in its own ingest"
        )
    if not calls:
        return None, (
            f"no audio file named {file!r} was ingested in this batch or before; "
            "check the name or ingest the file"
        )
    return calls[0], ""


def _apply(session: Session, call: Call, record: CallRecord) -> dict[str, tuple[object, object]]:
    """Bring `call` in line with `record`; returns what changed as {field: (old, new)}."""
    changes: dict[str, tuple[object, object]] = {}

    def put(obj: object, attr: str, value: object, label: str) -> None:
        old = getattr(obj, attr)
        if old != value:
            changes[label] = (old, value)
            setattr(obj, attr, value)

    put(call, "started_at", record.started_at, "started_at")
    put(call, "location", record.location, "location")
    put(call, "notes", record.notes, "notes")
    put(call, "attributes", dict(record.attributes), "attributes")
    parties = {p.label: p for p in call.parties}
    for label, number, name in (
        ("A", record.caller, record.caller_name),
        ("B", record.callee, record.callee_name),
    ):
        party = parties[label]
        phone = _phone(session, number)
        put(party, "phone_id", phone.id, f"{label}.phone")
        if name and party.person_basis in (None, AttributionBasis.CALL_RECORD):
            person = _person(session, name, phone)
            put(party, "person_id", person.id, f"{label}.person")
            put(party, "person_basis", AttributionBasis.CALL_RECORD.value, f"{label}.basis")
    return changes


def _json_safe(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def apply_records(
    session: Session,
    records: Iterable[CallRecord],
    *,
    csv_display: str,
    batch_id: int,
    batch_calls: set[int],
    operator: str,
) -> RecordOutcome:
    outcome = RecordOutcome()
    for record in records:
        key = f"record:{csv_display}:{record.row}"
        call, problem = _find_call(session, record.file, batch_calls)
        if call is None:
            record_failure(
                session,
                key=key,
                stage="records",
                path=csv_display,
                row=record.row,
                message=f"{csv_display} line {record.row}: {problem}",
                batch_id=batch_id,
            )
            outcome.failed += 1
            continue
        resolve_failure(session, key)
        changes = _apply(session, call, record)
        session.flush()
        if not changes:
            outcome.unchanged += 1
            continue
        outcome.applied += 1
        append_custody(
            session,
            operator=operator,
            action="call-record-applied",
            sha256=call.sha256,
            path=csv_display,
            detail={
                "call_id": call.id,
                "row": record.row,
                "changes": {
                    k: [_json_safe(old), _json_safe(new)] for k, (old, new) in changes.items()
                },
            },
        )
    return outcome
