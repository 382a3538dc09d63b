"""Read-side queries shared by the CLI, the web app and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .models import Call, Party, Transcript

__all__ = ["CallSummary", "PartySummary", "list_calls"]


@dataclass(frozen=True)
class PartySummary:
    label: str
    role: str
    channel: int | None
    phone: str | None
    person: str | None
    person_id: int | None


@dataclass(frozen=True)
class CallSummary:
    id: int
    source_file: str
    started_at: datetime | None
    duration: float
    channels: int
    sample_rate: int
    codec: str
    sha256: str
    parties: tuple[PartySummary, ...]
    transcript_source: str | None
    status: str

    def as_dict(self) -> dict[str, Any]:
        by_label = {p.label: p for p in self.parties}
        a, b = by_label.get("A"), by_label.get("B")
        return {
            "id": self.id,
            "source_file": self.source_file,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "duration": round(self.duration, 3),
            "channels": self.channels,
            "sample_rate": self.sample_rate,
            "codec": self.codec,
            "sha256": self.sha256,
            "caller": a.phone if a else None,
            "callee": b.phone if b else None,
            "caller_person": a.person if a else None,
            "callee_person": b.person if b else None,
            "parties": [p.__dict__ for p in self.parties],
            "transcript_source": self.transcript_source,
            "status": self.status,
        }


def _transcript_source(transcripts: list[Transcript]) -> str | None:
    verbatim = [t for t in transcripts if t.kind == "verbatim"]
    return verbatim[-1].source if verbatim else None


def list_calls(session: Session) -> list[CallSummary]:
    calls = session.execute(
        select(Call)
        .options(
            selectinload(Call.parties).selectinload(Party.phone),
            selectinload(Call.parties).selectinload(Party.person),
            selectinload(Call.transcripts),
        )
        .order_by(Call.started_at.is_(None), Call.started_at, Call.id)
    ).scalars()
    out = []
    for call in calls:
        parties = tuple(
            PartySummary(
                label=p.label,
                role=p.role,
                channel=p.channel,
                phone=p.phone.e164 if p.phone else None,
                person=p.person.name if p.person else None,
                person_id=p.person_id,
            )
            for p in call.parties
        )
        out.append(
            CallSummary(
                id=call.id,
                source_file=call.source_file,
                started_at=call.started_at,
                duration=call.duration,
                channels=call.channels,
                sample_rate=call.sample_rate,
                codec=call.codec,
                sha256=call.sha256,
                parties=parties,
                transcript_source=_transcript_source(call.transcripts),
                status=call.status,
            )
        )
    return out
