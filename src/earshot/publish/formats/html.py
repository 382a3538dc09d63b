"""HTML (Jinja2, autoescaped, no scripts) and PDF (WeasyPrint typesets the same HTML)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from earshot.errors import EarshotError

from ._common import Rendered, clock, notice, party_name, speaker, title
from .registry import ExportFormat, GuardReads

__all__ = ["HTML_FORMATS", "environment", "html_or_pdf", "render_html", "render_pdf"]

HTML_FORMATS = ("html", "pdf")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("earshot.publish", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(clock=clock, party_name=party_name, speaker=speaker)
    return env


def _html_text(doc: dict[str, Any]) -> str:
    template = environment().get_template("export.html.j2")
    return template.render(
        calls=doc.get("calls", []),
        notice=notice(doc),
        title=title(doc),
        redacted=bool(doc.get("redacted")),
    )


def render_html(doc: dict[str, Any]) -> Rendered:
    text = "<!-- " + notice(doc).replace("--", "- -") + " -->\n" + _html_text(doc)
    return Rendered(text.encode("utf-8"), [("html", text)])


def render_pdf(doc: dict[str, Any]) -> Rendered:
    return html_or_pdf(_html_text(doc), "pdf")


def html_or_pdf(text: str, fmt: str, *, readable: str | None = None) -> Rendered:
    """`text` as an HTML file, or typeset by WeasyPrint as a PDF (`fmt`: one of HTML_FORMATS).

    The leak guard reads `readable` (default: `text`) labelled "html" or "pdf source": a PDF's
    own bytes are compressed, so the HTML it is typeset from is what the guard can check.
    """
    guarded = text if readable is None else readable
    if fmt == "html":
        return Rendered(text.encode("utf-8"), [("html", guarded)])
    if fmt == "pdf":
        from weasyprint import HTML

        return Rendered(bytes(HTML(string=text).write_pdf() or b""), [("pdf source", guarded)])
    raise EarshotError(f"html_or_pdf renders {' or '.join(HTML_FORMATS)}, not {fmt!r}")


HTML = ExportFormat(
    "html",
    render_html,
    "html",
    "text/html; charset=utf-8",
    GuardReads.OUTPUT,
    "one self-contained page (no scripts, CSP)",
)
PDF = ExportFormat(
    "pdf",
    render_pdf,
    "pdf",
    "application/pdf",
    GuardReads.SOURCE,
    "the HTML typeset by WeasyPrint",
)
