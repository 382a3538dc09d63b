"""What a recording's file name says: the number, contact name, direction and time.

Call-recorder apps and phone makers write these into the name («Call recording
+79161234567_230305_142200.m4a», «Дядя Коля(+79161234567)_20230305142200.mp3»). The schemes
are data (``data/file_name_patterns.yaml``), validated at load with every fictional example
checked; a user's own patterns (same format) are tried first. What a name gives is recorded
with the basis "file name" and the pattern's id, so it is never mistaken for a call record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from ..errors import ConfigError
from ..phones import normalize_phone

__all__ = [
    "NameFacts",
    "NamePattern",
    "builtin_patterns",
    "load_patterns",
    "read_file_name",
]

_TOKENS = (
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSS", "%f"),
    ("Z", "%z"),
)
_GROUPS = frozenset({"number", "name", "party", "direction", "date", "time", "datetime"})
_STATUSES = frozenset({"documented", "observed", "reported", "user"})
_KEYS = frozenset({"id", "app", "status", "regex", "date", "time", "datetime", "examples"})


def _strptime_format(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        for token, directive in _TOKENS:
            if pattern.startswith(token, i):
                out.append(directive)
                i += len(token)
                break
        else:
            out.append(pattern[i].replace("%", "%%"))
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class NamePattern:
    """One naming scheme: its regex and how to read its date and time groups."""

    id: str
    app: str
    status: str
    regex: re.Pattern[str]
    date: str | None
    time: str | None
    datetime: str | None
    examples: tuple[tuple[str, dict[str, str]], ...]


@dataclass(frozen=True)
class NameFacts:
    """What one file name says; every fact rests on the basis "file name: <pattern id>"."""

    pattern: str
    app: str
    number: str | None  # E.164
    number_raw: str | None
    name: str | None
    direction: str | None  # incoming | outgoing
    started_at: datetime | None  # UTC

    @property
    def basis(self) -> str:
        return f"file name: {self.pattern}"


def _parse_patterns(data: Any, where: str, *, user: bool) -> tuple[list[NamePattern], Directions]:
    if not isinstance(data, dict) or not isinstance(data.get("patterns"), list):
        raise ConfigError(f"{where}: needs a 'patterns' list")
    out: list[NamePattern] = []
    seen: set[str] = set()
    for index, entry in enumerate(data["patterns"]):
        at = f"{where}: patterns[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at}: each pattern is a mapping with id, app and regex")
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise ConfigError(f"{at}: unknown key(s) {', '.join(unknown)}")
        for key in ("id", "regex"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise ConfigError(f"{at}: '{key}' is required text")
        if entry["id"] in seen:
            raise ConfigError(f"{at}: id {entry['id']!r} is used twice")
        seen.add(entry["id"])
        status = str(entry.get("status", "user" if user else ""))
        if status not in _STATUSES:
            raise ConfigError(f"{at}: status must be one of {', '.join(sorted(_STATUSES))}")
        try:
            regex = re.compile(entry["regex"])
        except re.error as exc:
            raise ConfigError(f"{at}: regex does not compile ({exc})") from None
        groups = set(regex.groupindex)
        if not groups or not groups <= _GROUPS:
            raise ConfigError(
                f"{at}: the regex's named groups must be among {', '.join(sorted(_GROUPS))}"
            )
        for key in ("date", "time", "datetime"):
            if (key in groups) != bool(entry.get(key)):
                raise ConfigError(f"{at}: a '{key}' group needs a '{key}' format, and back")
        examples = []
        for example in entry.get("examples") or []:
            if not isinstance(example, dict) or not isinstance(example.get("name"), str):
                raise ConfigError(f"{at}: each example needs a 'name'")
            expect = example.get("expect") or {}
            examples.append((example["name"], {k: str(v) for k, v in expect.items()}))
        out.append(
            NamePattern(
                entry["id"],
                str(entry.get("app") or entry["id"]),
                status,
                regex,
                _strptime_format(entry["date"]) if entry.get("date") else None,
                _strptime_format(entry["time"]) if entry.get("time") else None,
                _strptime_format(entry["datetime"]) if entry.get("datetime") else None,
                tuple(examples),
            )
        )
    words = data.get("direction_words") or {}
    if not isinstance(words, dict) or not set(words) <= {"incoming", "outgoing"}:
        raise ConfigError(f"{where}: direction_words takes 'incoming' and 'outgoing' lists")
    directions: Directions = {
        str(word).casefold(): name for name, listed in words.items() for word in listed or []
    }
    return out, directions


Directions = dict[str, str]


@cache
def builtin_patterns() -> tuple[tuple[NamePattern, ...], tuple[tuple[str, str], ...]]:
    """The patterns shipped with Earshot and their direction words, validated once."""
    text = (
        resources.files("earshot.ingest")
        .joinpath("data/file_name_patterns.yaml")
        .read_text("utf-8")
    )
    patterns, words = _parse_patterns(yaml.safe_load(text), "file_name_patterns.yaml", user=False)
    return tuple(patterns), tuple(words.items())


def load_patterns(path: Path) -> list[NamePattern]:
    """A user's own file-name patterns (same YAML format); ConfigError names the problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file-name patterns ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML in UTF-8 ({exc})".replace("\n", " ")) from None
    patterns, _ = _parse_patterns(data, str(path), user=True)
    return patterns


def _moment(pattern: NamePattern, match: re.Match[str], zone: ZoneInfo) -> datetime | None:
    groups = match.groupdict()
    if pattern.datetime and groups.get("datetime"):
        text, formats = groups["datetime"], pattern.datetime
    elif pattern.date and pattern.time and groups.get("date") and groups.get("time"):
        text = f"{groups['date']}\x00{groups['time']}"
        formats = f"{pattern.date}\x00{pattern.time}"
    else:
        return None
    moment = None
    # Fractions of a second are optional wherever a pattern allows them (BCR writes them
    # only when asked to).
    for candidate in (formats, formats.replace(".%f", "")):
        try:
            moment = datetime.strptime(text, candidate)
            break
        except ValueError:
            continue
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    result = moment.astimezone(UTC)
    if not datetime(1990, 1, 1, tzinfo=UTC) <= result < datetime(2100, 1, 1, tzinfo=UTC):
        return None
    return result


def _phone(raw: str, region: str) -> str | None:
    digits = sum(ch.isdigit() for ch in raw)
    if digits < 5 or any(ch.isalpha() for ch in raw):
        return None
    try:
        return normalize_phone(raw, region)
    except ValueError:
        return None


def read_file_name(
    file_name: str,
    *,
    region: str = "RU",
    timezone: str = "UTC",
    extra: tuple[NamePattern, ...] | list[NamePattern] = (),
) -> NameFacts | None:
    """The facts in `file_name` by the first pattern (user patterns first) that matches."""
    stem = PurePosixPath(file_name).stem.strip()
    patterns, words = builtin_patterns()
    directions = dict(words)
    zone = ZoneInfo(timezone)
    for pattern in (*extra, *patterns):
        match = pattern.regex.fullmatch(stem)
        if match is None:
            continue
        groups = {k: (v or "").strip() for k, v in match.groupdict().items()}
        name = groups.get("name") or None
        number_raw = groups.get("number") or None
        party = groups.get("party")
        if party:
            if _phone(party, region) is not None and number_raw is None:
                number_raw = party
            elif name is None and _phone(party, region) is None:
                name = party
        number = _phone(number_raw, region) if number_raw else None
        direction = directions.get(groups.get("direction", "").casefold())
        started_at = _moment(pattern, match, zone)
        if number is None and name is None and started_at is None:
            continue
        return NameFacts(pattern.id, pattern.app, number, number_raw, name, direction, started_at)
    return None
