"""Export formats: each turns an export dict into bytes plus the text a leak guard reads.

Every writer returns :class:`Rendered`: the file's bytes and the strings actually
in it (for text formats the output itself; for DOCX the text read back from the
written document; for PDF the HTML it is typeset from), so the leak guard checks
what is published, not what was meant to be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._common import Rendered, clock, party_name, speaker

__all__ = ["FORMATS", "Rendered", "clock", "get_writer", "party_name", "speaker"]

Writer = Callable[[dict[str, Any]], Rendered]


def _json(doc: dict[str, Any]) -> Rendered:
    from .text import render_json

    return render_json(doc)


def _md(doc: dict[str, Any]) -> Rendered:
    from .text import render_markdown

    return render_markdown(doc)


def _html(doc: dict[str, Any]) -> Rendered:
    from .html import render_html

    return render_html(doc)


def _pdf(doc: dict[str, Any]) -> Rendered:
    from .html import render_pdf

    return render_pdf(doc)


def _docx(doc: dict[str, Any]) -> Rendered:
    from .docx import render_docx

    return render_docx(doc)


def _vtt(doc: dict[str, Any]) -> Rendered:
    from .subtitles import render_vtt

    return render_vtt(doc)


def _srt(doc: dict[str, Any]) -> Rendered:
    from .subtitles import render_srt

    return render_srt(doc)


def _ftm(doc: dict[str, Any]) -> Rendered:
    from .ftm import render_ftm

    return render_ftm(doc)


FORMATS: dict[str, Writer] = {
    "json": _json,
    "md": _md,
    "html": _html,
    "pdf": _pdf,
    "docx": _docx,
    "vtt": _vtt,
    "srt": _srt,
    "ftm": _ftm,
}


def get_writer(name: str) -> Writer:
    from earshot.errors import EarshotError

    try:
        return FORMATS[name]
    except KeyError:
        raise EarshotError(
            f"unknown export format {name!r}; use one of {', '.join(sorted(FORMATS))}"
        ) from None
