"""Evidence: what the team learned about a person, a phone or a call, and from where.

A file (a screenshot of a profile, a scanned document) is stored in the case's
media store like an original recording, under its SHA-256 with a custody entry, so
`earshot verify` proves it unaltered later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.custody import append_custody
from ..store.identity_models import Evidence
from ..store.media import MediaStore
from ..store.models import Original
from .actor import CONTRIBUTOR_ROLES, Actor, require_role
from .errors import IdentityError

__all__ = [
    "EVIDENCE_KINDS",
    "EvidenceSubject",
    "StoredFile",
    "add_evidence",
    "evidence_dict",
    "list_evidence",
    "store_evidence_file",
]

EVIDENCE_KINDS = (
    "interview_relative",
    "interview_person",
    "osint_profile",
    "document",
    "other_call",
    "other",
)


@dataclass(frozen=True)
class EvidenceSubject:
    """What an item is about: exactly one of a person, a phone or a call."""

    person_id: int | None = None
    phone_id: int | None = None
    call_id: int | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.person_id, self.phone_id, self.call_id) if v is not None]
        if len(given) != 1:
            raise IdentityError(
                "evidence is about exactly one person, phone or call; give one of them"
            )


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    name: str


def store_evidence_file(media: MediaStore, path: Path, *, max_bytes: int) -> StoredFile:
    """Copy `path` into the case's media store (content-addressed, read-only)."""
    try:
        with path.open("rb") as stream:
            sha, size = media.put_stream(stream, max_bytes=max_bytes, name=str(path))
    except OSError as exc:
        raise IdentityError(f"cannot read the evidence file {path}: {exc.strerror}") from None
    return StoredFile(sha, size, path.name)


def add_evidence(
    session: Session,
    actor: Actor,
    subject: EvidenceSubject,
    *,
    kind: str,
    summary: str,
    url: str | None = None,
    file: StoredFile | None = None,
    media: MediaStore | None = None,
    collected_by: str | None = None,
    collected_at: datetime | None = None,
) -> Evidence:
    """Record an evidence item; a stored `file` gets an Original row and a custody entry."""
    require_role(actor, CONTRIBUTOR_ROLES, "add evidence")
    if kind not in EVIDENCE_KINDS:
        raise IdentityError(
            f"unknown evidence kind {kind!r}; use one of {', '.join(EVIDENCE_KINDS)}"
        )
    if not summary.strip():
        raise IdentityError("the evidence summary is empty; say what the item shows")
    if url is None and file is None and kind in ("osint_profile", "document"):
        raise IdentityError(f"{kind} evidence needs a reference: give a URL or a file")
    if file is not None and session.get(Original, file.sha256) is None:
        if media is None:
            raise IdentityError("a stored evidence file needs the case's media store")
        session.add(
            Original(
                sha256=file.sha256,
                kind="evidence",
                size=file.size,
                stored_path=media.relative_original(file.sha256),
            )
        )
        session.flush()  # no ORM relationship orders this insert before the evidence row
    item = Evidence(
        person_id=subject.person_id,
        phone_id=subject.phone_id,
        call_id=subject.call_id,
        kind=kind,
        summary=summary.strip(),
        url=url,
        sha256=file.sha256 if file else None,
        file_name=file.name if file else None,
        collected_by=collected_by or actor.name,
        collected_at=collected_at,
        added_by=actor.name,
    )
    session.add(item)
    session.flush()
    append_custody(
        session,
        operator=actor.name,
        action="evidence-added",
        sha256=item.sha256,
        path=item.file_name,
        detail={
            "evidence_id": item.id,
            "kind": kind,
            "person_id": subject.person_id,
            "phone_id": subject.phone_id,
            "call_id": subject.call_id,
            "url": url,
            "size": file.size if file else None,
        },
    )
    return item


def evidence_dict(item: Evidence) -> dict[str, Any]:
    return {
        "id": item.id,
        "person_id": item.person_id,
        "phone_id": item.phone_id,
        "call_id": item.call_id,
        "kind": item.kind,
        "summary": item.summary,
        "url": item.url,
        "sha256": item.sha256,
        "file_name": item.file_name,
        "collected_by": item.collected_by,
        "collected_at": item.collected_at.isoformat() if item.collected_at else None,
        "added_by": item.added_by,
        "added_at": item.added_at.isoformat() if item.added_at else None,
    }


def list_evidence(
    session: Session,
    *,
    person_ids: list[int] | None = None,
    phone_ids: list[int] | None = None,
    call_ids: list[int] | None = None,
) -> list[Evidence]:
    """Evidence about any of the given persons, phones or calls (all when none given)."""
    query = select(Evidence)
    conditions = []
    if person_ids:
        conditions.append(Evidence.person_id.in_(person_ids))
    if phone_ids:
        conditions.append(Evidence.phone_id.in_(phone_ids))
    if call_ids:
        conditions.append(Evidence.call_id.in_(call_ids))
    if conditions:
        from sqlalchemy import or_

        query = query.where(or_(*conditions))
    elif person_ids is not None or phone_ids is not None or call_ids is not None:
        return []
    return list(session.execute(query.order_by(Evidence.id)).scalars())
