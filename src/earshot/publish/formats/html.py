"""HTML (Jinja2, autoescaped, no scripts) and PDF (WeasyPrint typesets the same HTML)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ._common import Rendered, clock, notice, party_name, speaker, title

__all__ = ["environment", "render_html", "render_pdf"]


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
    from weasyprint import HTML

    text = _html_text(doc)
    data = HTML(string=text).write_pdf()
    return Rendered(bytes(data or b""), [("pdf source", text)])
