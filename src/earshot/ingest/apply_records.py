"""Apply call records (who called whom, when) to the calls they describe.

A row naming a file applies to the call made from that file; a row naming none is matched
by number pair and time (:mod:`earshot.ingest.matching`), and a row with no recording
becomes a call without audio. Applying is idempotent: a row whose values are already in
place changes nothing and logs nothing, so re-running an ingest is a no-op. A row that
changes a call (a corrected CSV) is logged in the chain of custody with the old and new
values.
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
from ..store.intake_models import CallSource, ProbableDuplicate
from ..store.media import MediaStore
from ..store.models import Call, Person, PersonPhone, Phone
from ..vocab import AttributionBasis
from .matching import (
    NO_AUDIO,
    call_for_record,
    calls_of_record,
    create_recordless_call,
    record_source,
    set_source,
)
from .records import CallRecord

__all__ = ["FILE_NAME_CONTACT", "RecordOutcome", "apply_records"]

# The contact name a recorder app wrote into the file name: kept on the call as what the
# name said, never turned into a person (one phone's «Мама» is not another's).
FILE_NAME_CONTACT = "contact name (file name)"

_SPACES = re.compile(r"\s+")


@dataclass
class RecordOutcome:
    applied: int = 0
    unchanged: int = 0
    failed: int = 0
    without_audio: int = 0  # rows that are (still) calls without a recording
    matched_by_time: int = 0  # file-less rows matched to a recording by numbers and time


def _custody_applied(
    session: Session,
    operator: str,
    call: Call,
    record: CallRecord,
    path: str,
    basis: str,
    changes: dict[str, tuple[object, object]],
) -> None:
    """The custody entry of a record row applied to a call: row, basis, old and new values."""
    append_custody(
        session,
        operator=operator,
        action="call-record-applied",
        sha256=call.sha256,
        path=path,
        detail={
            "call_id": call.id,
            "row": record.row,
            "basis": basis,
            "changes": {k: [_json_safe(old), _json_safe(new)] for k, (old, new) in changes.items()},
        },
    )


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
    kept = {k: v for k, v in (call.attributes or {}).items() if k == FILE_NAME_CONTACT}
    put(call, "attributes", {**kept, **record.attributes}, "attributes")
    if call.status == NO_AUDIO and record.duration is not None:
        put(call, "duration", float(record.duration), "duration")
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


def _basis_of(session: Session, call_id: int) -> tuple[str, dict[str, object]]:
    row = session.execute(
        select(CallSource).where(CallSource.call_id == call_id, CallSource.field == "record")
    ).scalar_one()
    return row.basis, dict(row.detail)


def _describe_twins(
    session: Session,
    call: Call,
    record: CallRecord,
    source: str,
    matched: set[int],
    tolerance: float,
    operator: str,
) -> None:
    """The row also describes the call's probable duplicates (the same conversation in another
    codec): each gets its numbers and time too, with that basis — the calls stay two."""
    links = session.execute(
        select(ProbableDuplicate).where(
            (ProbableDuplicate.call_id == call.id) | (ProbableDuplicate.twin_call_id == call.id)
        )
    ).scalars()
    for link in links:
        twin = session.get(Call, link.twin_call_id if link.call_id == call.id else link.call_id)
        if twin is None or twin.id in matched or twin.status == NO_AUDIO:
            continue
        claimed = session.execute(
            select(CallSource.source).where(
                CallSource.call_id == twin.id, CallSource.field == "record"
            )
        ).scalar_one_or_none()
        if claimed not in (None, source):
            continue
        if (
            twin.started_at is not None
            and abs((twin.started_at - record.started_at).total_seconds()) > tolerance
        ):
            continue
        matched.add(twin.id)
        basis = f"probable duplicate of call {call.id}"
        set_source(session, twin.id, "record", basis, source, {"similarity": link.similarity})
        changes = _apply(session, twin, record)
        for field in ("started_at", "A.phone", "B.phone"):
            set_source(session, twin.id, field, "call record", source)
        if changes:
            _custody_applied(session, operator, twin, record, source, basis, changes)


def _recordless_failure(file: str) -> str:
    return (
        f"no audio file named {file!r} was ingested in this batch or before; it is kept as a "
        "call without audio until the file is ingested; check the name or ingest the file"
    )


def apply_records(
    session: Session,
    records: Iterable[CallRecord],
    *,
    csv_display: str,
    batch_id: int,
    batch_calls: set[int],
    operator: str,
    media: MediaStore | None = None,
    max_bytes: int = 1_000_000,
    tolerance: float = 120.0,
) -> RecordOutcome:
    """Apply `records` read from `csv_display`; rows without a recording become calls
    without audio when `media` is given (it stores the row they are made from)."""
    outcome = RecordOutcome()
    matched: set[int] = set()
    for record in records:
        key = f"record:{csv_display}:{record.row}"
        source = record_source(csv_display, record.row)
        call: Call | None
        basis: str = "file name"
        detail: dict[str, object] = {}
        problem = ""
        if record.file is not None:
            call, problem = _find_call(session, record.file, batch_calls)
            if call is None and media is not None and problem.startswith("no audio file"):
                call = calls_of_record(session, source) or create_recordless_call(
                    session, media, record, source, max_bytes
                )
                problem = _recordless_failure(record.file)
            elif call is not None and call.status == NO_AUDIO:
                problem = _recordless_failure(record.file)
        else:
            call = calls_of_record(session, source)
            if call is not None:  # matched or made on an earlier run: keep its basis
                basis, detail = _basis_of(session, call.id)
            else:
                found = call_for_record(session, record, tolerance, matched)
                if found is not None:
                    call = found.call
                    basis = "number pair and time"
                    detail = {"seconds_apart": round(found.seconds_apart or 0.0, 3)}
                elif media is None:
                    problem = "names no file and matches no recorded call by numbers and time"
                else:
                    call = create_recordless_call(session, media, record, source, max_bytes)
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
        matched.add(call.id)
        if problem:
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
        else:
            resolve_failure(session, key)
        if call.status == NO_AUDIO:
            outcome.without_audio += 1
            basis = "call record (no recording)"
        elif basis == "number pair and time":
            outcome.matched_by_time += 1
        set_source(session, call.id, "record", basis, source, detail)
        changes = _apply(session, call, record)
        for field in ("started_at", "A.phone", "B.phone"):
            set_source(session, call.id, field, "call record", source)
        if record.file is None and call.status != NO_AUDIO:
            _describe_twins(session, call, record, source, matched, tolerance, operator)
        session.flush()
        if not changes:
            if not problem:
                outcome.unchanged += 1
            continue
        if not problem:
            outcome.applied += 1
        _custody_applied(session, operator, call, record, csv_display, basis, changes)
    return outcome
