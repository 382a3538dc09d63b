"""Security tables in the case database: the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

__all__ = ["AuditEntry"]


class AuditEntry(Base):
    """Who viewed, played, searched, edited, verified or exported what, and when.

    Append-only (database triggers refuse UPDATE, DELETE and INSERT without a MAC) and
    hash-chained, MAC'd and anchored like the custody log, so an altered, removed,
    reordered or forged entry is detected by ``earshot audit verify``.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_mac: Mapped[str | None] = mapped_column(String(64))  # see CustodyEntry
