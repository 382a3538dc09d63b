"""What a quote would be before it is saved: the verbatim English of a span, how the
edited text differs from it (the live diff of the quote editor) and which segments are
not approved yet. The same rules as :func:`earshot.publish.quotes.create_quote`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.language_models import Translation
from .quotes import _span, check_edit, hms, verbatim_english

__all__ = ["QuotePreview", "preview_quote"]


@dataclass(frozen=True)
class QuotePreview:
    call_id: int
    first: int
    last: int
    start: float | None
    end: float | None
    start_hms: str
    end_hms: str
    verbatim: str
    text: str
    diff: Any
    added: Any
    unmarked_cuts: Any
    unapproved: list[int]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def preview_quote(
    session: Session, call_id: int, first: int, last: int, text: str | None
) -> QuotePreview:
    """The preview of segments `first`..`last` of call `call_id` quoted as `text` (None:
    verbatim). Raises the quote library's error for a span that cannot be quoted at all
    (no such call or span, untranslated segments)."""
    _call, segments = _span(session, call_id, first, last)
    verbatim = verbatim_english(session, segments)
    edited = " ".join((text if text is not None else verbatim).split())
    check = check_edit(verbatim, edited)
    statuses = {
        t.segment_id: t.status
        for t in session.scalars(
            select(Translation).where(Translation.segment_id.in_([s.id for s in segments]))
        )
    }
    start, end = segments[0].start, segments[-1].end
    return QuotePreview(
        call_id=call_id,
        first=first,
        last=last,
        start=start,
        end=end,
        start_hms=hms(start),
        end_hms=hms(end),
        verbatim=verbatim,
        text=edited,
        diff=check.diff,
        added=check.added,
        unmarked_cuts=check.unmarked_cuts,
        unapproved=[s.idx for s in segments if statuses.get(s.id) != "approved"],
    )
