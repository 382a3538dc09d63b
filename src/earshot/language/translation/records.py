"""A translation row as a typed record: one serialiser for the call detail, the edits
and the API, so a segment's English reads the same wherever it is shown."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ...store.language_models import Translation
from ...vocab import TranslationStatus

__all__ = ["TranslationRecord", "translation_record"]


@dataclass(frozen=True)
class TranslationRecord:
    """A segment's English and where it stands in review."""

    id: int
    segment_id: int
    call_id: int
    text: str
    status: TranslationStatus
    version: int
    translator: str | None
    reviewer: str | None
    approver: str | None
    updated_at: str | None
    engine: dict[str, Any] = field(default_factory=dict)
    notes: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def translation_record(row: Translation) -> TranslationRecord:
    return TranslationRecord(
        id=row.id,
        segment_id=row.segment_id,
        call_id=row.call_id,
        text=row.text,
        status=TranslationStatus(row.status),
        version=row.version,
        translator=row.translator,
        reviewer=row.reviewer,
        approver=row.approver,
        updated_at=row.updated_at.isoformat() if row.updated_at is not None else None,
        engine=dict(row.engine or {}),
        notes=list(row.notes or []),
    )
