"""Export formats: each turns an export dict into bytes plus the text a leak guard reads.

Every writer returns :class:`Rendered`: the file's bytes and the strings actually
in it (for text formats the output itself; for DOCX the text read back from the
written document; for PDF the HTML it is typeset from), so the leak guard checks
what is published, not what was meant to be. Which formats exist is the registry's
business (:mod:`.registry`, the ``earshot.export_formats`` entry points).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._common import Rendered, clock, party_name, speaker
from .registry import (
    ExportFormat,
    GuardReads,
    export_format_names,
    export_formats,
    formats_table,
    get_format,
    register_format,
    unregister_format,
)

__all__ = [
    "ExportFormat",
    "GuardReads",
    "Rendered",
    "Writer",
    "clock",
    "export_format_names",
    "export_formats",
    "formats_table",
    "get_format",
    "get_writer",
    "party_name",
    "register_format",
    "speaker",
    "unregister_format",
]

Writer = Callable[[dict[str, Any]], Rendered]


def get_writer(name: str) -> Writer:
    """The writer of the registered format `name` (a ConfigError names the others)."""
    return get_format(name).render
