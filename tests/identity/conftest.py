"""A case holding the fictional sample corpus, and its ground truth."""

from __future__ import annotations

import itertools
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from earshot.identity import VoiceMatch
from earshot.ingest.runner import IngestOptions, ingest
from earshot.store.case import Case

SAMPLE = Path(str(files("earshot") / "data" / "sample"))


@pytest.fixture(scope="session")
def truth() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture
def sample_case(case: Case) -> Case:
    """The sample corpus ingested with its call records."""
    report = ingest(
        case, [SAMPLE / "calls"], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1)
    )
    assert report.records.failed == 0
    return case


def call_ids(case: Case) -> dict[str, int]:
    from sqlalchemy import select

    from earshot.store.models import Call

    with case.session() as session:
        rows = session.execute(select(Call.source_file, Call.id))
        return {name: call_id for name, call_id in rows}


def truth_voice_matches(truth: dict[str, Any], ids: dict[str, int]) -> list[VoiceMatch]:
    """Confirmed voice links chaining every side each person speaks on (as an editor
    would confirm after the speech layer proposes them)."""
    sides: dict[str, list[tuple[int, str]]] = {}
    for call in truth["calls"]:
        for label, party in sorted(call["parties"].items()):
            sides.setdefault(party["person_id"], []).append((ids[call["file"]], label))
    matches = []
    for chain in sides.values():
        for (ca, pa), (cb, pb) in itertools.pairwise(chain):
            matches.append(VoiceMatch(ca, pa, cb, pb, 0.9, "confirmed", "editor-ann"))
    return matches
