"""A case holding the sample corpus with its English translations, on each backend."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from earshot.ingest.runner import IngestOptions, ingest
from earshot.store.case import Case

PG_ADMIN = os.environ.get("EARSHOT_TEST_PG", "postgresql://127.0.0.1:5432/test")
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "earshot" / "data" / "sample"


def sample_folder(tmp_path: Path) -> Path:
    """The sample calls with NAME.en.vtt translations beside the audio (as ingest wants)."""
    folder = tmp_path / "calls"
    shutil.copytree(SAMPLE / "calls", folder)
    for vtt in (SAMPLE / "translations").glob("*.en.vtt"):
        shutil.copy(vtt, folder / vtt.name)
    return folder


def ingest_sample(case: Case, tmp_path: Path) -> None:
    ingest(case, [sample_folder(tmp_path)], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1))


def truth() -> dict[str, object]:
    data: dict[str, object] = json.loads((SAMPLE / "truth.json").read_text("utf-8"))
    return data


@pytest.fixture
def sample_case(case: Case, tmp_path: Path) -> Case:
    ingest_sample(case, tmp_path)
    return case


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def shared_sample(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[Case]:
    """One sample case per backend for a whole module, for tests that only read."""
    url: str | None = None
    if request.param == "postgresql":
        if not pg_ok:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN}; CI needs it")
            pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN}")
        name = f"earshot_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    tmp = tmp_path_factory.mktemp("shared")
    case = Case.init(tmp / "case", db=url)
    ingest_sample(case, tmp)
    yield case
    case.close()
    if url:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
