"""Neutral metadata: what a published file says about itself, beyond its text.

A redacted publication names no original file (a call is "call-12"), gives times
and durations only as precisely as the story needs (the policy's ``precision``:
by default whole seconds and whole minutes), and its container metadata carries
nothing but what the format requires: DOCX core properties hold the title and
the export's own time, no author and none of the template's description, dates
or thumbnail; PDFs get a minimal Info dictionary and XMP packet; audio clips no
tags at all. Every replacement is counted in the redaction report.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .policy import RedactionPolicy
    from .redact_export import RedactionSummary
    from .redaction import Redactor

__all__ = [
    "Precision",
    "call_file_name",
    "neutral_call_metadata",
    "neutral_docx",
    "round_duration",
    "round_time",
]


@dataclass(frozen=True)
class Precision:
    """How precisely a redacted publication gives durations (s) and start times (min)."""

    duration_seconds: int = 1
    time_minutes: int = 1

    @classmethod
    def of(cls, policy: RedactionPolicy) -> Precision:
        return policy.precision


def call_file_name(call_id: int) -> str:
    """What stands for a call's original file name in a redacted publication."""
    return f"call-{call_id}"


def round_duration(seconds: float | None, precision: Precision) -> float | None:
    """`seconds` rounded to the nearest multiple of the precision (never below one step
    for a non-empty call)."""
    if seconds is None:
        return None
    step = precision.duration_seconds
    rounded = round(float(seconds) / step) * step
    return float(max(rounded, step if seconds > 0 else 0))


def round_time(iso: str | None, precision: Precision) -> str | None:
    """An ISO 8601 time rounded down to the precision's minutes (seconds dropped)."""
    if not iso:
        return iso
    when = datetime.fromisoformat(iso)
    minutes = when.hour * 60 + when.minute
    minutes -= minutes % precision.time_minutes
    rounded = when.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)
    return rounded.isoformat()


def neutral_call_metadata(
    call: dict[str, Any],
    redactor: Redactor,
    precision: Precision,
    phones: Sequence[str] = (),
) -> RedactionSummary:
    """Replace a redacted export call's file name by its id and round its times in place;
    return what was replaced (the file name's redacted details, counted, plus the name
    itself, the start time and duration when rounding changed them). `phones`: the case's
    numbers (E.164), so one in a file name ("0079161234567_call.wav") is counted even
    when the redactor would not have known it for a phone."""
    from .redact_export import RedactionSummary

    summary = RedactionSummary()
    original = str(call.get("source_file") or "")
    name = call_file_name(int(call["id"]))
    if original and original != name:
        spans = redactor.redact(original).spans
        summary.add(spans, "file names")
        found = sum(s.category == "phone" for s in spans)
        summary.count("phone", "file names", _file_name_phones(original, phones) - found)
        summary.count("file name", "file names")
    call["source_file"] = name
    started = call.get("started_at")
    rounded = round_time(started, precision)
    summary.count("time", "metadata", int(rounded != started))
    call["started_at"] = rounded
    duration = call.get("duration")
    short = round_duration(duration, precision)
    summary.count("duration", "metadata", int(short != duration))
    call["duration"] = short
    return summary


def _file_name_phones(name: str, phones: Sequence[str]) -> int:
    """How many phone numbers a file name holds: the case's own numbers, and any run of
    digits libphonenumber reads as a valid number ("0079161234567_call.wav")."""
    from earshot.phones import normalize_phone

    found: set[str] = set()
    digits = re.sub(r"\D", "", name)
    found |= {p for p in phones if len(p) > 8 and p[-10:] in digits}
    for run in re.findall(r"\d{10,15}", name):
        for candidate in (run, "+" + run[2:] if run.startswith("00") else run):
            try:
                found.add(normalize_phone(candidate))
            except ValueError:
                continue
            break
    return len(found)


# --------------------------------------------------------------------------- DOCX

_CORE = "docProps/core.xml"
_APP = "docProps/app.xml"
_THUMBNAIL_RE = re.compile(r"docProps/thumbnail\.\w+$")


def neutral_docx(data: bytes, title: str, *, at: datetime | None = None) -> bytes:
    """`data` (a DOCX) with neutral package metadata.

    python-docx's default template carries a description, a 2013 creation date,
    "python-docx" as author and a blank thumbnail; the core properties are rewritten
    (title, no author, the export's own time or none), the thumbnail and its
    relationship removed, and app.xml reduced to the application name.
    """
    from xml.sax.saxutils import escape

    stamp = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title)}</dc:title>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )
    app = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties"><Application>Earshot</Application></Properties>'
    )
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if _THUMBNAIL_RE.match(item.filename):
                continue
            body = source.read(item.filename)
            if item.filename == _CORE:
                body = core.encode("utf-8")
            elif item.filename == _APP:
                body = app.encode("utf-8")
            elif item.filename in ("_rels/.rels", "[Content_Types].xml"):
                body = _drop_thumbnail_refs(body)
            fixed = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, body)
    return out.getvalue()


def _drop_thumbnail_refs(xml: bytes) -> bytes:
    text = xml.decode("utf-8")
    text = re.sub(r"<Relationship [^>]*thumbnail[^>]*/>", "", text)
    text = re.sub(r"<Override [^>]*thumbnail[^>]*/>", "", text)
    return text.encode("utf-8")
