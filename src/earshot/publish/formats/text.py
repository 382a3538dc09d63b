"""JSON and Markdown exports."""

from __future__ import annotations

import json
from typing import Any

from ..document import ExportDocument
from ..markdown import md_escape as _md_escape
from ._common import Rendered, clock, notice, party_name, speaker, title
from .registry import ExportFormat, GuardReads

__all__ = ["render_json", "render_markdown"]


def render_json(doc: dict[str, Any]) -> Rendered:
    """The export document record, as `docs/export.schema.json` describes it."""
    record = ExportDocument.from_dict(doc).as_dict(with_context=False)
    text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    return Rendered(text.encode("utf-8"), [("json", text)])


def render_markdown(doc: dict[str, Any]) -> Rendered:
    lines = [f"> **{_md_escape(notice(doc))}**", "", f"# {title(doc)}", ""]
    for call in doc.get("calls", []):
        when = f" — {_md_escape(call['started_at'])}" if call.get("started_at") else ""
        lines += [f"## Call {call['id']}{when}", ""]
        sides = "; ".join(f"{p['label']}: {_md_escape(party_name(p))}" for p in call["parties"])
        lines += [f"Parties: {sides}", ""]
        if call.get("themes"):
            lines += [f"Themes: {_md_escape(', '.join(call['themes']))}", ""]
        for seg in call.get("segments", []):
            who = _md_escape(speaker(call, seg))
            lines.append(
                f"**{who}** [{clock(seg.get('start'))}–{clock(seg.get('end'))}]: "
                f"{_md_escape(seg['text'])}"
            )
            if seg.get("translation"):
                lines.append(f"  *{_md_escape(seg['translation'])}*")
            for mark in seg.get("slang") or []:
                lines.append(f"  - «{_md_escape(mark['text'])}»: {_md_escape(mark['gloss'])}")
            lines.append("")
    text = "\n".join(lines) + "\n"
    return Rendered(text.encode("utf-8"), [("md", text)])


JSON = ExportFormat(
    "json",
    render_json,
    "json",
    "application/json",
    GuardReads.OUTPUT,
    "the export document, validated by `docs/export.schema.json` (full and redacted)",
)
MARKDOWN = ExportFormat(
    "md",
    render_markdown,
    "md",
    "text/markdown; charset=utf-8",
    GuardReads.OUTPUT,
    "Markdown transcript per call",
)
