"""The case's relational schema (SQLAlchemy 2 ORM), identical on SQLite and PostgreSQL.

Alembic migrations in ``store/migrations`` create and upgrade it; a test checks the
two never drift apart. Times are stored as naive UTC and handed back timezone-aware,
so both backends answer the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "Batch",
    "Call",
    "CaseInfo",
    "CustodyEntry",
    "Failure",
    "Original",
    "Party",
    "Person",
    "PersonPhone",
    "Phone",
    "Segment",
    "Sighting",
    "Transcript",
    "WorkingCopyRow",
    "utcnow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where a timezone is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class CaseInfo(Base):
    """Key/value facts about the case itself (its id, when and by whom created)."""

    __tablename__ = "case_info"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Batch(Base):
    """One run of `earshot ingest`: who ran it, on what, and how it ended."""

    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    operator: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(Text)
    inputs: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Original(Base):
    """An original file exactly as received, stored once under its SHA-256."""

    __tablename__ = "originals"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # audio | records | sidecar
    size: Mapped[int] = mapped_column(BigInteger)
    stored_path: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)
    container: Mapped[str | None] = mapped_column(String(40))
    codec: Mapped[str | None] = mapped_column(String(40))
    sample_rate: Mapped[int | None]
    channels: Mapped[int | None]
    duration: Mapped[float | None] = mapped_column(Float)
    decodable: Mapped[bool | None] = mapped_column(Boolean)


class Sighting(Base):
    """Each place an original was found: the custody of where evidence came from.

    A second path with the same bytes is a duplicate; the same path seen again is not
    a new sighting, so re-running an ingest changes nothing.
    """

    __tablename__ = "sightings"
    __table_args__ = (UniqueConstraint("sha256", "original_path"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("originals.sha256"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    original_path: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    operator: Mapped[str] = mapped_column(String(200))
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)


class Call(Base):
    """One recorded call, made from one audio original."""

    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("originals.sha256"), unique=True)
    source_file: Mapped[str] = mapped_column(Text, index=True)
    source_path: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    duration: Mapped[float] = mapped_column(Float)
    channels: Mapped[int]
    sample_rate: Mapped[int]
    codec: Mapped[str] = mapped_column(String(40))
    location: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="ingested")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parties: Mapped[list[Party]] = relationship(
        back_populates="call", order_by="Party.label", cascade="all, delete-orphan"
    )
    transcripts: Mapped[list[Transcript]] = relationship(
        back_populates="call", order_by="Transcript.id"
    )


class WorkingCopyRow(Base):
    """A 16 kHz PCM working copy of one channel of an audio original."""

    __tablename__ = "working_copies"
    __table_args__ = (UniqueConstraint("sha256", "channel"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("originals.sha256"))
    channel: Mapped[int]
    path: Mapped[str] = mapped_column(Text)
    sample_rate: Mapped[int]
    frames: Mapped[int]
    # SHA-256 of the plaintext WAV when it was made (None: made before hashes, rebuild it);
    # checked by `verify`, before any stage reads the audio, and before a clip is cut.
    content_sha256: Mapped[str | None] = mapped_column(String(64))


class Phone(Base):
    """A telephone number in E.164; one row however many calls it appears in."""

    __tablename__ = "phones"
    id: Mapped[int] = mapped_column(primary_key=True)
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What libphonenumber's offline data says (filled by earshot.identity.phones).
    number_type: Mapped[str | None] = mapped_column(String(40))
    region: Mapped[str | None] = mapped_column(String(4))
    carrier: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class Person(Base):
    """Someone heard in or named by the case's calls."""

    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Identity (earshot.identity): what the team knows about the person.
    aliases: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    role: Mapped[str] = mapped_column(String(20), default="other", server_default="other")
    affiliation: Mapped[str | None] = mapped_column(Text)
    home_region: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    # Protected persons' names, aliases and phones never leave the case un-redacted.
    protected: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class PersonPhone(Base):
    """A person uses a phone, and how we know it."""

    __tablename__ = "person_phones"
    __table_args__ = (UniqueConstraint("person_id", "phone_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    phone_id: Mapped[int] = mapped_column(ForeignKey("phones.id"))
    source: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The period the person is known to have used the phone (from call dates or a source).
    period_from: Mapped[datetime | None]
    period_to: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class Party(Base):
    """One side of a call: A is the caller, B the callee."""

    __tablename__ = "parties"
    __table_args__ = (UniqueConstraint("call_id", "label"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    label: Mapped[str] = mapped_column(String(4))
    role: Mapped[str] = mapped_column(String(10))  # caller | callee
    channel: Mapped[int | None]
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phones.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    person_basis: Mapped[str | None] = mapped_column(String(40))

    call: Mapped[Call] = relationship(back_populates="parties")
    phone: Mapped[Phone | None] = relationship()
    person: Mapped[Person | None] = relationship()


class Transcript(Base):
    """One version of a call's transcript: from a sidecar, an engine, or a person."""

    __tablename__ = "transcripts"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))  # sidecar | asr | human
    kind: Mapped[str] = mapped_column(String(20), default="verbatim")  # verbatim | translation
    language: Mapped[str | None] = mapped_column(String(10))
    format: Mapped[str | None] = mapped_column(String(10))
    origin_sha256: Mapped[str | None] = mapped_column(ForeignKey("originals.sha256"))
    engine: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="transcripts")
    segments: Mapped[list[Segment]] = relationship(
        back_populates="transcript", order_by="Segment.idx", cascade="all, delete-orphan"
    )


class Segment(Base):
    """A timed stretch of one transcript (times are None for untimed text)."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("transcript_id", "idx"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    idx: Mapped[int]
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    party: Mapped[str | None] = mapped_column(String(4))
    speaker_label: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[list[Any]] = mapped_column(default=list)

    transcript: Mapped[Transcript] = relationship(back_populates="segments")


class Failure(Base):
    """Something that could not be taken in, kept until it succeeds or is dismissed."""

    __tablename__ = "failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    stage: Mapped[str] = mapped_column(String(20))
    path: Mapped[str | None] = mapped_column(Text)
    row: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    count: Mapped[int] = mapped_column(default=1)
    resolved_at: Mapped[datetime | None]


class CustodyEntry(Base):
    """Append-only, hash-chained log of everything done to the evidence.

    Each entry's hash covers its content and the previous entry's hash, so an
    altered, removed or reordered entry breaks the chain (checked by `verify`); its
    MAC and the ``custody.anchor`` file catch forged and removed newest entries.
    Database triggers refuse UPDATE and DELETE, and INSERT without a MAC.
    """

    __tablename__ = "custody_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    operator: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    path: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # HMAC under the case's chain key (earshot.store.chainkey); NULL only in entries
    # written by Earshot before MACs, at the start of the log.
    entry_mac: Mapped[str | None] = mapped_column(String(64))
