"""Call records: the CSV that says who called whom, when, for each audio file.

A case usually arrives as a folder of recordings plus a spreadsheet exported from whatever
system captured them. This module reads that spreadsheet strictly — a wrong date or number
in evidence is worse than a missing one — but forgivingly per row: a bad row becomes a
:class:`RecordProblem` naming its line and the offending value, and the other rows go on.
Only problems with the file as a whole (unreadable, not text, required columns missing)
raise :class:`~earshot.errors.RecordError`.

Values are kept as data, verbatim apart from control characters: a note reading
``=HYPERLINK("http://…")`` or ``<script>`` is what the source wrote and may itself be evidence.
Guarding spreadsheets against formula injection is the exporter's job, escaping HTML the
renderer's; nothing read here may be passed to a shell, SQL string or spreadsheet unguarded.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from earshot.errors import ConfigError, RecordError
from earshot.ingest.textfile import clean_line, decode_text, strip_controls
from earshot.phones import normalize_phone

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "CallRecord",
    "RecordProblem",
    "read_call_records",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("file", "started_at", "caller", "callee")
OPTIONAL_COLUMNS: tuple[str, ...] = ("caller_name", "callee_name", "location", "notes")
_DELIMITERS = (",", ";", "\t")
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CallRecord:
    """One call: its audio file, start time (UTC), both numbers (E.164) and what else is known.

    Text values are verbatim (control characters removed); formula-like values such as
    ``=HYPERLINK(...)`` are NOT neutralised here — the exporter must guard them.
    """

    row: int
    file: str
    started_at: datetime
    caller: str
    callee: str
    caller_raw: str
    callee_raw: str
    caller_name: str | None
    callee_name: str | None
    location: str | None
    notes: str | None
    attributes: dict[str, str]


@dataclass(frozen=True)
class RecordProblem:
    """A CSV row that was skipped: its line, its file name if readable, what to fix."""

    row: int
    file: str | None
    message: str


# --------------------------------------------------------------------------- dates

_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_DAY_FIRST = re.compile(
    r"(?P<d>\d{1,2})(?P<sep>[./])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})[ T]+"
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
)
_EPOCH = re.compile(r"\d{9,10}(?:\.\d{1,6})?")
DATE_FORMATS_HELP = (
    "use 2023-01-15 14:32[:05][+03:00], 15.01.2023 14:32[:05], 15/01/2023 14:32 "
    "or Unix epoch seconds"
)


def _parse_started_at(raw: str, zone: ZoneInfo) -> datetime:
    """The UTC instant `raw` names; ValueError (one line, names the value) if it cannot be read.

    Only explicit formats are accepted: a lenient parser would silently read 03/04 as March
    or April, and in evidence that is a different day.
    """
    text = raw.strip()
    moment: datetime
    try:
        if _ISO.fullmatch(text):
            moment = datetime.fromisoformat(text.replace(",", ".").upper().replace("Z", "+00:00"))
        elif match := _DAY_FIRST.fullmatch(text):
            y, m, d, hh, mm, ss = (int(match.group(k) or 0) for k in ("y", "m", "d", "H", "M", "S"))
            moment = datetime(y, m, d, hh, mm, ss)
        elif _EPOCH.fullmatch(text):
            moment = datetime.fromtimestamp(float(text), tz=UTC)
        else:
            raise ValueError(DATE_FORMATS_HELP)
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"started_at {_show(raw)} is not a valid date and time ({exc})") from None
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=zone)
        back = local.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        other = moment.replace(tzinfo=zone, fold=1).astimezone(UTC)
        if back != moment:
            raise ValueError(
                f"started_at {_show(raw)} does not exist in time zone {zone.key} (clocks "
                "were moved forward); write it with its UTC offset, e.g. +03:00"
            )
        if other != local.astimezone(UTC):
            raise ValueError(
                f"started_at {_show(raw)} is ambiguous in time zone {zone.key} (clocks were "
                "moved back); write it with its UTC offset, e.g. +03:00"
            )
        moment = local
    result = moment.astimezone(UTC)
    if not _EARLIEST <= result < _LATEST:
        raise ValueError(f"started_at {_show(raw)} is outside 1970–2099; check the year")
    return result


# --------------------------------------------------------------------------- helpers


def _show(value: str, limit: int = 60) -> str:
    """A value quoted for a one-line message, truncated (hostile values may be huge)."""
    shown = repr(value if len(value) <= limit else value[:limit] + "…")
    return shown


def _error(path: Path, what: str, todo: str) -> RecordError:
    return RecordError(f"{path}: {what} — {todo}")


def _read_text(path: Path, max_bytes: int) -> str:
    if not path.is_file():
        raise _error(path, "no such call-records file", "check the path and retry")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _error(
                path,
                f"is {size} bytes, over the {max_bytes}-byte limit for call records",
                "check it is the right file, or raise max_bytes",
            )
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise _error(path, f"cannot be read ({exc.strerror})", "check its permissions") from None
    if len(data) > max_bytes:
        raise _error(path, f"grew past the {max_bytes}-byte limit while being read", "retry")
    try:
        text, _ = decode_text(data)
    except ValueError as exc:
        raise _error(path, str(exc), "export the table again as CSV in UTF-8") from None
    if not text.strip():
        raise _error(
            path,
            "is empty",
            "export the call records with a header line: " + ",".join(REQUIRED_COLUMNS),
        )
    return text


def _header_fields(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _detect_delimiter(text: str) -> str:
    """`,` `;` or tab: the one that splits the header into the required columns.

    Excel in Russian locales writes `;`, most tools `,`; sniffing the header alone is
    reliable because its names are known, unlike csv.Sniffer's guess over the whole body.
    """
    first_line = text.split("\n", 1)[0]
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        names = {_normal_name(name) for name in _header_fields(first_line, delimiter)}
        if set(REQUIRED_COLUMNS) <= names:
            return delimiter
        if len(names) > best_count:
            best, best_count = delimiter, len(names)
    return best


def _normal_name(name: str) -> str:
    return clean_line(name).casefold()


def _cell(value: str, *, multiline: bool = False) -> str:
    """A cell's value: control characters gone, one line unless the column may hold notes."""
    if multiline:
        return strip_controls(value.replace("\r\n", "\n"), keep="\n\t").strip()
    return clean_line(value)


def _read_header(path: Path, header: list[str], delimiter: str) -> list[str]:
    names = [_normal_name(name) for name in header]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise _error(
                path,
                f"the header names column {_show(name)} twice",
                "rename or remove one of them",
            )
        seen.add(name)
    missing = [column for column in REQUIRED_COLUMNS if column not in seen]
    if missing:
        shown = ", ".join(_show(name) for name in header[:12])
        raise _error(
            path,
            f"missing required column(s) {', '.join(missing)} (header read with delimiter "
            f"{delimiter!r}: {shown})",
            f"the first line must name at least {','.join(REQUIRED_COLUMNS)}",
        )
    return names


# --------------------------------------------------------------------------- rows


def _optional(value: str) -> str | None:
    return value or None


def _parse_row(
    line: int,
    values: dict[str, str],
    extras: dict[str, str],
    region: str,
    zone: ZoneInfo,
) -> CallRecord | RecordProblem:
    file_raw = values["file"]
    file_name = re.split(r"[\\/]", file_raw)[-1].strip()
    problems = []
    if file_name in ("", ".", ".."):
        problems.append(f"file {_show(file_raw)} is not a file name; write the audio's file name")
    started_at = None
    try:
        started_at = _parse_started_at(values["started_at"], zone)
    except ValueError as exc:
        problems.append(str(exc))
    numbers = {}
    for column in ("caller", "callee"):
        try:
            numbers[column] = normalize_phone(values[column], region)
        except ValueError:
            problems.append(
                f"{column} {_show(values[column])} is not a valid phone number (default region "
                f"{region}); write it with its country code, e.g. +7 916 555-12-34"
            )
    if problems or started_at is None:
        return RecordProblem(line, file_name or None, f"line {line}: " + "; ".join(problems))
    return CallRecord(
        row=line,
        file=file_name,
        started_at=started_at,
        caller=numbers["caller"],
        callee=numbers["callee"],
        caller_raw=values["caller"],
        callee_raw=values["callee"],
        caller_name=_optional(values.get("caller_name", "")),
        callee_name=_optional(values.get("callee_name", "")),
        location=_optional(values.get("location", "")),
        notes=_optional(values.get("notes", "")),
        attributes=extras,
    )


def _same_call(one: CallRecord, other: CallRecord) -> bool:
    return (one.started_at, one.caller, one.callee, one.caller_name, one.callee_name) == (
        other.started_at,
        other.caller,
        other.callee,
        other.caller_name,
        other.callee_name,
    ) and (one.location, one.notes, one.attributes) == (
        other.location,
        other.notes,
        other.attributes,
    )


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {_show(timezone)} for call records — use a tz database "
            "name such as Europe/Moscow or UTC"
        ) from None


def read_call_records(
    path: Path, *, region: str = "RU", timezone: str = "UTC", max_bytes: int = 200_000_000
) -> tuple[list[CallRecord], list[RecordProblem]]:
    """Read the call-records CSV at `path`: the good rows, and a problem for each bad row.

    `region` is the phone numbering region for numbers written without a country code;
    `timezone` (a tz database name) is the zone of times written without an offset.
    Raises RecordError when the file as a whole cannot be used, ConfigError for a bad zone.
    """
    zone = _zone(timezone)
    text = _read_text(path, max_bytes)
    delimiter = _detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as exc:
        raise _error(path, f"unreadable header line ({exc})", "fix the first line") from None
    names = _read_header(path, header, delimiter)
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    records: list[CallRecord] = []
    problems: list[RecordProblem] = []
    by_file: dict[str, CallRecord] = {}
    previous_end = reader.line_num
    while True:
        line = previous_end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            previous_end = reader.line_num
            problems.append(
                RecordProblem(line, None, f"line {line}: unreadable CSV ({exc}); check its quotes")
            )
            continue
        previous_end = reader.line_num
        if not any(field.strip() for field in row):
            continue  # blank lines and rows of empty cells are layout, not records
        if len(row) != len(names):
            file_index = names.index("file")
            problems.append(
                RecordProblem(
                    line,
                    clean_line(row[file_index]) or None if file_index < len(row) else None,
                    f"line {line}: has {len(row)} fields but the header has {len(names)}; "
                    f"quote values that contain {delimiter!r} or line breaks, and check for an "
                    "unclosed quote",
                )
            )
            continue
        values: dict[str, str] = {}
        extras: dict[str, str] = {}
        for index, (name, raw) in enumerate(zip(names, row, strict=True)):
            if name in known:
                values[name] = _cell(raw, multiline=name == "notes")
            elif name or raw.strip():
                label = clean_line(header[index]) or f"column {index + 1}"
                extras[label] = _cell(raw, multiline=True)
        outcome = _parse_row(line, values, extras, region.upper(), zone)
        if isinstance(outcome, RecordProblem):
            problems.append(outcome)
            continue
        first = by_file.get(outcome.file)
        if first is None:
            by_file[outcome.file] = outcome
            records.append(outcome)
        elif not _same_call(first, outcome):
            problems.append(
                RecordProblem(
                    line,
                    outcome.file,
                    f"line {line}: file {_show(outcome.file)} already has a record on line "
                    f"{first.row} with different values; keep one row per audio file",
                )
            )
    return records, problems
