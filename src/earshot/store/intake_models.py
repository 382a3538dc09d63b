"""Tables of material intake: where a call's facts came from, fingerprints, drop-folder jobs.

Kept beside the core tables rather than as columns on them: a call's time may come from its
record, its recorder app's file name or nowhere, and each fact keeps its own basis (the
evidence it rests on), which is a row per fact, not a column per kind of evidence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["AudioFingerprint", "CallSource", "Job", "ProbableDuplicate"]


class CallSource(Base):
    """What one fact of a call rests on: its start time, a party's number, its record row.

    `field` is ``started_at``, ``A.phone``, ``B.phone``, ``A.person``, ``B.person``,
    ``record`` (the call-record row it was matched to) or ``recording`` (the audio that was
    attached to a call first known from its record); `basis` says how ("file name",
    "call record", "number pair and time"...), `source` the file or ``records.csv#12`` row.
    """

    __tablename__ = "call_sources"
    __table_args__ = (UniqueConstraint("call_id", "field"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(Text, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AudioFingerprint(Base):
    """A Chromaprint fingerprint of one audio original (what near-duplicates are found by)."""

    __tablename__ = "audio_fingerprints"
    sha256: Mapped[str] = mapped_column(ForeignKey("originals.sha256"), primary_key=True)
    tool: Mapped[str] = mapped_column(String(60))
    duration: Mapped[float] = mapped_column(Float)
    fingerprint: Mapped[str] = mapped_column(Text)  # base64 of little-endian uint32s
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ProbableDuplicate(Base):
    """Two calls that sound like the same conversation in another codec or container.

    Never merged: both stay, linked, for a person to decide.
    """

    __tablename__ = "probable_duplicates"
    __table_args__ = (UniqueConstraint("call_id", "twin_call_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    twin_call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    similarity: Mapped[float] = mapped_column(Float)
    offset: Mapped[float] = mapped_column(Float, default=0.0)
    basis: Mapped[str] = mapped_column(String(80))
    found_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A long-running job of the case, for the jobs page and resuming: a drop-folder watch,
    or a background ingest / processing run (``earshot.jobs``; kinds in ``vocab.JobKind``).

    `state` holds a background job's progress (phase, totals, per-call stage states,
    failures with their one-line reasons); `cancel_requested` is how a cancel reaches the
    worker running it; `attempts` counts runs (a retry or a requeue after a crash adds one).
    """

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # watch | ingest | process
    target: Mapped[str] = mapped_column(Text)  # the watched folder, the upload, the calls
    status: Mapped[str] = mapped_column(String(20), default="running")
    operator: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int | None] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)  # files taken, counts
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queue: Mapped[str] = mapped_column(String(20), default="local", server_default="local")
