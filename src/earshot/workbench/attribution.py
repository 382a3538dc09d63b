"""Who speaks on a call side, decided by hand: link and unlink sides, merge and split
persons, add evidence (a stored file or a web address).

Each function checks the actor's role, brings the attribution history up to date
(call-record attributions recorded, confirmed voice matches applied), calls the rule
in :mod:`earshot.identity` (which writes the custody entry), and appends the audit
entry in the same transaction. The CLI (`person link/unlink/merge/split`, `evidence
add`) and the web call these, so a decision leaves the same rows either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..identity import (
    EvidenceSubject,
    PersonDetails,
    StoredFile,
    add_person,
    bring_up_to_date,
    evidence_dict,
    find_call,
    find_person,
    link_party,
    merge_persons,
    split_calls,
    unlink_party,
    unmerge,
)
from ..identity import add_evidence as _add_evidence
from ..identity.actor import CONTRIBUTOR_ROLES, require_role
from ..identity.errors import IdentityError, IdentityNotFoundError
from ..security.roles import Actor, Permission
from ..store.audit import audit
from ..store.media import MediaStore
from ..store.models import Party, Person

if TYPE_CHECKING:
    from ..edits import VerificationRecord

__all__ = [
    "EvidenceRecord",
    "MergeRecord",
    "SideLink",
    "SplitRecord",
    "add_evidence",
    "link_side",
    "may_add_evidence",
    "merge",
    "side_evidence",
    "split",
    "undo_merge",
    "unlink_side",
    "verify_side",
]


def _audit(
    session: Session, actor: Actor, action: str, kind: str, object_id: str, detail: dict[str, Any]
) -> None:
    audit(
        session,
        user=actor.name,
        action=action,
        object_type=kind,
        object_id=object_id,
        detail={**detail, "role": actor.role.value},
    )


def _side(session: Session, call_id: int, party: str) -> Party:
    call = find_call(session, call_id)
    side = session.scalars(
        select(Party).where(Party.call_id == call.id, Party.label == party.strip().upper())
    ).first()
    if side is None:
        raise IdentityNotFoundError(f"call {call.id} has no side {party!r}; the sides are A and B")
    return side


@dataclass(frozen=True)
class SideLink:
    """A call side after a link or an unlink: who it is now and who it was before."""

    call_id: int
    party: str
    person_id: int | None
    person: str | None
    basis: str | None
    link_id: int | None
    previous_person_id: int | None
    new_person: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def link_side(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    party: str,
    person_id: int | None = None,
    new_name: str | None = None,
    new_role: str = "other",
    note: str | None = None,
) -> SideLink:
    """Attribute a call side to a person by hand (basis ``editor``): an existing person
    (`person_id`) or a new one (`new_name`, `new_role`) made on the spot."""
    actor.require(Permission.VERIFY, what="decide who is speaking in a call")
    if (person_id is None) == (not (new_name or "").strip()):
        raise IdentityError("choose a person, or give the name of a new person (one of them)")
    bring_up_to_date(session)
    side = _side(session, call_id, party)
    previous = side.person_id
    if person_id is not None:
        person = find_person(session, person_id)
    else:
        person = add_person(session, actor, PersonDetails(name=new_name or "", role=new_role))
    link = link_party(session, actor, side, person, note=(note or "").strip() or None)
    record = SideLink(
        side.call_id,
        side.label,
        person.id,
        person.name,
        link.basis,
        link.id,
        previous,
        new_person=person_id is None,
    )
    _audit(
        session,
        actor,
        "link",
        "party",
        f"{side.call_id}:{side.label}",
        {"person_id": person.id, "previous_person_id": previous, "new_person": person_id is None},
    )
    return record


def unlink_side(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    party: str,
    person_id: int | None = None,
    note: str | None = None,
) -> SideLink:
    """Withdraw a side's attribution. With `person_id` (what the page showed), refused
    when the side is meanwhile someone else's, so a stale page cannot undo a newer link."""
    actor.require(Permission.VERIFY, what="decide who is speaking in a call")
    bring_up_to_date(session)
    side = _side(session, call_id, party)
    if person_id is not None and side.person_id != person_id:
        now = f"person #{side.person_id}" if side.person_id else "nobody"
        raise IdentityError(
            f"call {side.call_id} side {side.label} is now linked to {now}, not #{person_id}; "
            "reload and decide again"
        )
    previous = unlink_party(session, actor, side, note=(note or "").strip() or None)
    _audit(
        session,
        actor,
        "unlink",
        "party",
        f"{side.call_id}:{side.label}",
        {"previous_person_id": previous},
    )
    return SideLink(side.call_id, side.label, None, None, None, None, previous)


@dataclass(frozen=True)
class MergeRecord:
    merge_id: int
    kept_id: int
    merged_id: int
    moved: dict[str, Any] = field(default_factory=dict)
    undone: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def merge(
    session: Session, actor: Actor, *, keep_id: int, other_id: int, reason: str | None = None
) -> MergeRecord:
    """Merge person `other_id` into `keep_id` (found to be one person); undoable."""
    actor.require(Permission.VERIFY, what="merge persons")
    bring_up_to_date(session)
    keep = find_person(session, keep_id)
    other = find_person(session, other_id)
    record = merge_persons(session, actor, keep, other, reason=(reason or "").strip() or None)
    _audit(
        session,
        actor,
        "merge",
        "person",
        str(keep.id),
        {"merge_id": record.id, "merged_id": other.id},
    )
    return MergeRecord(record.id, keep.id, other.id, dict(record.moved))


def undo_merge(
    session: Session, actor: Actor, *, person_id: int, merge_id: int | None = None
) -> MergeRecord:
    """Undo a recorded merge exactly (the person's latest, or `merge_id`)."""
    actor.require(Permission.VERIFY, what="split persons")
    person = find_person(session, person_id)
    record = unmerge(session, actor, person, merge_id=merge_id)
    _audit(
        session,
        actor,
        "unmerge",
        "person",
        str(record.kept_id),
        {"merge_id": record.id, "merged_id": record.merged_id},
    )
    return MergeRecord(record.id, record.kept_id, record.merged_id, dict(record.moved), True)


@dataclass(frozen=True)
class SplitRecord:
    split_id: int
    from_id: int
    new_id: int
    new_name: str
    sides: list[tuple[int, str]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def split(
    session: Session,
    actor: Actor,
    *,
    person_id: int,
    sides: Sequence[tuple[int, str]],
    new_name: str,
    reason: str | None = None,
) -> SplitRecord:
    """Some call sides of a person are someone else: move them to a new person."""
    actor.require(Permission.VERIFY, what="split persons")
    if not sides:
        raise IdentityError("choose the call sides to move to the new person")
    bring_up_to_date(session)
    person = find_person(session, person_id)
    parties = [_side(session, call_id, label) for call_id, label in sides]
    record = split_calls(
        session,
        actor,
        person,
        parties,
        new_name=new_name,
        reason=(reason or "").strip() or None,
    )
    new = session.get(Person, record.new_id)
    moved = [(p.call_id, p.label) for p in parties]
    _audit(
        session,
        actor,
        "split",
        "person",
        str(person.id),
        {"split_id": record.id, "new_id": record.new_id, "sides": [f"{c}:{p}" for c, p in moved]},
    )
    return SplitRecord(record.id, person.id, record.new_id, new.name if new else new_name, moved)


@dataclass(frozen=True)
class EvidenceRecord:
    """One evidence item, as `earshot evidence list --json` shows it."""

    id: int
    person_id: int | None
    phone_id: int | None
    call_id: int | None
    kind: str
    summary: str
    url: str | None
    sha256: str | None
    file_name: str | None
    collected_by: str
    collected_at: str | None
    added_by: str
    added_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _file_name(name: str) -> str:
    """The last part of an uploaded file's name, without control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable()).strip()
    return clean[:255] or "evidence"


def may_add_evidence(actor: Actor) -> None:
    """Refuse early (before an upload is received) a role that may not add evidence."""
    require_role(actor, CONTRIBUTOR_ROLES, "add evidence")


def add_evidence(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    summary: str,
    person_id: int | None = None,
    call_id: int | None = None,
    phone_id: int | None = None,
    url: str | None = None,
    upload: Path | None = None,
    file_name: str | None = None,
    media: MediaStore | None = None,
    max_bytes: int | None = None,
    collected_by: str | None = None,
    collected_at: datetime | None = None,
) -> EvidenceRecord:
    """Record evidence about a person, a call or a phone: a web address (stored as
    text, never fetched) and/or a file (`upload`), copied into the case's media store
    in chunks under its SHA-256, read-only, with a custody entry."""
    may_add_evidence(actor)
    subject = EvidenceSubject(person_id=person_id, phone_id=phone_id, call_id=call_id)
    if person_id is not None:
        find_person(session, person_id)
    if call_id is not None:
        find_call(session, call_id)
    url = (url or "").strip() or None
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise IdentityError(f"the evidence address {url[:80]!r} is not a web address (http/https)")
    stored = None
    if upload is not None:
        if media is None or max_bytes is None:
            raise IdentityError("a stored evidence file needs the case's media store and limit")
        name = _file_name(file_name or upload.name)
        try:
            with upload.open("rb") as stream:
                sha, size = media.put_stream(stream, max_bytes=max_bytes, name=name)
        except OSError as exc:
            raise IdentityError(f"cannot read the evidence file {name}: {exc.strerror}") from None
        stored = StoredFile(sha, size, name)
    item = _add_evidence(
        session,
        actor,
        subject,
        kind=kind,
        summary=summary,
        url=url,
        file=stored,
        media=media,
        collected_by=collected_by,
        collected_at=collected_at,
    )
    data = evidence_dict(item)
    _audit(
        session,
        actor,
        "evidence",
        "evidence",
        str(item.id),
        {"kind": kind, "person_id": person_id, "call_id": call_id, "phone_id": phone_id},
    )
    return EvidenceRecord(**data)


def side_evidence(session: Session, actor: Actor, *, call_id: int) -> list[EvidenceRecord]:
    """Evidence a decision about one of the call's sides may cite: about the call, or
    about a person either side is attributed to."""
    from ..identity import list_evidence

    actor.require(Permission.READ, what="read evidence")
    call = find_call(session, call_id)
    persons = [p.person_id for p in call.parties if p.person_id is not None]
    items = list_evidence(session, person_ids=persons, call_ids=[call.id])
    return [EvidenceRecord(**evidence_dict(item)) for item in items]


def verify_side(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    party: str,
    status: str,
    reason: str,
    evidence_ids: Sequence[int],
) -> VerificationRecord:
    """Set the verification status of one call side, citing evidence (as
    `earshot verify-identity CALL:PARTY`): :func:`earshot.edits.verify` on the side."""
    from .. import edits

    actor.require(Permission.VERIFY, what="set verification status")
    side = _side(session, call_id, party)
    return edits.verify(
        session, actor, status=status, reason=reason, evidence_ids=evidence_ids, party_id=side.id
    )
