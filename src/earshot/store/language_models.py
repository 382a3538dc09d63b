"""Tables of the Russian language layer: entities, slang, themes and translations.

Analysis rows (entities, slang, themes) are derived data: the language stage
replaces them wholesale for a call whenever its transcript or engine changes, and
each row carries the ``info_key`` of the analysis that produced it. Translations
are human work built on a machine draft, so they are never replaced: they move
draft -> edited -> reviewed -> approved under optimistic concurrency (``version``),
and every change is appended to ``translation_history``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = [
    "CallTheme",
    "CallThemeOverride",
    "CaseSlangEntry",
    "EntityPersonOverride",
    "SegmentEntity",
    "SegmentSlang",
    "SegmentTheme",
    "Translation",
    "TranslationHistory",
]


class SegmentEntity(Base):
    """A named entity in a segment, with its character span and what it links to.

    `places` lists every gazetteer candidate, best first, so a reviewer can pick
    another; `place_*` and `in_war_zone` describe the first one.
    """

    __tablename__ = "segment_entities"
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # PER LOC ORG PHONE UNIT ADDRESS DATE DOB
    start: Mapped[int]
    end: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    normal: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    person_score: Mapped[float | None] = mapped_column(Float)
    places: Mapped[list[Any]] = mapped_column(default=list)
    place_name: Mapped[str | None] = mapped_column(Text)
    place_country: Mapped[str | None] = mapped_column(String(2))
    in_war_zone: Mapped[bool | None] = mapped_column(Boolean)
    info_key: Mapped[str] = mapped_column(String(16))


class SegmentSlang(Base):
    """A slang decoder hit in a segment: surface as written, lexicon term, English gloss."""

    __tablename__ = "segment_slang"
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    start: Mapped[int]
    end: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    term: Mapped[str] = mapped_column(String(80))
    gloss: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40))
    slur: Mapped[bool] = mapped_column(Boolean, default=False)
    info_key: Mapped[str] = mapped_column(String(16))


class SegmentTheme(Base):
    """A theme found in one segment and the cues that fired it (so a reader sees why)."""

    __tablename__ = "segment_themes"
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    theme: Mapped[str] = mapped_column(String(60))
    cues: Mapped[list[Any]] = mapped_column(default=list)
    info_key: Mapped[str] = mapped_column(String(16))


class CallTheme(Base):
    """A theme of a whole call (cues pooled over its segments); what trends count."""

    __tablename__ = "call_themes"
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)
    info_key: Mapped[str] = mapped_column(String(16))


class CallThemeOverride(Base):
    """An editor's decision that a call does (or does not) carry a theme.

    Analysis rows are replaced on every re-analysis; these decisions are not, and are
    re-applied on top of each new analysis, so a machine re-run never undoes them.
    """

    __tablename__ = "call_theme_overrides"
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(60), primary_key=True)
    present: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class EntityPersonOverride(Base):
    """An editor's link of a name at a span of a segment to a Person (or to nobody)."""

    __tablename__ = "entity_person_overrides"
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), primary_key=True)
    start: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    end: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    actor: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseSlangEntry(Base):
    """A slang term an editor added for this case only (the case lexicon).

    Kept with who added it and when; applied to every segment of the case at once and
    re-applied after each re-analysis, and listed in exports' provenance.
    """

    __tablename__ = "case_slang_entries"
    term: Mapped[str] = mapped_column(String(80), primary_key=True)
    forms: Mapped[list[Any]] = mapped_column(default=list)
    gloss: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40))
    notes: Mapped[str] = mapped_column(Text, default="")
    slur: Mapped[bool] = mapped_column(Boolean, default=False)
    coarse: Mapped[bool] = mapped_column(Boolean, default=False)
    actor: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Translation(Base):
    """The English translation of one segment and where it stands in review.

    `version` is bumped on every change; writers pass the version they read and a
    stale one is refused, so two translators never silently overwrite each other.
    """

    __tablename__ = "translations"
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    language: Mapped[str] = mapped_column(String(10), default="en")
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    engine: Mapped[dict[str, Any]] = mapped_column(default=dict)
    translator: Mapped[str | None] = mapped_column(String(200))
    reviewer: Mapped[str | None] = mapped_column(String(200))
    approver: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # The ORM adds "WHERE version = <read version>" to every UPDATE and bumps it, so a
    # concurrent writer between our check and our flush still fails (StaleDataError).
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class TranslationHistory(Base):
    """Append-only record of every change to a translation (text and status as of then)."""

    __tablename__ = "translation_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    translation_id: Mapped[int] = mapped_column(ForeignKey("translations.id"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
