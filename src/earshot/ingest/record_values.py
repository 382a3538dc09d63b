"""The values of call-record cells: text as read, dates and times, durations.

Strict on purpose: only explicit date forms are accepted (a lenient parser would read 03/04
as March or April, and in evidence that is a different day), times without an offset are
read in a named zone and refused where daylight saving makes them impossible or ambiguous,
and everything comes back in UTC. Split out of :mod:`earshot.ingest.records` (the tables).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from earshot.ingest.spreadsheets import Cell
from earshot.ingest.textfile import clean_line, strip_controls

__all__ = ["DATE_FORMATS_HELP", "parse_duration"]

_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


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


def _localize(moment: datetime, raw: str, zone: ZoneInfo) -> datetime:
    """`moment` as UTC; a naive one is read in `zone`, refusing times DST makes ambiguous."""
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


def _parse_started_at(raw: str, zone: ZoneInfo) -> datetime:
    """The UTC instant `raw` names; ValueError (one line, names the value) if it cannot be read.

    Only explicit formats are accepted: a lenient parser would silently read 03/04 as March
    or April, and in evidence that is a different day.
    """
    return _parse_naive_or_aware(raw, zone)[0]


def _parse_naive_or_aware(raw: str, zone: ZoneInfo) -> tuple[datetime, bool]:
    """(UTC instant, whether `raw` had no offset and was read in `zone`)."""
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
    return _localize(moment, raw, zone), moment.tzinfo is None


_DATE_ONLY = re.compile(r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{4})")
_TIME_ONLY = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?")


_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_HMS_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


@lru_cache(maxsize=4096)
def _offset(hour: datetime, zone: ZoneInfo) -> timedelta | None:
    """The zone's UTC offset throughout `hour` (naive), or None if it changes in that hour."""
    start = hour.replace(tzinfo=zone)
    end = (hour + timedelta(minutes=59, seconds=59)).replace(tzinfo=zone)
    offsets = {start.utcoffset(), end.utcoffset(), start.replace(fold=1).utcoffset()}
    offsets.add(end.replace(fold=1).utcoffset())
    if len(offsets) != 1:
        return None
    return offsets.pop()


def _fast_moment(day: str, clock: str, zone: ZoneInfo) -> datetime | None:
    """The common «15.03.2023» + «14:22:05» pair, without building and re-parsing text."""
    d, t = _DMY.fullmatch(day.strip()), _HMS_CLOCK.fullmatch(clock.strip())
    if d is None or t is None:
        return None
    try:
        naive = datetime(int(d[3]), int(d[2]), int(d[1]), int(t[1]), int(t[2]), int(t[3] or 0))
    except ValueError:
        return None
    offset = _offset(naive.replace(minute=0, second=0), zone)
    if offset is None:
        return None  # a DST change in this hour: the careful path says what is wrong
    result = (naive - offset).replace(tzinfo=UTC)
    return result if _EARLIEST <= result < _LATEST else None


def _split_moment(day: Cell, clock: Cell, zone: ZoneInfo) -> tuple[datetime, bool]:
    """Join a date column and a time column (text, or spreadsheet dates and times)."""
    shown = f"{_text(day)} {_text(clock)}".strip()
    if isinstance(day, datetime) and clock in (None, ""):
        return _localize(day, shown, zone), day.tzinfo is None
    if isinstance(day, date):
        day_text = day.strftime("%Y-%m-%d")
    else:
        day_text = _text(day)
        if not _DATE_ONLY.fullmatch(day_text):
            raise ValueError(f"date {_show(day_text)} is not a date (use 15.01.2023 or 2023-01-15)")
    if isinstance(day, str) and isinstance(clock, str):
        fast = _fast_moment(day, clock, zone)
        if fast is not None:
            return fast, True
    if isinstance(clock, datetime | time):
        clock_text = clock.strftime("%H:%M:%S")
    elif isinstance(clock, timedelta):
        seconds = int(clock.total_seconds())
        clock_text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    elif isinstance(clock, float) and 0 <= clock < 1:  # a spreadsheet time as a day fraction
        seconds = round(clock * 86400)
        clock_text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    else:
        clock_text = _text(clock)
        if not _TIME_ONLY.fullmatch(clock_text):
            raise ValueError(f"time {_show(clock_text)} is not a time of day (use 14:32[:05])")
    return _parse_naive_or_aware(f"{day_text} {clock_text}", zone)


# --------------------------------------------------------------------------- cells


def _show(value: str, limit: int = 60) -> str:
    """A value quoted for a one-line message, truncated (hostile values may be huge)."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _text(value: Cell, *, multiline: bool = False) -> str:
    """A cell as text: control characters gone, one line unless the column may hold notes."""
    if value is None:
        return ""
    if isinstance(value, str):
        if (
            value.isprintable()
            and "  " not in value
            and value == value.strip()
            and (value.isascii() or unicodedata.is_normalized("NFC", value))
        ):
            return value  # the usual cell: nothing to clean (what clean_line would return)
        if multiline:
            return strip_controls(value.replace("\r\n", "\n"), keep="\n\t").strip()
        return clean_line(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, timedelta):
        return str(int(value.total_seconds()))
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


_HMS = re.compile(r"(?:(?P<h>\d+):)?(?P<m>\d{1,2}):(?P<s>\d{2})(?:[.,]\d+)?")
_SECONDS = re.compile(r"\d+(?:[.,]\d+)?")


def parse_duration(value: Cell) -> float | None:
    """Seconds from `value`: a number of seconds, h:mm:ss or mm:ss, or a spreadsheet time."""
    if value is None or value == "":
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, time):
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = _text(value).lower().removesuffix("s").removesuffix("сек").removesuffix("с").strip()
    if _SECONDS.fullmatch(text):
        return float(text.replace(",", "."))
    match = _HMS.fullmatch(text)
    if match:
        hours = int(match.group("h") or 0)
        minutes, seconds = int(match.group("m")), int(match.group("s"))
        if seconds < 60 and (hours == 0 or minutes < 60):
            return float(hours * 3600 + minutes * 60 + seconds)
    raise ValueError(f"duration {_show(_text(value))} is not seconds or h:mm:ss")
