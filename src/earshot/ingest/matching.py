"""Calls known before their recording, and recordings matched to records by number and time.

A telco export lists calls whether or not anyone recorded them, and names no files. Each of
its rows is matched to a recorded call by the number pair and start time (within a
tolerance), else becomes a *call without audio* — it still counts in the graph, the
timeline and the phone and person pages. A recording that arrives later attaches to that
call, by its file name if the record named one, else by the number and time its own file
name gives. Every match keeps its basis in ``call_sources`` (how it was made, from what).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.intake_models import CallSource
from ..store.media import MediaStore
from ..store.models import Call, Original, Party, Phone
from .filenames import NameFacts
from .records import CallRecord

__all__ = [
    "NO_AUDIO",
    "Match",
    "call_for_record",
    "calls_of_record",
    "create_recordless_call",
    "recordless_for_recording",
    "set_source",
]

NO_AUDIO = "no-audio"  # Call.status of a call known only from its record


@dataclass(frozen=True)
class Match:
    call: Call
    basis: str
    seconds_apart: float | None = None


def set_source(
    session: Session,
    call_id: int,
    field: str,
    basis: str,
    source: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record (or update) what the call's `field` rests on."""
    row = session.execute(
        select(CallSource).where(CallSource.call_id == call_id, CallSource.field == field)
    ).scalar_one_or_none()
    if row is None:
        session.add(
            CallSource(
                call_id=call_id, field=field, basis=basis, source=source, detail=detail or {}
            )
        )
    elif (row.basis, row.source, row.detail) != (basis, source, detail or {}):
        row.basis, row.source, row.detail = basis, source, detail or {}


def record_source(csv_display: str, row: int) -> str:
    return f"{csv_display}#{row}"


def calls_of_record(session: Session, source: str) -> Call | None:
    """The call a record row was matched to or made into before (re-runs change nothing)."""
    call_id = (
        session.execute(  # the first: a row may also describe a probable duplicate
            select(CallSource.call_id)
            .where(CallSource.field == "record", CallSource.source == source)
            .order_by(CallSource.id)
        )
        .scalars()
        .first()
    )
    return session.get(Call, call_id) if call_id is not None else None


def _phones(call: Call) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for party in call.parties:
        out[party.label] = party.phone.e164 if party.phone_id is not None and party.phone else None
    return out


def _window(session: Session, moment: datetime, tolerance: float) -> list[Call]:
    delta = timedelta(seconds=tolerance)
    return list(
        session.execute(
            select(Call)
            .where(Call.started_at >= moment - delta, Call.started_at <= moment + delta)
            .order_by(Call.id)
        ).scalars()
    )


def _agrees(phones: dict[str, str | None], caller: str, callee: str) -> bool:
    """The call's known numbers fit the record's pair (a recorder's name may give only one)."""
    known = {label: number for label, number in phones.items() if number}
    if not known:
        return False
    if known.get("A") not in (None, caller) or known.get("B") not in (None, callee):
        # A recorder that did not know the direction may have put the number on B.
        return set(known.values()) <= {caller, callee} and len(known) == 1
    return True


def call_for_record(
    session: Session, record: CallRecord, tolerance: float, taken: set[int]
) -> Match | None:
    """The recorded call this file-less record describes: same numbers, closest start."""
    best: Match | None = None
    for call in _window(session, record.started_at, tolerance):
        if call.id in taken or call.status == NO_AUDIO or call.started_at is None:
            continue
        if not _agrees(_phones(call), record.caller, record.callee):
            continue
        claimed = session.execute(
            select(CallSource.id).where(CallSource.call_id == call.id, CallSource.field == "record")
        ).first()
        if claimed is not None:  # another record row already describes this recording
            continue
        apart = abs((call.started_at - record.started_at).total_seconds())
        if best is None or apart < (best.seconds_apart or 0.0):
            best = Match(call, "number pair and time", apart)
    return best


def recordless_for_recording(
    session: Session, file_name: str, facts: NameFacts | None, tolerance: float
) -> Match | None:
    """The call without audio a newly arrived recording belongs to, if any."""
    named = list(
        session.execute(
            select(Call).where(Call.status == NO_AUDIO, Call.source_file == file_name)
        ).scalars()
    )
    if len(named) == 1:
        return Match(named[0], "file name in the call record")
    if facts is None or facts.started_at is None or facts.number is None:
        return None
    best: Match | None = None
    for call in _window(session, facts.started_at, tolerance):
        if call.status != NO_AUDIO or call.started_at is None:
            continue
        phones = _phones(call)
        if facts.number not in phones.values():
            continue
        if facts.direction == "outgoing" and phones.get("B") != facts.number:
            continue
        if facts.direction == "incoming" and phones.get("A") != facts.number:
            continue
        apart = abs((call.started_at - facts.started_at).total_seconds())
        if best is None or apart < (best.seconds_apart or 0.0):
            best = Match(call, "number and time in the file name", apart)
    return best


def _row_bytes(record: CallRecord, source: str) -> bytes:
    """The record row as canonical JSON: the evidence a call without audio is made from."""
    data = {
        "source": source,
        "started_at": record.started_at.isoformat(),
        "caller": record.caller_raw,
        "callee": record.callee_raw,
        "duration": record.duration,
        "file": record.file,
        "attributes": record.attributes,
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")


def create_recordless_call(
    session: Session, media: MediaStore, record: CallRecord, source: str, max_bytes: int
) -> Call:
    """A call without audio, made from one record row (stored as its own small original)."""
    data = _row_bytes(record, source)
    sha, size = media.put_stream(io.BytesIO(data), max_bytes=max_bytes, name=source)
    if session.get(Original, sha) is None:
        session.add(
            Original(
                sha256=sha,
                kind="record-row",
                size=size,
                stored_path=media.relative_original(sha),
            )
        )
        session.flush()
    call = session.execute(select(Call).where(Call.sha256 == sha)).scalar_one_or_none()
    if call is not None:
        return call
    call = Call(
        sha256=sha,
        source_file=record.file or "",
        source_path=source,
        started_at=record.started_at,
        duration=float(record.duration or 0.0),
        channels=0,
        sample_rate=0,
        codec="none",
        attributes={},
        status=NO_AUDIO,
    )
    session.add(call)
    session.flush()
    for label, role in (("A", "caller"), ("B", "callee")):
        session.add(Party(call_id=call.id, label=label, role=role, channel=None))
    session.flush()
    session.refresh(call)
    return call


def phone_row(session: Session, e164: str) -> Phone:
    phone = session.execute(select(Phone).where(Phone.e164 == e164)).scalar_one_or_none()
    if phone is None:
        phone = Phone(e164=e164)
        session.add(phone)
        session.flush()
    return phone
