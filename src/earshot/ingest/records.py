"""Call records: the table that says who called whom, when (and, if it has one, which file).

A case usually arrives as a folder of recordings plus a table exported from whatever
system captured them — Earshot's own CSV, a telco export with «Дата;Время;Номер А;Номер Б»
in cp1251, a billing detail with a direction column, an .xlsx workbook. Column headings are
mapped by :mod:`earshot.ingest.mapping`, the encoding decided by
:mod:`earshot.ingest.encodings`, spreadsheets read by :mod:`earshot.ingest.spreadsheets`.

Rows are read strictly — a wrong date or number in evidence is worse than a missing one —
but forgivingly per row: a bad row becomes a :class:`RecordProblem` naming its line and the
offending value, and the other rows go on. Only problems with the file as a whole
(unreadable, not text, required columns missing) raise :class:`~earshot.errors.RecordError`.

Values are kept as data, verbatim apart from control characters: a note reading
``=HYPERLINK("http://…")`` or ``<script>`` is what the source wrote and may itself be evidence.
Guarding spreadsheets against formula injection is the exporter's job, escaping HTML the
renderer's; nothing read here may be passed to a shell, SQL string or spreadsheet unguarded.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from earshot.errors import ConfigError, RecordError
from earshot.ingest.mapping import ColumnMap, UserMapping, direction_of, resolve_columns
from earshot.ingest.record_values import (
    _localize,
    _parse_naive_or_aware,
    _show,
    _split_moment,
    _text,
    parse_duration,
)
from earshot.ingest.spreadsheets import Cell, is_spreadsheet, read_sheet, refuse_binary
from earshot.ingest.textfile import decode_text
from earshot.phones import normalize_phone

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "CallRecord",
    "RecordProblem",
    "RecordTable",
    "parse_duration",
    "read_call_records",
    "read_record_table",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("started_at", "caller", "callee")
OPTIONAL_COLUMNS: tuple[str, ...] = ("file", "caller_name", "callee_name", "location", "notes")
_DELIMITERS = (",", ";", "\t")
_KEPT_FIELDS = ("direction", "call_type", "cell", "imei", "imsi", "duration")


@dataclass(frozen=True)
class CallRecord:
    """One call: its start (UTC), both numbers (E.164), its file if the table names one.

    Text values are verbatim (control characters removed); formula-like values such as
    ``=HYPERLINK(...)`` are NOT neutralised here — the exporter must guard them.
    """

    row: int
    file: str | None
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
    duration: float | None = None
    direction: str | None = None


@dataclass(frozen=True)
class RecordProblem:
    """A row that was skipped: its line, its file name if readable, what to fix."""

    row: int
    file: str | None
    message: str


@dataclass
class RecordTable:
    """Everything read from one call-records file, and how it was read (for reports)."""

    records: list[CallRecord]
    problems: list[RecordProblem]
    columns: ColumnMap
    encoding: str | None  # None for spreadsheets
    timezone: str
    naive_times: int = 0  # rows whose time had no offset and was read in `timezone`
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def _error(path: Path, what: str, todo: str) -> RecordError:
    return RecordError(f"{path}: {what} — {todo}")


@lru_cache(maxsize=65536)
def _phone(raw: str, region: str) -> str:
    """normalize_phone, cached: an export repeats the same few hundred numbers many times."""
    return normalize_phone(raw, region)


# --------------------------------------------------------------------------- rows


def _optional(value: str) -> str | None:
    return value or None


def _value(cells: list[Cell], cmap: ColumnMap, name: str) -> Cell:
    index = cmap.fields.get(name)
    return cells[index] if index is not None else None


def _numbers(
    cells: list[Cell], cmap: ColumnMap, region: str, problems: list[str]
) -> tuple[dict[str, str], dict[str, str], str | None]:
    """(E.164 caller/callee, their raw text, direction) — from A/B columns, or from the
    subscriber and other party's columns with the direction deciding which called."""
    direction = None
    for source in ("direction", "call_type"):
        raw = _text(_value(cells, cmap, source))
        if raw:
            direction = direction_of(raw, cmap)
            if direction is not None or source == "direction":
                break
    if "caller" in cmap.fields and "callee" in cmap.fields:
        raw_numbers = {c: _text(_value(cells, cmap, c)) for c in ("caller", "callee")}
    else:
        own = _text(_value(cells, cmap, "subscriber")) or cmap.subscriber_number or ""
        other = _text(_value(cells, cmap, "other"))
        if direction is None:
            shown = _text(_value(cells, cmap, "direction") or _value(cells, cmap, "call_type"))
            problems.append(
                f"direction {_show(shown)} is neither incoming nor outgoing, so it cannot say "
                "who called; add the word to direction_words in a --mapping file"
            )
            return {}, {}, None
        caller, callee = (own, other) if direction == "outgoing" else (other, own)
        raw_numbers = {"caller": caller, "callee": callee}
    numbers = {}
    for column, raw in raw_numbers.items():
        try:
            numbers[column] = _phone(raw, region)
        except ValueError:
            problems.append(
                f"{column} {_show(raw)} is not a valid phone number (default region "
                f"{region}); write it with its country code, e.g. +7 916 555-12-34"
            )
    return numbers, raw_numbers, direction


def _parse_row(
    line: int, cells: list[Cell], cmap: ColumnMap, region: str, zone: ZoneInfo
) -> tuple[CallRecord | RecordProblem, bool]:
    """The record (or problem) for one row, and whether its time was naive."""
    problems: list[str] = []
    file_name: str | None = None
    if "file" in cmap.fields:
        file_raw = _text(_value(cells, cmap, "file"))
        file_name = re.split(r"[\\/]", file_raw)[-1].strip() or None
        if file_raw and file_name in (None, ".", ".."):
            problems.append(
                f"file {_show(file_raw)} is not a file name; write the audio's file name"
            )
    started_at, naive = None, False
    try:
        if "started_at" in cmap.fields:
            raw_time = _value(cells, cmap, "started_at")
            if isinstance(raw_time, datetime):
                started_at, naive = _localize(raw_time, _text(raw_time), zone), True
            else:
                started_at, naive = _parse_naive_or_aware(_text(raw_time), zone)
        else:
            day, clock = _value(cells, cmap, "date"), _value(cells, cmap, "time")
            started_at, naive = _split_moment(day, clock, zone)
    except ValueError as exc:
        problems.append(str(exc))
    numbers, raw_numbers, direction = _numbers(cells, cmap, region, problems)
    duration = None
    try:
        duration = parse_duration(_value(cells, cmap, "duration"))
    except ValueError as exc:
        problems.append(str(exc))
    if problems or started_at is None or len(numbers) < 2:
        return RecordProblem(line, file_name, f"line {line}: " + "; ".join(problems)), False
    fields = cmap.fields
    attributes: dict[str, str] = {
        name: _text(cells[fields[name]]) for name in _KEPT_FIELDS if name in fields
    }
    for index, label in cmap.extras.items():
        raw = cells[index] if index < len(cells) else None
        attributes[label] = _text(raw, multiline=True)
    optional = {
        name: _optional(_text(cells[fields[name]], multiline=name == "notes"))
        for name in ("caller_name", "callee_name", "location", "notes")
        if name in fields
    }
    return CallRecord(
        row=line,
        file=file_name if file_name not in (".", "..") else None,
        started_at=started_at,
        caller=numbers["caller"],
        callee=numbers["callee"],
        caller_raw=raw_numbers["caller"],
        callee_raw=raw_numbers["callee"],
        caller_name=optional.get("caller_name"),
        callee_name=optional.get("callee_name"),
        location=optional.get("location"),
        notes=optional.get("notes"),
        attributes=attributes,
        duration=duration,
        direction=direction,
    ), naive


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


def _filled(cell: Cell) -> bool:
    return cell is not None and (not isinstance(cell, str) or bool(cell.strip()))


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {_show(timezone)} for call records — use a tz database "
            "name such as Europe/Moscow or UTC"
        ) from None


# --------------------------------------------------------------------------- tables


def _read_bytes(path: Path, max_bytes: int) -> bytes:
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
    return data


def _header_fields(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _detect_delimiter(text: str, user: UserMapping | None) -> str:
    """`,` `;` or tab: the one whose header maps completely (or splits into most columns).

    Excel in Russian locales writes `;`, most tools `,`; sniffing the header alone is
    reliable because its names are known, unlike csv.Sniffer's guess over the whole body.
    """
    first_line = text.split("\n", 1)[0]
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        names = _header_fields(first_line, delimiter)
        try:
            resolve_columns(names, user)
            return delimiter
        except ValueError:
            pass
        if len(names) > best_count:
            best, best_count = delimiter, len(names)
    return best


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str] | str]]:
    """(line number, fields) per row, or (line, error) for an unreadable one."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous_end = 0
    while True:
        line = previous_end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            previous_end = reader.line_num
            yield line, f"line {line}: unreadable CSV ({exc}); check its quotes"
            continue
        previous_end = reader.line_num
        yield line, row


def _table_rows(
    path: Path,
    data: bytes | None,
    encoding: str | None,
    sheet: str | None,
    user: UserMapping | None,
) -> tuple[Iterator[tuple[int, list[Cell] | str]], str | None, str]:
    """The rows of `path` (CSV text or a spreadsheet), its encoding, and the CSV delimiter."""
    if is_spreadsheet(path):
        sheet_rows = read_sheet(path, sheet)
        return ((i, row) for i, row in enumerate(sheet_rows, 1)), None, ""
    assert data is not None
    refuse_binary(path, data[:8])
    try:
        text, used = decode_text(data, encoding)
    except ValueError as exc:
        raise _error(
            path, str(exc), "export the table again as CSV in UTF-8, or pass --encoding"
        ) from None
    if not text.strip():
        raise _error(
            path,
            "is empty",
            "export the call records with a header line: file," + ",".join(REQUIRED_COLUMNS),
        )
    delimiter = _detect_delimiter(text, user)
    # list[str] is a list[Cell] that is only ever read: the cast costs nothing per row.
    rows = cast(Iterator[tuple[int, list[Cell] | str]], _csv_rows(text, delimiter))
    return rows, used, delimiter


def read_record_table(
    path: Path,
    *,
    region: str = "RU",
    timezone: str = "UTC",
    max_bytes: int = 200_000_000,
    mapping: UserMapping | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> RecordTable:
    """Read the call records at `path` (CSV in any supported encoding, .xlsx or .ods).

    `region` is the phone numbering region for numbers written without a country code;
    `timezone` (a tz database name) is the zone of times written without an offset;
    `mapping` says which column is which where the built-in headings do not.
    Raises RecordError when the file as a whole cannot be used, ConfigError for a bad zone.
    """
    if mapping is not None:
        encoding = encoding or mapping.encoding
        sheet = sheet if sheet is not None else mapping.sheet
        timezone = mapping.timezone or timezone
    zone = _zone(timezone)
    data = None if is_spreadsheet(path) and path.is_file() else _read_bytes(path, max_bytes)
    if data is None and path.stat().st_size > max_bytes:
        raise _error(path, f"is over the {max_bytes}-byte limit", "check it is the right file")
    rows, used, delimiter = _table_rows(path, data, encoding, sheet, mapping)
    header: list[Cell] | None = None
    for _line, head in rows:
        if isinstance(head, str):
            raise _error(path, f"unreadable header line ({head})", "fix the first line")
        if any(_text(c) for c in head):
            header = head
            break
    if header is None:
        raise _error(path, "is empty", "the first row must name the columns")
    headings = [_text(c) for c in header]
    try:
        cmap = resolve_columns(headings, mapping)
    except ValueError as exc:
        shown = f" (header read with delimiter {delimiter!r})" if delimiter else ""
        message = str(exc)
        what, _, todo = message.partition(" — ")
        raise _error(path, what + shown, todo or "fix the header") from None
    table = RecordTable([], [], cmap, used, zone.key, sheet=sheet)
    by_file: dict[str, CallRecord] = {}
    by_key: dict[tuple[datetime, str, str], CallRecord] = {}
    width = len(headings)
    region = region.upper()
    file_index = cmap.fields.get("file")
    for line, row in rows:
        if isinstance(row, str):
            table.problems.append(RecordProblem(line, None, row))
            continue
        if not _filled(row[0] if row else None) and not any(_filled(c) for c in row):
            continue  # blank lines and rows of empty cells are layout, not records
        if len(row) != width:
            if delimiter or len(row) > width:
                named = file_index is not None and file_index < len(row)
                table.problems.append(
                    RecordProblem(
                        line,
                        (_text(row[file_index]) or None)
                        if named and file_index is not None
                        else None,
                        f"line {line}: has {len(row)} fields but the header has {width}; "
                        f"quote values that contain {delimiter or ','!r} or line breaks, and "
                        "check for an unclosed quote",
                    )
                )
                continue
            row = list(row) + [None] * (width - len(row))  # a sheet's trailing empty cells
        outcome, naive = _parse_row(line, row, cmap, region, zone)
        if isinstance(outcome, RecordProblem):
            table.problems.append(outcome)
            continue
        table.naive_times += naive
        if outcome.file is not None:
            first = by_file.get(outcome.file)
            if first is None:
                by_file[outcome.file] = outcome
            elif _same_call(first, outcome):
                continue
            else:
                table.problems.append(
                    RecordProblem(
                        line,
                        outcome.file,
                        f"line {line}: file {_show(outcome.file)} already has a record on line "
                        f"{first.row} with different values; keep one row per audio file",
                    )
                )
                continue
        else:
            key = (outcome.started_at, outcome.caller, outcome.callee)
            twin = by_key.get(key)
            if twin is not None and _same_call(twin, outcome):
                continue
            by_key.setdefault(key, outcome)
        table.records.append(outcome)
    return table


def read_call_records(
    path: Path,
    *,
    region: str = "RU",
    timezone: str = "UTC",
    max_bytes: int = 200_000_000,
    mapping: UserMapping | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> tuple[list[CallRecord], list[RecordProblem]]:
    """Read the call records at `path`: the good rows, and a problem for each bad row."""
    table = read_record_table(
        path,
        region=region,
        timezone=timezone,
        max_bytes=max_bytes,
        mapping=mapping,
        encoding=encoding,
        sheet=sheet,
    )
    return table.records, table.problems
