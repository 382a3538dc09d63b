"""One processed copy of the sample corpus per test session (SQLite), copied by tests that
change it, and helpers to read the ground truth."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from earshot.ingest.runner import IngestOptions, ingest
from earshot.pipeline.runner import ProcessOptions, ProcessReport, process
from earshot.store.case import Case

# The tests import their helpers as plain modules next to them (no tests package).
sys.path.insert(0, str(Path(__file__).parent))

from sample_truth import SAMPLE


@pytest.fixture(scope="session")
def processed_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ProcessReport]:
    """The whole sample corpus ingested and processed with the default stages."""
    path = tmp_path_factory.mktemp("processed") / "case"
    with Case.init(path) as case:
        ingest(case, [SAMPLE / "calls"], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1))
        report = process(case, ProcessOptions())
    return path, report


@pytest.fixture
def sample_copy(processed_sample: tuple[Path, ProcessReport], tmp_path: Path) -> Path:
    """A private copy of the processed sample case (SQLite lives inside the directory)."""
    target = tmp_path / "copy"
    shutil.copytree(processed_sample[0], target)
    return target


@pytest.fixture
def call_ids(processed_sample: tuple[Path, ProcessReport]) -> Callable[[Case], dict[str, int]]:
    def ids(case: Case) -> dict[str, int]:
        from sqlalchemy import select

        from earshot.store.models import Call

        with case.session() as session:
            return {c.source_file: c.id for c in session.execute(select(Call)).scalars()}

    return ids
