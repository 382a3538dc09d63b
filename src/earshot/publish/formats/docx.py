"""DOCX export (python-docx); the leak guard reads the text back from the written file."""

from __future__ import annotations

import io
from typing import Any

from ..metadata import neutral_docx
from ._common import Rendered, clock, notice, party_name, speaker, title
from .registry import ExportFormat, GuardReads

__all__ = ["docx_texts", "render_docx"]


def docx_texts(data: bytes) -> list[tuple[str, str]]:
    """Every paragraph and table cell of a DOCX, with where it is."""
    from docx import Document

    document = Document(io.BytesIO(data))
    texts = [(f"docx paragraph {i}", p.text) for i, p in enumerate(document.paragraphs)]
    for t, table in enumerate(document.tables):
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row.cells):
                texts.append((f"docx table {t} row {r} cell {c}", cell.text))
    props = document.core_properties
    texts += [
        ("docx title", props.title or ""),
        ("docx author", props.author or ""),
        ("docx description", props.comments or ""),
        ("docx subject", props.subject or ""),
        ("docx keywords", props.keywords or ""),
        ("docx last modified by", props.last_modified_by or ""),
    ]
    return texts


def render_docx(doc: dict[str, Any]) -> Rendered:
    from docx import Document
    from docx.shared import Pt, RGBColor

    document = Document()
    document.core_properties.title = title(doc)
    first = document.add_paragraph()
    run = first.add_run(notice(doc))
    run.bold = True
    document.add_heading(title(doc), level=1)
    for call in doc.get("calls", []):
        when = f" — {call['started_at']}" if call.get("started_at") else ""
        document.add_heading(f"Call {call['id']}{when}", level=2)
        sides = "; ".join(f"{p['label']}: {party_name(p)}" for p in call["parties"])
        document.add_paragraph(f"Parties: {sides}")
        for seg in call.get("segments", []):
            para = document.add_paragraph()
            stamp = para.add_run(f"[{clock(seg.get('start'))}–{clock(seg.get('end'))}] ")
            stamp.font.size = Pt(8)
            para.add_run(f"{speaker(call, seg)}: ").bold = True
            para.add_run(seg["text"])
            if seg.get("translation"):
                en = document.add_paragraph().add_run(seg["translation"])
                en.italic = True
                en.font.color.rgb = RGBColor(0x22, 0x33, 0x44)
    buffer = io.BytesIO()
    document.save(buffer)
    data = neutral_docx(buffer.getvalue(), title(doc))
    return Rendered(data, docx_texts(data))


DOCX = ExportFormat(
    "docx",
    render_docx,
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    GuardReads.READ_BACK,
    "Word document (python-docx): paragraphs, tables and properties read back",
)
