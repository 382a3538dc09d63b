"""The export-format registry: the only list of formats Earshot can write.

A format is one :class:`ExportFormat` (its writer, file suffix, media type and what
the leak guard reads of it) defined beside its writer and registered under the
``earshot.export_formats`` entry-point group, exactly as a third-party package
registers one. The CLI's ``--format`` choices, the web API (``GET /api/formats`` and
the export routes), the table in docs/publication.md and the parametrised leak-guard test
all read this registry; nothing else lists formats. :func:`register_format` adds one
at run time (tests, scripts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from earshot.errors import ConfigError

from ._common import Rendered

__all__ = [
    "ENTRY_POINT_GROUP",
    "ExportFormat",
    "GuardReads",
    "export_format_names",
    "export_formats",
    "formats_table",
    "get_format",
    "register_format",
    "unregister_format",
]

ENTRY_POINT_GROUP = "earshot.export_formats"


class GuardReads(StrEnum):
    """What the leak guard scans of a format before the file is written."""

    OUTPUT = "output"  # the text written, as written
    READ_BACK = "read-back"  # the text read back from the written file
    SOURCE = "source"  # the markup the file is typeset from (PDF from its HTML)


@dataclass(frozen=True)
class ExportFormat:
    """One export format: how to write it and how it is served and guarded."""

    name: str
    render: Callable[[dict[str, Any]], Rendered]
    suffix: str  # file-name suffix without the dot ("ftm.json")
    media_type: str
    guard_reads: GuardReads
    description: str
    # What the writer needs beyond the export document, read from the case before
    # rendering (FtM: the case namespace and the audio hashes): (session, case, doc) -> doc.
    prepare: Callable[[Any, Any, dict[str, Any]], dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "suffix": self.suffix,
            "media_type": self.media_type,
            "guard_reads": self.guard_reads.value,
            "description": self.description,
        }


_extra: dict[str, ExportFormat] = {}


@cache
def _entry_point_formats() -> dict[str, ExportFormat]:
    found: dict[str, ExportFormat] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        spec = point.load()
        if not isinstance(spec, ExportFormat) or spec.name != point.name:
            raise ConfigError(
                f"entry point {point.name!r} of {ENTRY_POINT_GROUP} ({point.value}) must be an "
                "ExportFormat of the same name"
            )
        found[point.name] = spec
    return found


def export_format_names() -> list[str]:
    """Registered format names, sorted, without loading any writer."""
    names = {p.name for p in entry_points(group=ENTRY_POINT_GROUP)} | set(_extra)
    return sorted(names)


def export_formats() -> dict[str, ExportFormat]:
    """Every registered format by name (sorted)."""
    merged = {**_entry_point_formats(), **_extra}
    return {name: merged[name] for name in sorted(merged)}


def get_format(name: str) -> ExportFormat:
    """The format `name`, or a ConfigError naming the ones there are."""
    formats = export_formats()
    try:
        return formats[name]
    except KeyError:
        raise ConfigError(
            f"unknown export format {name!r}; use one of {', '.join(formats)}"
        ) from None


def register_format(spec: ExportFormat, *, replace: bool = False) -> None:
    """Add a format at run time (an installed package uses the entry point instead)."""
    if spec.name in export_format_names() and not replace:
        raise ConfigError(f"an export format named {spec.name!r} is already registered")
    _extra[spec.name] = spec


def unregister_format(name: str) -> None:
    _extra.pop(name, None)


def formats_table() -> str:
    """The Markdown table of docs/publication.md ("Export formats"), from the registry."""
    rows = [
        "| format | file | media type | the leak guard reads | what it is |",
        "|--------|------|------------|----------------------|------------|",
    ]
    for spec in export_formats().values():
        rows.append(
            f"| `{spec.name}` | `.{spec.suffix}` | `{spec.media_type}` | "
            f"{spec.guard_reads.value} | {spec.description} |"
        )
    return "\n".join(rows) + "\n"
