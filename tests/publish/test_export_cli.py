"""`earshot export` asks for an explicit choice: --redact, or --identifying for the full export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from earshot.ingest.runner import IngestOptions, ingest
from earshot.store.case import Case

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "earshot" / "data" / "sample"


def test_export_needs_redact_or_identifying(case: Case, tmp_path: Path, run_cli: Any) -> None:
    ingest(
        case,
        [SAMPLE / "calls" / "call12.wav", SAMPLE / "calls" / "call12.vtt"],
        IngestOptions(workers=1, metadata=SAMPLE / "calls.csv"),
    )
    out = tmp_path / "full.json"
    refused = run_cli("export", case.path, "--format", "json", "-o", out, code=2)
    assert "--redact" in refused.output and "--identifying" in refused.output
    assert not out.exists()

    run_cli("export", case.path, "--format", "json", "--identifying", "-o", out)
    full = json.loads(out.read_text(encoding="utf-8"))
    assert "identifies people" in next(iter(full.values()))
    assert full["calls"][0]["parties"][0]["phone"].startswith("+7")

    safe = tmp_path / "safe.json"
    run_cli("export", case.path, "--format", "json", "--redact", "-o", safe)
    redacted = json.loads(safe.read_text(encoding="utf-8"))
    assert all(p["phone"] is None for c in redacted["calls"] for p in c["parties"])
    assert all(p["person"] is None for c in redacted["calls"] for p in c["parties"])
