"""Which column of a call-record export means what: built-in heading aliases and --mapping files.

Exports arrive with whatever headings the telco, billing system or intercept tool wrote
(«Дата;Время;Номер А;Номер Б;Длительность», "A-number", «Номер собеседника»...). The
built-in aliases (``data/column_aliases.yaml``) cover the common ones in Russian, Ukrainian
and English; a YAML mapping file names the rest. A :class:`ColumnMap` is the outcome: for
each field, the column it is read from, and the columns kept verbatim as attributes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..phones import normalize_phone

__all__ = [
    "FIELDS",
    "ColumnMap",
    "UserMapping",
    "builtin_aliases",
    "direction_of",
    "fold_heading",
    "load_mapping",
    "resolve_columns",
]

FIELDS: tuple[str, ...] = (
    "file",
    "started_at",
    "date",
    "time",
    "caller",
    "callee",
    "subscriber",
    "other",
    "direction",
    "duration",
    "call_type",
    "cell",
    "imei",
    "imsi",
    "caller_name",
    "callee_name",
    "location",
    "notes",
)
_MAPPING_KEYS = frozenset(
    {"columns", "subscriber_number", "direction_words", "encoding", "sheet", "timezone"}
)
_BRACKETS = re.compile(r"[(\[{].*?[)\]}]")
_NOT_WORD = re.compile(r"[^\w]+")


def fold_heading(text: str) -> str:
    """A heading as compared: lower case, ё→е, bracketed units and punctuation gone."""
    text = _BRACKETS.sub(" ", text.casefold().replace("ё", "е").replace("_", " "))
    return " ".join(_NOT_WORD.sub(" ", text).split())


@dataclass(frozen=True)
class Aliases:
    """The built-in vocabulary: folded heading → field, and direction words."""

    headings: dict[str, str]
    outgoing: tuple[str, ...]
    incoming: tuple[str, ...]


def _words(raw: object, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(w, str) and w.strip() for w in raw):
        raise ConfigError(f"{where}: must be a list of words")
    return tuple(fold_heading(w) or w.casefold() for w in raw)


def _parse_aliases(data: object, where: str) -> Aliases:
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise ConfigError(f"{where}: must have a 'fields' mapping")
    headings: dict[str, str] = {}
    for name, spellings in data["fields"].items():
        if name not in FIELDS:
            raise ConfigError(f"{where}: unknown field {name!r}; fields: {', '.join(FIELDS)}")
        for folded in _words(spellings, f"{where}: fields.{name}"):
            if headings.get(folded, name) != name:
                raise ConfigError(
                    f"{where}: heading {folded!r} is listed under both {headings[folded]} "
                    f"and {name}"
                )
            headings[folded] = name
    words = data.get("direction_words")
    if not isinstance(words, dict) or set(words) != {"outgoing", "incoming"}:
        raise ConfigError(f"{where}: direction_words needs 'outgoing' and 'incoming' lists")
    return Aliases(
        headings,
        _words(words["outgoing"], f"{where}: direction_words.outgoing"),
        _words(words["incoming"], f"{where}: direction_words.incoming"),
    )


@cache
def builtin_aliases() -> Aliases:
    """The aliases shipped with Earshot, validated once."""
    text = resources.files("earshot.ingest").joinpath("data/column_aliases.yaml").read_text("utf-8")
    return _parse_aliases(yaml.safe_load(text), "column_aliases.yaml")


@dataclass(frozen=True)
class UserMapping:
    """What a --mapping file says: field → heading, and batch options it may carry."""

    path: str
    columns: dict[str, str] = field(default_factory=dict)
    subscriber_number: str | None = None
    outgoing: tuple[str, ...] = ()
    incoming: tuple[str, ...] = ()
    encoding: str | None = None
    sheet: str | None = None
    timezone: str | None = None


def load_mapping(path: Path, *, region: str = "RU") -> UserMapping:
    """Read and validate a YAML mapping file; ConfigError names the file and the key."""
    where = str(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the mapping file ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not valid YAML in UTF-8 ({exc})".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a mapping file is a YAML mapping with a 'columns' key")
    unknown = sorted(set(data) - _MAPPING_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"known keys: {', '.join(sorted(_MAPPING_KEYS))}"
        )
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        raise ConfigError(f"{where}: 'columns' must map field names to column headings")
    for name, heading in columns.items():
        if name not in FIELDS:
            raise ConfigError(
                f"{where}: columns.{name}: unknown field; fields: {', '.join(FIELDS)}"
            )
        if not isinstance(heading, str | int) or isinstance(heading, bool) or heading == "":
            raise ConfigError(
                f"{where}: columns.{name}: give the column heading as text (or its number, 1 "
                "for the first column)"
            )
    subscriber = data.get("subscriber_number")
    if subscriber is not None:
        try:
            subscriber = normalize_phone(str(subscriber), region)
        except ValueError:
            raise ConfigError(
                f"{where}: subscriber_number {subscriber!r} is not a valid phone number"
            ) from None
    words = data.get("direction_words") or {}
    if not isinstance(words, dict) or not set(words) <= {"outgoing", "incoming"}:
        raise ConfigError(f"{where}: direction_words takes 'outgoing' and 'incoming' lists")
    for key in ("encoding", "sheet", "timezone"):
        if data.get(key) is not None and not isinstance(data[key], str | int):
            raise ConfigError(f"{where}: {key} must be text")
    return UserMapping(
        where,
        {k: str(v) for k, v in columns.items()},
        subscriber,
        _words(words.get("outgoing", []), f"{where}: direction_words.outgoing"),
        _words(words.get("incoming", []), f"{where}: direction_words.incoming"),
        str(data["encoding"]) if data.get("encoding") else None,
        str(data["sheet"]) if data.get("sheet") is not None else None,
        str(data["timezone"]) if data.get("timezone") else None,
    )


@dataclass(frozen=True)
class ColumnMap:
    """Where each field is read from (column index) and which columns are kept as attributes."""

    fields: dict[str, int]
    extras: dict[int, str]  # index → label, verbatim heading
    headings: tuple[str, ...]
    subscriber_number: str | None = None
    outgoing: tuple[str, ...] = ()
    incoming: tuple[str, ...] = ()
    basis: dict[str, str] = field(default_factory=dict)  # field → "alias" | "mapping"
    # direction_of's answers: an export repeats the same few direction words on every row
    seen_directions: dict[str, str | None] = field(default_factory=dict, compare=False)

    def describe(self) -> list[tuple[str, str, str]]:
        """(heading, field, basis) for every column, in file order, for the dry-run preview."""
        by_index = {index: name for name, index in self.fields.items()}
        rows = []
        for index, heading in enumerate(self.headings):
            name = by_index.get(index)
            rows.append(
                (heading, name or "attribute", self.basis.get(name, "") if name else "kept")
            )
        return rows


def resolve_columns(headings: list[str], user: UserMapping | None = None) -> ColumnMap:
    """Map `headings` to fields; ValueError (one line: what is missing, what to do) if unusable."""
    aliases = builtin_aliases()
    fields: dict[str, int] = {}
    basis: dict[str, str] = {}
    folded = [fold_heading(h) for h in headings]
    seen: dict[str, int] = {}
    for index, name in enumerate(folded):
        if name and name in seen:
            raise ValueError(
                f"the header names column {name!r} twice — rename or remove one of them"
            )
        seen[name] = index
    if user is not None:
        for name, heading in user.columns.items():
            found = _user_index(heading, headings, folded)
            if found is None:
                raise ValueError(
                    f"mapping {user.path}: columns.{name} names {heading!r}, which is not a "
                    f"column of this file (its columns: {', '.join(map(repr, headings[:20]))}) "
                    "— correct the mapping file"
                )
            fields[name] = found
            basis[name] = "mapping"
    taken = set(fields.values())
    for index, name in enumerate(folded):
        target = aliases.headings.get(name)
        # A second column meaning a field already taken (notes and Comment) is kept as an
        # attribute, verbatim: nothing is lost, and the dry run shows which one was used.
        if target is None or index in taken or target in fields:
            continue
        fields[target] = index
        basis[target] = "alias"
    subscriber_number = user.subscriber_number if user else None
    _check_complete(fields, headings, subscriber_number)
    used = set(fields.values())
    extras = {i: h.strip() or f"column {i + 1}" for i, h in enumerate(headings) if i not in used}
    return ColumnMap(
        fields,
        extras,
        tuple(headings),
        subscriber_number,
        (user.outgoing if user else ()) + aliases.outgoing,
        (user.incoming if user else ()) + aliases.incoming,
        basis,
    )


def _user_index(heading: str, headings: list[str], folded: list[str]) -> int | None:
    if heading.isdigit() and 1 <= int(heading) <= len(headings):
        return int(heading) - 1
    for index, name in enumerate(headings):
        if name.strip() == heading.strip():
            return index
    wanted = fold_heading(heading)
    return folded.index(wanted) if wanted and wanted in folded else None


def _check_complete(fields: dict[str, int], headings: list[str], subscriber: str | None) -> None:
    missing = []
    if "started_at" not in fields and "date" not in fields:
        missing.append("started_at (or date and time)")
    has_pair = "caller" in fields and "callee" in fields
    has_subscriber = ("subscriber" in fields or subscriber) and "other" in fields
    if not has_pair and not has_subscriber:
        for name in ("caller", "callee"):
            if name not in fields:
                missing.append(name)
    if missing:
        shown = ", ".join(repr(h) for h in headings[:12])
        raise ValueError(
            f"missing required column(s) {', '.join(missing)} (header: {shown}) — name them "
            "with the usual headings (file, started_at, caller, callee; Дата, Время, Номер А, "
            "Номер Б...) or write a --mapping file (see docs/call-records.md)"
        )


def direction_of(value: str, cmap: ColumnMap) -> str | None:
    """'outgoing' / 'incoming' if `value` starts with one of the direction words, else None."""
    try:
        return cmap.seen_directions[value]
    except KeyError:
        pass
    if len(cmap.seen_directions) > 10_000:
        cmap.seen_directions.clear()
    found = cmap.seen_directions[value] = _direction_of(value, cmap)
    return found


def _direction_of(value: str, cmap: ColumnMap) -> str | None:
    folded = fold_heading(value)
    words = folded.split()
    if not words:
        return None
    for name, vocabulary in (("outgoing", cmap.outgoing), ("incoming", cmap.incoming)):
        if any(" " in stem and folded.startswith(stem) for stem in vocabulary):
            return name
    for word in words[:3]:
        for name, vocabulary in (("outgoing", cmap.outgoing), ("incoming", cmap.incoming)):
            for stem in vocabulary:
                if word == stem or (len(stem) >= 3 and word.startswith(stem)):
                    return name
    return None
