"""Identity tables: who speaks on each side of a call, how we know, how sure we are.

The current attribution of a call side stays on ``parties.person_id`` (so every
layer reads it cheaply); ``party_person_links`` keeps every attribution ever made or
proposed, with its basis, so the reasoning can be retraced. Verification is a
history of events (the current status is the latest), merges record exactly which
links they moved so that a split can put them back. Nothing here is ever deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["Evidence", "PartyPersonLink", "PersonMerge", "PersonSplit", "VerificationEvent"]


class PartyPersonLink(Base):
    """One attribution of a call side to a person, current, proposed or past.

    `basis`: call_record | voice_match | self_identification | editor;
    `status`: proposed | accepted | rejected. An accepted link stops being current
    when `superseded_at` is set (a later link replaced it).
    """

    __tablename__ = "party_person_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    basis: Mapped[str] = mapped_column(String(30))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]


class Evidence(Base):
    """Something the team found out about a person, a phone or a call, and where."""

    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phones.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    # interview_relative | interview_person | osint_profile | document | other_call | other
    kind: Mapped[str] = mapped_column(String(30))
    summary: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(ForeignKey("originals.sha256"))
    file_name: Mapped[str | None] = mapped_column(Text)
    collected_by: Mapped[str] = mapped_column(String(200))
    collected_at: Mapped[datetime | None]
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class VerificationEvent(Base):
    """An editor set the verification status of a person or of one call side."""

    __tablename__ = "verification_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    # unverified | partly_verified | verified | disputed
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    evidence_ids: Mapped[list[Any]] = mapped_column(default=list)
    actor: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonMerge(Base):
    """Person `merged_id` was merged into `kept_id`; `moved` lists every link moved."""

    __tablename__ = "person_merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reversed_at: Mapped[datetime | None]
    reversed_by: Mapped[str | None] = mapped_column(String(200))


class PersonSplit(Base):
    """Some call sides of `from_id` were found to be someone else: `new_id`."""

    __tablename__ = "person_splits"
    id: Mapped[int] = mapped_column(primary_key=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    new_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
