"""The web's side of the publication layer (``earshot.publish``): quotes, files, pseudonyms.

Everything that decides what may be published stays in ``earshot.publish``; this
module only shapes its results for pages and the API: the quote builder's view of
a call (positions, times, translation states), the live check of an edited quote
against the verbatim English, why a quote was refused (so the page can offer the
matching override), and files written to a private temporary directory of the
case, streamed and then removed.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from .. import edits
from ..errors import QuoteRefusedError
from ..publish.formats import export_formats
from ..security.roles import Actor
from ..store.case import Case

__all__ = [
    "AUDIO_FORMATS",
    "SHEET_FORMATS",
    "QuoteRefusedError",
    "TempFile",
    "export_format_names",
    "leak_list",
    "media_type",
    "preview_quote",
    "pseudonym_rows",
    "quote_rows",
    "safe_filename",
    "save_quote",
    "temp_output",
]

SHEET_FORMATS = ("md", "html", "pdf", "docx")
AUDIO_FORMATS = ("wav", "flac", "ogg", "mp3")
# Downloads that are not export formats (those come from the format registry).
_OTHER_MEDIA_TYPES = {"zip": "application/zip"}


def export_format_names() -> list[str]:
    """The formats an export may be asked in: the registry's, nothing else."""
    return list(export_formats())


def media_type(fmt: str) -> str:
    """The media type a download of `fmt` is served with."""
    spec = export_formats().get(fmt)
    if spec is not None:
        return str(spec.media_type)
    return _OTHER_MEDIA_TYPES.get(fmt, "application/octet-stream")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(*parts: str, suffix: str) -> str:
    """An ASCII file name made of `parts` (never user text that could break a header)."""
    stem = "-".join(p for p in (_UNSAFE.sub("-", part).strip("-.") for part in parts) if p)
    return f"{stem or 'earshot'}.{_UNSAFE.sub('', suffix) or 'bin'}"


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def suffix_for(fmt: str) -> str:
    spec = export_formats().get(fmt)
    return spec.suffix if spec is not None else fmt


@dataclass(frozen=True)
class TempFile:
    """A file written for one download, in a private directory removed after sending."""

    directory: Path
    path: Path

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def temp_output(case: Case, name: str) -> TempFile:
    """A path `name` in a new private directory under the case's tmp/ (same disk,
    same protection as the case; never the system temp of a shared machine)."""
    base = case.media.tmp
    base.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="web-download-", dir=base))
    return TempFile(directory, directory / name)


def leak_list(exc: Exception) -> list[dict[str, str]]:
    """The leaks of a LeakDetectedError as rows (what, where, category, kind)."""
    return [
        {
            "location": leak.location,
            "found": leak.found,
            "category": leak.category,
            "kind": leak.kind,
        }
        for leak in getattr(exc, "leaks", ())
    ]


# -- quotes ---------------------------------------------------------------------------
def preview_quote(
    session: Session, call_id: int, first: int, last: int, text: str | None
) -> dict[str, Any]:
    """The library's quote preview (``earshot.publish.quote_preview``): the verbatim
    English of a span and how `text` differs from it (the live diff)."""
    from ..publish.quote_preview import preview_quote as library_preview

    return library_preview(session, call_id, first, last, text).as_dict()


def save_quote(
    session: Session,
    actor: Actor,
    call_id: int,
    first: int,
    last: int,
    text: str,
    *,
    allow_rewrite: bool,
    allow_unapproved: bool,
) -> dict[str, Any]:
    """Create the quote through the library (``earshot.edits.create_quote``: role check,
    rules, audit); a refusal says which override would allow it."""
    from ..publish.quotes import QuoteError

    try:
        preview = preview_quote(session, call_id, first, last, text)
    except QuoteError as exc:
        raise QuoteRefusedError(str(exc), "invalid") from None
    try:
        row = edits.create_quote(
            session,
            actor,
            call_id=call_id,
            first=first,
            last=last,
            text=text,
            allow_rewrite=allow_rewrite,
            allow_unapproved=allow_unapproved,
        )
    except QuoteError as exc:
        if not preview["text"]:
            reason = "invalid"
        elif preview["added"] and not allow_rewrite:
            reason = "rewrite"
        elif preview["unmarked_cuts"] and not allow_rewrite:
            reason = "unmarked_cut"
        elif preview["unapproved"] and not allow_unapproved:
            reason = "unapproved"
        else:
            reason = "invalid"
        raise QuoteRefusedError(str(exc), reason) from None
    return _with_links(row)


def _with_links(row: dict[str, Any]) -> dict[str, Any]:
    row["sha256_prefix"] = (row["original_sha256"] or "")[:12]
    # Rounded up to the hundredth so the link lands inside the quote's first segment.
    row["seek"] = f"{math.ceil((row['start'] or 0.0) * 100) / 100:g}"
    return row


def quote_row(session: Session, quote: Any) -> dict[str, Any]:
    from ..publish.quotes import quote_dict

    return _with_links(quote_dict(session, quote))


def quote_rows(session: Session, call_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Saved quotes with their provenance, oldest call first."""
    from ..publish.quotes import list_quotes

    return [quote_row(session, q) for q in list_quotes(session, call_ids)]


# -- pseudonyms ------------------------------------------------------------------------
def pseudonym_rows(session: Session, *, operator: str, assign: bool = True) -> list[dict[str, Any]]:
    """The library's pseudonym list (``earshot.publish.pseudonyms.pseudonym_rows``)."""
    from ..publish.pseudonyms import pseudonym_rows as library_rows

    return library_rows(session, operator=operator, assign=assign)
