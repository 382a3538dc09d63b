"""The takeaways dossier of the sample corpus: people by pseudonym, themes with charts."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from earshot.identity import Actor, EvidenceSubject, add_evidence, set_verification
from earshot.publish.dossier import DossierOptions, export_dossier
from earshot.publish.export import ExportRefusedError
from earshot.publish.quotes import create_quote
from earshot.store.case import Case
from earshot.store.models import Call

CaseFixture = tuple[Case, dict[str, int]]
SECRET_EVIDENCE = "https://vk.example/andrey.seleznev.1991"


@pytest.fixture(scope="module")
def prepared(sample_case: CaseFixture) -> Case:
    """A verified soldier (interview with a relative) and a quote of him and his mother."""
    case, people = sample_case
    editor = Actor("Ed Editor", "editor")
    with case.session() as session:
        andrey = people["andrey_seleznev"]
        item = add_evidence(
            session, editor, EvidenceSubject(person_id=andrey), kind="interview_relative",
            summary="His mother Галина Селезнёва confirmed the voice", url=SECRET_EVIDENCE,
        )  # fmt: skip
        set_verification(
            session, editor, status="verified", reason="mother confirmed",
            evidence_ids=[item.id], person_id=andrey,
        )  # fmt: skip
        call01 = session.scalar(select(Call.id).where(Call.source_file == "call01.wav"))
        assert call01 is not None
        text = f"{_translation_of(session, call01, 7)} {_translation_of(session, call01, 8)}"
        create_quote(session, call01, 7, 8, text, actor="desk", allow_unapproved=True)
    return case


def _translation_of(session: Any, call_id: int, idx: int) -> str:
    from earshot.language.analysis import current_transcript
    from earshot.store.language_models import Translation

    transcript = current_transcript(session, call_id)
    assert transcript is not None
    seg = transcript.segments[idx]
    text = session.scalar(select(Translation.text).where(Translation.segment_id == seg.id))
    assert text
    return str(text)


def _forbidden() -> list[str]:
    words = ["Seleznev", "Селезн", "Andryush", "Olechk", "Галина", SECRET_EVIDENCE]
    sample = files("earshot") / "data" / "sample" / "truth.json"
    for member in json.loads(sample.read_text(encoding="utf-8"))["cast"]:
        words += [member["surname"], *member["phones"]]
    return words


def test_html_dossier_has_people_quotes_and_charts(prepared: Case, tmp_path: Path) -> None:
    out = tmp_path / "dossier.html"
    result = export_dossier(prepared, out, DossierOptions(fmt="html", operator="desk"))
    html = out.read_text(encoding="utf-8")
    for word in _forbidden():
        assert word not in html, word
    assert result["persons"] >= 5 and "wants_out" in result["themes"]
    soldier = re.search(r"<h3>(Soldier \d+)</h3>(.*?)</div>", html, re.S)
    assert soldier is not None
    section = soldier.group(2)
    assert "Verification: <b>verified</b>" in section and "interview relative" in section
    assert "mother confirmed" not in html  # reasons and summaries may identify: left out
    assert "“" in section and "Call " in section and "UNAPPROVED" in section
    charts = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(charts) == len(result["themes"]) >= 3
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(charts[0])))
    assert image.width > 600 and image.height > 200
    summary = re.search(
        r"Wants out: (\d+) of (\d+) calls in 2022-10 to [-\d]+ .*?; (\d+) of (\d+)", html
    )
    assert summary is not None
    early, n_early, late, n_late = map(int, summary.groups())
    assert late / n_late > early / n_early  # the sample's soldiers want out more and more


def test_docx_and_pdf_dossiers(prepared: Case, tmp_path: Path) -> None:
    from docx import Document

    docx_out = tmp_path / "dossier.docx"
    result = export_dossier(prepared, docx_out, DossierOptions(fmt="docx", operator="desk"))
    document = Document(str(docx_out))
    text = "\n".join(p.text for p in document.paragraphs)
    assert len(document.inline_shapes) == len(result["themes"])
    assert "Verification: verified" in text and "Takeaways" in text
    for word in _forbidden():
        assert word not in text, word
    pdf_out = tmp_path / "dossier.pdf"
    export_dossier(prepared, pdf_out, DossierOptions(fmt="pdf", operator="desk"))
    assert pdf_out.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf_text = subprocess.run(
        ["pdftotext", str(pdf_out), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "Takeaways" in pdf_text and "Soldier 1" in pdf_text
    for word in _forbidden():
        assert word not in pdf_text, word


def test_identifying_dossier_needs_consent(prepared: Case, tmp_path: Path, run_cli: Any) -> None:
    with pytest.raises(ExportRefusedError):
        export_dossier(prepared, tmp_path / "x.html", DossierOptions(redact=False))
    out = tmp_path / "full.html"
    data = json.loads(
        run_cli(
            "dossier", prepared.path, "--no-redact", "--identifying", "-o", out, "--json"
        ).stdout
    )
    assert data["redacted"] is False
    assert "identifies people" in out.read_text(encoding="utf-8")
    assert "Селезн" in out.read_text(encoding="utf-8")
