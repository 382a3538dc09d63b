"""A realistic case for the publication tests: the sample corpus, ingested, translated
from its reference translations, analysed, and its persons filled in from the truth
(names, diminutives and nicknames, roles) the way an editor does with `earshot person`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.language.analysis import analyze_case
from earshot.language.translation.workflow import draft_from_reference
from earshot.store.case import Case
from earshot.store.models import Person, PersonPhone, Phone

SAMPLE = Path(str(files("earshot") / "data" / "sample"))


def truth() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    return data


def _fill_persons(case: Case) -> dict[str, int]:
    """Cast person id -> case person id (matched by phone, created when missing)."""
    mapping: dict[str, int] = {}
    with case.session() as session:
        owners: dict[str, set[int]] = {}
        rows = session.execute(
            select(Phone.e164, PersonPhone.person_id).join(Phone, Phone.id == PersonPhone.phone_id)
        )
        for e164, person_id in rows:
            owners.setdefault(e164, set()).add(person_id)
        used: set[int] = set()
        for member in truth()["cast"]:
            candidates = [p for phone in member["phones"] for p in owners.get(phone, ())]
            surname = member["surname"].replace("ё", "е")
            person = None
            for pid in candidates:
                row = session.get(Person, pid)
                if row and pid not in used and row.name.replace("ё", "е").startswith(surname):
                    person = row
                    break
            if person is None:
                person = Person(name=member["full_name"], name_key=member["full_name"].lower())
                session.add(person)
                session.flush()
            person.name = member["full_name"]
            person.name_key = member["full_name"].lower()
            person.aliases = [*member["diminutives"], *member["nicknames"]]
            person.role = member["role"]
            for e164 in member["phones"]:
                phone = session.scalar(select(Phone).where(Phone.e164 == e164))
                if phone is None:
                    continue
                linked = session.scalar(
                    select(PersonPhone).where(
                        PersonPhone.person_id == person.id, PersonPhone.phone_id == phone.id
                    )
                )
                if linked is None:
                    session.add(
                        PersonPhone(person_id=person.id, phone_id=phone.id, source="editor")
                    )
            used.add(person.id)
            mapping[member["person_id"]] = person.id
    return mapping


@pytest.fixture(scope="session")
def sample_case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Case, dict[str, int]]]:
    root = tmp_path_factory.mktemp("publish")
    inbox = root / "inbox"
    shutil.copytree(SAMPLE / "calls", inbox)
    for translation in (SAMPLE / "translations").glob("*.en.vtt"):
        shutil.copy(translation, inbox / translation.name)
    case = Case.init(root / "case")
    ingest(case, [inbox], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1))
    with case.session() as session:
        draft_from_reference(session, actor="translator-test")
    analyze_case(case)
    mapping = _fill_persons(case)
    yield case, mapping
    case.close()
