"""Call records in spreadsheets: .xlsx (openpyxl) and .ods (odfpy), first sheet or a named one.

Cells come back as Python values — text, numbers, and real dates and times where the
spreadsheet typed them as such — so the record reader can take a date cell as a date
instead of guessing at how the spreadsheet program chose to print it. Old binary .xls
workbooks are refused with what to do, rather than failing later as "NUL bytes".
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from ..errors import RecordError

__all__ = ["SPREADSHEET_SUFFIXES", "Cell", "is_spreadsheet", "read_sheet", "refuse_binary"]

SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".ods"})
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_DURATION = re.compile(
    r"-?P(?:(?P<d>\d+)D)?T?(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?"
)

Cell = str | int | float | datetime | date | time | timedelta | None


def is_spreadsheet(path: Path) -> bool:
    return path.suffix.lower() in SPREADSHEET_SUFFIXES


def refuse_binary(path: Path, head: bytes) -> None:
    """Raise a clear RecordError for workbooks Earshot cannot read (.xls, .xlsb, .numbers)."""
    suffix = path.suffix.lower()
    if head.startswith(_OLE_MAGIC) or suffix in (".xls", ".xlsb", ".numbers"):
        kind = "an Excel 97–2003 .xls workbook" if suffix != ".xlsb" else "a binary .xlsb workbook"
        if suffix == ".numbers":
            kind = "an Apple Numbers document"
        raise RecordError(
            f"{path}: is {kind}, which Earshot cannot read — open it and save it as .xlsx, "
            ".ods or CSV (UTF-8), then pass that file"
        )


def _sheet_error(path: Path, wanted: str, names: list[str]) -> RecordError:
    return RecordError(
        f"{path}: has no sheet {wanted!r} — its sheets are {', '.join(map(repr, names))}; "
        "pass one of them with --sheet (a name, or its number from 1)"
    )


def _pick(names: list[str], sheet: str | None, path: Path) -> int:
    if not names:
        raise RecordError(f"{path}: the workbook has no sheets — check the file")
    if sheet is None:
        return 0
    if sheet in names:
        return names.index(sheet)
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return int(sheet) - 1
    raise _sheet_error(path, sheet, names)


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[list[Cell]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise RecordError(
            f"{path}: unreadable .xlsx workbook ({exc}) — open it and save it again"
        ) from None
    try:
        index = _pick(book.sheetnames, sheet, path)
        for row in book.worksheets[index].iter_rows(values_only=True):
            yield [_plain(value) for value in row]
    finally:
        book.close()


def _plain(value: object) -> Cell:
    if value is None or isinstance(value, str | int | float | datetime | date | time | timedelta):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _ods_value(cell: object) -> Cell:
    from odf import teletype

    get = cell.getAttribute  # type: ignore[attr-defined]
    kind = get("valuetype")
    if kind in ("float", "percentage", "currency"):
        number = float(get("value"))
        return int(number) if number.is_integer() else number
    if kind == "date":
        raw = str(get("datevalue"))
        try:
            return datetime.fromisoformat(raw) if "T" in raw else date.fromisoformat(raw)
        except ValueError:
            pass  # read as the text the cell shows
    if kind == "time":
        match = _ODS_DURATION.fullmatch(str(get("timevalue")))
        if match:
            parts = {k: float((v or "0").replace(",", ".")) for k, v in match.groupdict().items()}
            return timedelta(
                days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"]
            )
    text: str = teletype.extractText(cell)
    return text if text != "" else None


def _ods_rows(path: Path, sheet: str | None) -> Iterator[list[Cell]]:
    from odf.namespaces import TABLENS
    from odf.opendocument import load
    from odf.table import Table

    try:
        document = load(str(path))
    except Exception as exc:  # odfpy raises bare XML and zip errors alike
        raise RecordError(
            f"{path}: unreadable .ods spreadsheet ({type(exc).__name__}: {exc}) — open it and "
            "save it again"
        ) from None
    tables = document.spreadsheet.getElementsByType(Table)
    index = _pick([str(t.getAttribute("name")) for t in tables], sheet, path)
    pending_blank = 0
    for row in tables[index].childNodes:
        if getattr(row, "qname", None) != (TABLENS, "table-row"):
            continue
        cells: list[Cell] = []
        for cell in row.childNodes:
            if getattr(cell, "qname", None) not in (
                (TABLENS, "table-cell"),
                (TABLENS, "covered-table-cell"),
            ):
                continue
            repeat = int(cell.getAttribute("numbercolumnsrepeated") or 1)
            value = _ods_value(cell)
            cells.extend([value] * min(repeat, 1024))
        while cells and cells[-1] is None:
            cells.pop()
        repeat_rows = int(row.getAttribute("numberrowsrepeated") or 1)
        if not cells:  # a spreadsheet "ends" with a million repeated empty rows
            pending_blank += repeat_rows
            continue
        for _ in range(min(pending_blank, 10_000)):
            yield []
        pending_blank = 0
        for _ in range(min(repeat_rows, 100_000)):
            yield list(cells)


def _guarded(path: Path, rows: Iterator[list[Cell]]) -> Iterator[list[Cell]]:
    """`rows`, with any library error while reading turned into one RecordError naming `path`."""
    try:
        yield from rows
    except RecordError:
        raise
    except Exception as exc:  # openpyxl and odfpy raise XML, zip and value errors alike
        raise RecordError(
            f"{path}: the spreadsheet cannot be read ({type(exc).__name__}: {exc}) — open it "
            "and save it again, or export the sheet as CSV (UTF-8)"
        ) from None


def read_sheet(path: Path, sheet: str | None = None) -> Iterator[list[Cell]]:
    """The rows of the first (or the named) sheet of `path`, as lists of cell values."""
    with path.open("rb") as handle:
        refuse_binary(path, handle.read(8))
    if path.suffix.lower() == ".ods":
        return _guarded(path, _ods_rows(path, sheet))
    if not zipfile.is_zipfile(path):
        raise RecordError(
            f"{path}: is not an .xlsx workbook (not a zip package) — check the file, or save "
            "it again as .xlsx or CSV"
        )
    return _guarded(path, _xlsx_rows(path, sheet))
