"""One analysed sample case per backend, shared by the language tests that only read it.

Ingesting and analysing the corpus takes seconds per backend; tests that change the
case (a new transcript, a re-run) build their own with :func:`ingest_sample`.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.language.analysis import analyze_case
from earshot.store.case import Case
from earshot.store.models import Call, Person

PG_ADMIN = os.environ.get("EARSHOT_TEST_PG", "postgresql://127.0.0.1:5432/test")  # as ../conftest
SAMPLE = Path(str(files("earshot") / "data" / "sample"))
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
ANDREY = next(c for c in TRUTH["cast"] if c["person_id"] == "andrey_seleznev")

Analysed = tuple[Case, dict[str, int]]


def ingest_sample(case: Case, tmp_path: Path) -> dict[str, int]:
    """Ingest the corpus with its reference translations beside the audio; add Андрей."""
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE / "calls", inbox)
    for vtt in (SAMPLE / "translations").iterdir():
        shutil.copy(vtt, inbox / vtt.name)
    report = ingest(case, [inbox], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1))
    assert report.records.failed == 0
    with case.session() as session:
        session.add(Person(name=ANDREY["full_name"], name_key="andrey"))
        return {f: i for f, i in session.execute(select(Call.source_file, Call.id))}


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def analysed_sample(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[Analysed]:
    """The sample corpus ingested and analysed once per backend: read it, never change it."""
    tmp = tmp_path_factory.mktemp(f"analysed-{request.param}")
    database: str | None = None
    if request.param == "postgresql":
        if not pg_ok:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN}; CI needs it")
            pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN}")
        database = f"earshot_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{database}" if database else None
    Case.init(tmp / "case", db=url).close()
    case = Case.open(tmp / "case")
    try:
        ids = ingest_sample(case, tmp)
        analyze_case(case)
        yield case, ids
    finally:
        case.close()
        if database:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
