"""Tables of the speech pipeline: what each stage did to each call, and what it found.

Every output row points at the ``stage_runs`` row that produced it, and that row records the
engine, its version and options (``info``) and a digest of what the stage read (``inputs_key``).
The unique key on ``stage_runs`` is what makes a SIGKILL followed by a re-run harmless: a
stage's outputs and its run row are written in one transaction, so either both exist or
neither does, and a second identical run finds the first and does nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["SpeakerTurnRow", "SpeechRegionRow", "StageRun", "VoiceLink", "VoiceprintRow"]


class StageRun(Base):
    """One stage run on one call: done, skipped (with the reason in ``error``) or failed."""

    __tablename__ = "stage_runs"
    __table_args__ = (UniqueConstraint("call_id", "stage", "info_key", "inputs_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    info_key: Mapped[str] = mapped_column(String(32))
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inputs_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))  # done | skipped | failed
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class SpeechRegionRow(Base):
    """A stretch of speech on one channel, found by voice activity detection."""

    __tablename__ = "speech_regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id"), index=True)
    channel: Mapped[int]
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)


class SpeakerTurnRow(Base):
    """One party speaking from ``start`` to ``end``; ``channel`` is None on mono calls."""

    __tablename__ = "speaker_turns"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id"), index=True)
    channel: Mapped[int | None]
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    speaker: Mapped[int]
    party: Mapped[str] = mapped_column(String(4))


class VoiceprintRow(Base):
    """The voiceprint of one party of one call (256 floats, unit length)."""

    __tablename__ = "voiceprints"
    __table_args__ = (UniqueConstraint("call_id", "party", "info_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id"), index=True)
    party: Mapped[str] = mapped_column(String(4))
    info_key: Mapped[str] = mapped_column(String(32))
    vector: Mapped[list[Any]] = mapped_column(default=list)
    seconds: Mapped[float] = mapped_column(Float)
    engine: Mapped[dict[str, Any]] = mapped_column(default=dict)


class VoiceLink(Base):
    """A person's decision that two parties of different calls are (not) the same voice."""

    __tablename__ = "voice_links"
    __table_args__ = (UniqueConstraint("call_a", "party_a", "call_b", "party_b"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_a: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    party_a: Mapped[str] = mapped_column(String(4))
    call_b: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    party_b: Mapped[str] = mapped_column(String(4))
    score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10))  # proposed | confirmed | rejected
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
