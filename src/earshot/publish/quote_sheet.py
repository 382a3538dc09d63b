"""The quote sheet: every quote with its provenance, for editors and fact-checkers.

Redacted by default: the English is run through the redactor primed on the
calls' Russian (so places and names found there are withheld in English too),
speakers are named by pseudonym, and the leak guard reads the sheet as built and
as rendered before anything is written. Staff names (translator, approver) stay:
they are not sources.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from earshot.language.entities import EntityExtractor
from earshot.store.case import Case
from earshot.store.models import Person
from earshot.store.publish_models import Quote

from .attribution import attribution_report, call_side_attributions, side_names
from .call_redaction import redact_calls
from .export_json import WARNING
from .formats import Rendered
from .leakguard import LeakGuard
from .markdown import md_escape
from .metadata import neutral_docx
from .output import authorise_identifying, require_format, write_guarded
from .policy import RedactionPolicy
from .quotes import get_quote, list_quotes, quote_dict
from .redact_export import REDACTED_NOTICE

__all__ = ["SHEET_FORMATS", "QuoteSheetOptions", "export_quote_sheet", "quote_sheet_document"]

SHEET_FORMATS = ("md", "html", "pdf", "docx")


@dataclass(frozen=True)
class QuoteSheetOptions:
    fmt: str = "md"
    redact: bool = True
    quote_ids: Sequence[int] | None = None
    policy: RedactionPolicy | None = None
    operator: str = "unknown"
    identifying: bool = False
    role: str | None = None
    allow_proposed: bool = False


def _speakers(
    session: Session, quote: dict[str, Any], names: dict[int, str], *, allow_proposed: bool
) -> str:
    """The quote's speakers as the library attributes their call sides now."""
    call_id = int(quote["call_id"])
    sides = call_side_attributions(session, [call_id])
    published = side_names(session, sides, names, allow_proposed=allow_proposed)
    out = [
        published[(call_id, label)].name if (call_id, label) in published else f"Party {label}"
        for label in quote["parties"]
    ]
    return ", ".join(out) or "Unknown speaker"  # segments no side was told apart for


def quote_sheet_document(
    session: Session,
    quotes: Sequence[Quote],
    *,
    redact: bool,
    policy: RedactionPolicy | None,
    operator: str,
    extractor: EntityExtractor | None = None,
    allow_proposed: bool = False,
) -> dict[str, Any]:
    """The sheet as a JSON-like document (redacted unless `redact` is false).

    Speakers are named from their sides' current attribution; a redacted sheet with a
    side whose attribution is only proposed is refused unless `allow_proposed`.
    """
    entries = [quote_dict(session, q) for q in quotes]
    if redact:
        calls = sorted({e["call_id"] for e in entries})
        redaction = redact_calls(
            session, calls, policy=policy, operator=operator, extractor=extractor
        )
        names = redaction.pseudonyms

        def clean(text: str) -> str:
            return redaction.redactor.redact(text).text if text else text
    else:
        names = {p.id: p.name for p in session.query(Person)}

        def clean(text: str) -> str:
            return text

    out = []
    for e in entries:
        flags = []
        if e["unapproved"]:
            flags.append("UNAPPROVED translation: not checked by an editor")
        if e["rewritten"]:
            flags.append("REWRITTEN: adds words that are not in the verbatim translation")
        if e["stale"]:
            flags.append("STALE: the translation changed after this quote was made")
        out.append(
            {
                "id": e["id"],
                "ref": f"Call {e['call_id']}, {e['start_hms']}–{e['end_hms']}",
                "speakers": _speakers(
                    session, e, names, allow_proposed=allow_proposed or not redact
                ),
                "text": clean(e["text"]),
                "diff": [
                    {
                        "op": op["op"],
                        "verbatim": clean(op["verbatim"]),
                        "edited": clean(op["edited"]),
                    }
                    for op in e["diff"]
                ],
                "sha256_prefix": e["original_sha256"][:12],
                "translator": e["translator"] or "unknown",
                "approver": e["approver"] or "NOBODY (unapproved)",
                "flags": flags,
            }
        )
    return {
        "title": f"Quote sheet: {len(out)} quote(s)",
        "notice": REDACTED_NOTICE if redact else WARNING,
        "redacted": redact,
        "quotes": out,
    }


def _diff_md(diff: Sequence[dict[str, str]]) -> str:
    parts = []
    for op in diff:
        verbatim, edited = md_escape(op["verbatim"]), md_escape(op["edited"])
        if op["op"] == "equal":
            parts.append(verbatim)
        elif op["op"] == "cut":
            parts.append(f"~~{verbatim}~~")
        elif op["op"] == "added":
            parts.append(f"**{edited}**")
        else:
            parts.append(f"~~{verbatim}~~ **{edited}**")
    return " ".join(parts)


def _markdown(doc: dict[str, Any]) -> Rendered:
    """Markdown that reads as plain text: only what Markdown would misread is escaped."""
    lines = [f"> {md_escape(doc['notice'])}", "", f"# {md_escape(doc['title'])}", ""]
    for q in doc["quotes"]:
        head = f"Quote {q['id']} — {q['ref']} — {q['speakers']}"
        lines += [f"## {md_escape(head)}", "", f"> “{md_escape(q['text'])}”", ""]
        lines += [f"**{md_escape(flag)}**" for flag in q["flags"]] + ([""] if q["flags"] else [])
        lines += [
            f"- Original SHA-256: `{q['sha256_prefix']}…`",
            f"- Translated by: {md_escape(q['translator'])}; "
            f"approved by: {md_escape(q['approver'])}",
            f"- Against the verbatim (~~cut~~, **added**): {_diff_md(q['diff'])}",
            "",
        ]
    text = "\n".join(lines)
    return Rendered(text.encode("utf-8"), [("markdown", text)])


def _html_text(doc: dict[str, Any]) -> str:
    from .formats.html import environment

    return environment().get_template("quotes.html.j2").render(doc=doc)


def _docx(doc: dict[str, Any]) -> Rendered:
    from docx import Document
    from docx.shared import Pt, RGBColor

    from .formats.docx import docx_texts

    document = Document()
    document.core_properties.title = doc["title"]
    document.add_paragraph().add_run(doc["notice"]).bold = True
    document.add_heading(doc["title"], level=1)
    for q in doc["quotes"]:
        document.add_heading(f"Quote {q['id']} — {q['ref']} — {q['speakers']}", level=2)
        quote = document.add_paragraph(style="Intense Quote").add_run(f"“{q['text']}”")
        quote.font.size = Pt(12)
        for flag in q["flags"]:
            run = document.add_paragraph().add_run(flag)
            run.bold = True
            run.font.color.rgb = RGBColor(0xB0, 0, 0)
        document.add_paragraph(
            f"Original SHA-256 {q['sha256_prefix']}… · translated by {q['translator']} · "
            f"approved by {q['approver']}"
        )
        para = document.add_paragraph("Against the verbatim translation: ")
        for op in q["diff"]:
            if op["op"] in ("equal",):
                para.add_run(op["verbatim"] + " ")
            if op["op"] in ("cut", "changed"):
                para.add_run(op["verbatim"]).font.strike = True
                para.add_run(" ")
            if op["op"] in ("added", "changed"):
                para.add_run(op["edited"]).underline = True
                para.add_run(" ")
    buffer = io.BytesIO()
    document.save(buffer)
    data = neutral_docx(buffer.getvalue(), doc["title"])
    return Rendered(data, docx_texts(data))


def render_quote_sheet(doc: dict[str, Any], fmt: str) -> Rendered:
    """The sheet in `fmt` (md, html, pdf, docx) with the text the leak guard reads."""
    from .formats.html import html_or_pdf

    require_format(fmt, SHEET_FORMATS, "quote sheet")
    if fmt == "md":
        return _markdown(doc)
    if fmt == "docx":
        return _docx(doc)
    text = _html_text(doc)
    return html_or_pdf(text, fmt)


def export_quote_sheet(
    case: Case,
    out: Path,
    options: QuoteSheetOptions,
    *,
    extractor: EntityExtractor | None = None,
) -> dict[str, Any]:
    """Write the quote sheet to `out` (refused, and nothing written, on any leak)."""
    require_format(options.fmt, SHEET_FORMATS, "quote sheet")
    if not options.redact:
        authorise_identifying("a quote sheet", identifying=options.identifying, role=options.role)
    with case.session() as session:
        if options.quote_ids is None:
            quotes = list_quotes(session)
        else:
            quotes = [get_quote(session, i) for i in options.quote_ids]
        doc = quote_sheet_document(
            session,
            quotes,
            redact=options.redact,
            policy=options.policy,
            operator=options.operator,
            extractor=extractor,
            allow_proposed=options.allow_proposed,
        )
        rendered = render_quote_sheet(doc, options.fmt)
        relied_on = _attributions(
            session,
            sorted({q.call_id for q in quotes}),
            redact=options.redact,
            allow_proposed=options.allow_proposed,
            operator=options.operator,
        )
        return write_guarded(
            session,
            out,
            rendered,
            guard=LeakGuard.for_case(session) if options.redact else None,
            document=doc,
            what="quote sheet",
            fmt=options.fmt,
            action="quote-sheet",
            operator=options.operator,
            detail={
                "format": options.fmt,
                "redacted": options.redact,
                "quotes": [q["id"] for q in doc["quotes"]],
                "allow_proposed": options.allow_proposed,
                "attributions": relied_on,
                "file": out.name,
            },
        )


def _attributions(
    session: Session, call_ids: list[int], *, redact: bool, allow_proposed: bool, operator: str
) -> list[dict[str, Any]]:
    """The sheet's redaction report: every call side of its quotes' calls, as published,
    with basis and verification status."""
    from .pseudonyms import assign_pseudonyms

    if redact:
        names = assign_pseudonyms(session, operator=operator)
    else:
        names = {p.id: p.name for p in session.query(Person)}
    sides = call_side_attributions(session, call_ids)
    published = side_names(session, sides, names, allow_proposed=allow_proposed or not redact)
    return attribution_report(sides, published)
