"""Markdown exports read as plain text: escaped only where Markdown would misread, and
what CommonMark (markdown-it-py) renders is exactly the text."""

from __future__ import annotations

import html
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from earshot.publish.export import ExportOptions, export_case, redacted_document
from earshot.publish.markdown import md_escape
from earshot.store.case import Case

CaseFixture = tuple[Case, dict[str, int]]
_MD = MarkdownIt("commonmark").enable("strikethrough")
_PUNCT = "\\`*_{}[]()<>#+-.!|~&;:/= \n"


def _rendered_text(markdown: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", _MD.render(markdown))).strip()


@given(st.text(alphabet=st.sampled_from(list(_PUNCT) + list("aбZ19 ")), max_size=40))
def test_escaped_text_renders_as_itself(text: str) -> None:
    expected = " ".join(text.split())
    assert _rendered_text(md_escape(text, line_start=True)) == expected


def test_ordinary_transcript_text_needs_no_escape() -> None:
    for text in [
        "Позвони на [phone number], скажи [home town] — 200-е, 300-е.",
        "snake_case 5 + 3 = 8; a - b; 50% (примерно) / #1 in the list!",
        'He said: "we\'re 500s now" & left.',
    ]:
        assert md_escape(text) == text


def test_markdown_export_is_plain_text_with_few_escapes(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    out = tmp_path / "export.md"
    export_case(case, out, ExportOptions(fmt="md", operator="t", call_ids=[1, 2, 3, 9, 10]))
    text = out.read_text(encoding="utf-8")
    with case.session() as session:
        doc, _, _ = redacted_document(session, [1, 2, 3, 9, 10], policy=None, operator="t")
    segments = [s for c in doc["calls"] for s in c["segments"]]
    assert text.count("\\") <= len(segments) // 10, text.count("\\")
    rendered = _rendered_text(text)
    for seg in segments:
        assert " ".join(seg["text"].split()) in rendered
        if seg["translation"]:
            assert " ".join(seg["translation"].split()) in rendered
    assert "[phone number]" in text or "[home town]" in text or "[name]" in text
    assert re.search(r"^## Call 1 — \d{4}-", text, re.M)
