"""Quotes of the sample corpus: only cuts, provenance kept, the sheet redacted and guarded."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from earshot.language.analysis import current_transcript
from earshot.language.translation.workflow import (
    approve_translation,
    edit_translation,
    review_translation,
)
from earshot.publish.export import ExportRefusedError
from earshot.publish.quote_sheet import QuoteSheetOptions, export_quote_sheet
from earshot.publish.quotes import QuoteError, check_edit, create_quote, hms, quote_dict
from earshot.store.case import Case
from earshot.store.language_models import Translation
from earshot.store.models import Call, CustodyEntry

CaseFixture = tuple[Case, dict[str, int]]
# call10, segments 2-4: the refusal, the dictation of name and date of birth.
IDENTIFYING = ["Denis", "Shapkin", "Alekseyevich", "1991", "Ivanovo", "Sosnovaya"]


def _pdf_text(path: Path) -> str:
    """The text of a PDF, read back with poppler's pdftotext."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    )
    return done.stdout


def _call_id(case: Case, name: str) -> int:
    with case.session() as session:
        call_id = session.scalar(select(Call.id).where(Call.source_file == name))
        assert call_id is not None
        return call_id


@pytest.fixture(scope="module")
def approved_call10(sample_case: CaseFixture) -> int:
    """call10 with segments 2-6 edited, reviewed and approved by three people."""
    case, _ = sample_case
    call_id = _call_id(case, "call10.flac")
    with case.session() as session:
        transcript = current_transcript(session, call_id)
        assert transcript is not None
        for seg in transcript.segments[2:7]:
            row = session.scalar(select(Translation).where(Translation.segment_id == seg.id))
            assert row is not None
            if row.status == "approved":
                continue
            row = edit_translation(
                session, seg.id, row.text, actor="Tanya T.", expected_version=row.version
            )
            row = review_translation(session, seg.id, actor="Rita R.", expected_version=row.version)
            approve_translation(session, seg.id, actor="Ed Editor", expected_version=row.version)
    return call_id


def test_check_edit_allows_cuts_shown_by_ellipses_only() -> None:
    verbatim = "I refused to go on an assault. Now I'm a refuser. Write a complaint."
    fine = check_edit(verbatim, "I refused to go on an assault … Write a complaint.")
    assert not fine.rewritten and not fine.unmarked_cuts
    assert [op["op"] for op in fine.diff] == ["equal", "cut", "equal"]
    assert fine.diff[1] == {"op": "cut", "verbatim": "Now I'm a refuser.", "edited": "…"}
    hidden = check_edit(verbatim, "I refused to go on an assault. Write a complaint.")
    assert hidden.unmarked_cuts == ["Now I'm a refuser."]
    added = check_edit(verbatim, "I bravely refused to go on an assault.")
    assert added.added == ["bravely"] and added.rewritten
    trimmed = check_edit(verbatim, "Now I'm a refuser.")  # cuts at either end need no mark
    assert not trimmed.unmarked_cuts and not trimmed.rewritten
    assert hms(3725.9) == "01:02:05"


def test_check_edit_aligns_by_word_sequence_not_first_occurrence() -> None:
    """The kept "The" after a cut belongs to "The lawyer says", not to the first "The"."""
    verbatim = (
        "The only ones alive from our company are the five-hundreds. The rest are "
        "two-hundreds. Romochka, wait. The lawyer says it can be done through the court."
    )
    marked = check_edit(
        verbatim,
        "The only ones alive from our company are the five-hundreds. … "
        "The lawyer says it can be done through the court.",
    )
    assert not marked.unmarked_cuts and not marked.rewritten
    assert [op["op"] for op in marked.diff] == ["equal", "cut", "equal"]
    assert marked.diff[1]["verbatim"] == "The rest are two-hundreds. Romochka, wait."
    assert marked.diff[2]["verbatim"].startswith("The lawyer says")
    glued = check_edit(verbatim, "The only ones alive … from our company are the five-hundreds…")
    assert not glued.unmarked_cuts and not glued.rewritten
    unmarked = check_edit(
        verbatim, "The only ones alive from our company are the five-hundreds. The lawyer says it."
    )
    assert unmarked.unmarked_cuts and not unmarked.rewritten and hms(None) == "--:--:--"


def test_a_quote_keeps_its_provenance(sample_case: CaseFixture, approved_call10: int) -> None:
    case, _ = sample_case
    with case.session() as session:
        transcript = current_transcript(session, approved_call10)
        assert transcript is not None
        segs = transcript.segments
        quote = create_quote(
            session, approved_call10, 2, 3,
            "I refused to go on an assault … Write a complaint to the prosecutor's office. "
            "I'm writing.",
            actor="desk",
        )  # fmt: skip
        data = quote_dict(session, quote)
        call = session.get(Call, approved_call10)
        assert call is not None
        assert data["start"] == segs[2].start and data["end"] == segs[3].end
        assert data["original_sha256"] == call.sha256
        assert data["translator"] == "Tanya T." and data["approver"] == "Ed Editor"
        assert data["segments"] == [2, 3] and not data["unapproved"] and not data["rewritten"]
        assert data["verbatim"].startswith("I refused") and data["verbatim"].endswith("order.")
        assert any(op["op"] == "cut" and "refuser" in op["verbatim"] for op in data["diff"])
        assert data["start_hms"] == hms(segs[2].start) and not data["stale"]
        entry = session.scalars(select(CustodyEntry).order_by(CustodyEntry.id.desc())).first()
        assert entry is not None and entry.action == "quote-created"
        assert entry.detail["quote_id"] == quote.id


def test_rewrites_and_unapproved_translations_are_refused_unless_marked(
    sample_case: CaseFixture, approved_call10: int
) -> None:
    case, _ = sample_case
    with case.session() as session:
        with pytest.raises(QuoteError, match="not approved"):
            create_quote(session, approved_call10, 0, 1, "Dad … What for?", actor="desk")
        with pytest.raises(QuoteError, match="adds words"):
            create_quote(
                session, approved_call10, 5, 5, "Should I put our home address?", actor="d"
            )
        with pytest.raises(QuoteError, match="ellipsis"):
            create_quote(session, approved_call10, 2, 2, "I refused. Now I'm a refuser.", actor="d")
        with pytest.raises(QuoteError, match="segments 7-9"):
            create_quote(session, approved_call10, 7, 9, "x", actor="d")
        marked = create_quote(
            session, approved_call10, 0, 1, "Dad … What for?", actor="d", allow_unapproved=True
        )
        data = quote_dict(session, marked)
        assert data["unapproved"] and data["approver"] is None
        rewritten = create_quote(
            session, approved_call10, 5, 5, "Should I put our home address?",
            actor="d", allow_rewrite=True,
        )  # fmt: skip
        assert quote_dict(session, rewritten)["added_words"] == ["home"]


@pytest.mark.parametrize("fmt", ["md", "html", "docx", "pdf"])
def test_the_quote_sheet_is_redacted_and_guarded(
    fmt: str, sample_case: CaseFixture, approved_call10: int, tmp_path: Path
) -> None:
    case, _ = sample_case
    with case.session() as session:
        quote = create_quote(
            session, approved_call10, 4, 6,
            "Shapkin Denis Alekseyevich, born 14 May 1991 … Yes. Ivanovo, Sosnovaya Street, "
            "building 8, flat 21.",
            actor="desk",
        )  # fmt: skip
        quote_id = quote.id
    out = tmp_path / f"sheet.{fmt}"
    result = export_quote_sheet(
        case, out, QuoteSheetOptions(fmt=fmt, quote_ids=[quote_id], operator="desk")
    )
    assert out.stat().st_size == result["bytes"] > 200 and result["quotes"] == [quote_id]
    if fmt == "docx":
        from earshot.publish.formats.docx import docx_texts

        text = " ".join(t for _, t in docx_texts(out.read_bytes()))
    elif fmt == "pdf":
        text = _pdf_text(out)
    else:
        text = out.read_text(encoding="utf-8")
    for word in IDENTIFYING:
        assert word not in text, f"{word} in the {fmt} quote sheet"
    assert "Soldier" in text and "Tanya T." in text and "Ed Editor" in text
    with case.session() as session:
        call = session.get(Call, approved_call10)
        assert call is not None
        assert call.sha256[:12] in text
    assert "[date of birth]" in text or "[DOB]" in text or "date" in text.lower()
    with pytest.raises(ExportRefusedError):
        export_quote_sheet(case, tmp_path / "full.md", QuoteSheetOptions(redact=False))


def test_quotes_commands(sample_case: CaseFixture, approved_call10: int, run_cli: Any) -> None:
    case, _ = sample_case
    added = json.loads(
        run_cli(
            "quotes", "add", case.path, "--call", str(approved_call10), "--segments", "3-3",
            "--text", "I'm writing.", "--json",
        ).stdout
    )  # fmt: skip
    assert added["segments"] == [3, 3] and added["approver"] == "Ed Editor"
    listed = json.loads(run_cli("quotes", case.path, "--json").stdout)
    assert added["id"] in [q["id"] for q in listed]
    shown = json.loads(run_cli("quotes", "show", case.path, str(added["id"]), "--json").stdout)
    assert shown["diff"] and shown["text"] == "I'm writing."
    failed = run_cli(
        "quotes", "add", case.path, "--call", str(approved_call10), "--segments", "3",
        "--text", "I'm not writing.", code=None,
    )  # fmt: skip
    assert failed.exit_code != 0 and "adds words" in failed.stderr
