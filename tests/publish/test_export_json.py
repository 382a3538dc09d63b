"""The full JSON export: schema-valid on the sample corpus, warning first, pure of the DB."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.language.analysis import analyze_case
from earshot.language.translation import draft_from_reference
from earshot.publish.export_json import build_export
from earshot.store.case import Case
from earshot.store.language_models import SegmentSlang

SAMPLE = Path(str(files("earshot") / "data" / "sample"))
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "export.schema.json").read_text("utf-8")
)


def test_export_validates_and_carries_the_analysis(
    case: Case, tmp_path: Path, run_cli: Any
) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE / "calls", inbox)
    for vtt in (SAMPLE / "translations").iterdir():
        shutil.copy(vtt, inbox / vtt.name)
    ingest(case, [inbox], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1))
    analyze_case(case)
    with case.session() as session:
        draft_from_reference(session, actor="ann")
        data = build_export(session)
        again = build_export(session)
        slang_rows = len(list(session.execute(select(SegmentSlang)).scalars()))
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert data == again  # a pure function of the database
    assert next(iter(data)) == "warning" and "identifies people" in data["warning"]
    assert len(data["calls"]) == 12
    segments = [s for c in data["calls"] for s in c["segments"]]
    assert sum(len(s["slang"]) for s in segments) == slang_rows > 0
    for segment in segments:
        for entity in segment["entities"]:
            assert segment["text"][entity["start"] : entity["end"]] == entity["text"]
        for hit in segment["slang"]:
            assert hit["text"] in segment["text"] and hit["gloss"]
    assert all(s["translation"] for s in segments)
    call06 = next(c for c in data["calls"] if c["source_file"] == "call06.m4a")
    assert {p["phone"] for p in call06["parties"]} == {"+79775554082", "+74942555123"}
    assert any(e["value"] == "+79775554082" for s in call06["segments"] for e in s["entities"])

    out = tmp_path / "export.json"
    written = json.loads(
        run_cli(
            "export", case.path, "--format", "json", "--no-redact", "--identifying",
            "-o", out, "--json",
        ).stdout
    )  # fmt: skip
    assert written["calls"] == 12
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[1].strip().startswith('"warning": "This export identifies people')
    jsonschema.validate(json.loads(text), SCHEMA)
