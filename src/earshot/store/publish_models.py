"""Tables of the publication layer: stable pseudonyms and provenance-keeping quotes.

A pseudonym, once given, is never renumbered: every export of the case, today's
and next year's, must call the same person by the same name, or readers would
take one person for two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["NicknameDecision", "Pseudonym", "Quote"]


class Pseudonym(Base):
    """The published name of one person ("Soldier 1", or an editor's "THE PROFESSOR")."""

    __tablename__ = "pseudonyms"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="default")  # default | editorial
    set_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Quote(Base):
    """An edited English quote that leads back to the exact seconds of a recording."""

    __tablename__ = "quotes"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    first_segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    last_segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    verbatim_en: Mapped[str] = mapped_column(Text)
    edited_en: Mapped[str] = mapped_column(Text)
    diff: Mapped[list[Any]] = mapped_column(default=list)
    original_sha256: Mapped[str] = mapped_column(String(64))
    translator: Mapped[str | None] = mapped_column(String(200))
    approver: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class NicknameDecision(Base):
    """An editor's decision on a term of address that looks like a nickname.

    `word`: the folded lemma ("малой"), decided once for the whole case; `decision`:
    "nickname" (a person's nickname: redacted, as the person's pseudonym when
    `person_id` is known, else as an unlinked name) or "ordinary" (an ordinary word:
    published as said). The latest row for a word is the decision in force.
    """

    __tablename__ = "nickname_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(80), index=True)
    surface: Mapped[str] = mapped_column(String(80))
    decision: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
