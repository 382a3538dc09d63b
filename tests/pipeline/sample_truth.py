"""Ground truth of the sample corpus, for the pipeline tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "earshot" / "data" / "sample"
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))


def truth_call(file: str) -> dict[str, Any]:
    return next(c for c in TRUTH["calls"] if c["file"] == file)


def truth_sidecars(fmt: str) -> list[dict[str, Any]]:
    return [c for c in TRUTH["calls"] if c.get("sidecar_format") == fmt]
