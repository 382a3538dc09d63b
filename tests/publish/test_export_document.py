"""The export document as a typed record: the JSON writer writes it, `export --json`
reports its top level, the API answers it for format=json (same keys, same values for
the same calls), and OpenAPI documents it; a dict that is not one is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from earshot.errors import EarshotError
from earshot.publish.document import ExportDocument
from earshot.publish.export import ExportOptions, export_case
from earshot.security.accounts import AccountPolicy, AccountStore
from earshot.security.roles import Role
from earshot.store.case import Case
from earshot.web.app import create_app

from ..conftest import Cli

PASSWORD = "a long enough passphrase"
FAST = AccountPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1, max_failures=5)
CaseFixture = tuple[Case, dict[str, int]]


def test_cli_json_writer_and_api_give_one_document(
    sample_case: CaseFixture, tmp_path: Path, run_cli: Cli
) -> None:
    case, _ = sample_case
    out = tmp_path / "export.json"
    reported = json.loads(
        run_cli("export", case.path, "--redact", "--calls", "1,9", "--output", out, "--json").stdout
    )
    written = json.loads(out.read_text(encoding="utf-8"))
    record = ExportDocument.from_dict(written)
    assert record.as_dict() == written and record.redacted and record.call_ids == [1, 9]
    assert reported["document"] == record.header()
    assert list(written)[:5] == ["warning", "format", "version", "redacted", "calls"]

    accounts = AccountStore(tmp_path / "accounts.db", policy=FAST)
    accounts.add_user("ed", PASSWORD)
    accounts.grant("ed", case.case_id, Role.EDITOR)
    secret = accounts.tokens.create("ed", "export test").secret
    client = TestClient(create_app([case], accounts), base_url="http://testserver")
    auth = {"Authorization": f"Bearer {secret}"}
    answer = client.get(
        f"/api/cases/{case.case_id}/export",
        params={"calls": [1, 9], "format": "json"},
        headers=auth,
    )
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == set(written) and answer.json() == written
    schema = client.get("/openapi.json", headers=auth).json()
    for path in ("/api/cases/{case_id}/export", "/api/cases/{case_id}/export/identifying"):
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["application/json"]["schema"]["$ref"].endswith("/ExportDocument")
    model = schema["components"]["schemas"]["ExportDocument"]
    assert set(model["required"]) == {"warning", "format", "version", "redacted", "calls"}


def test_the_full_export_carries_its_record_and_warning(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    options = ExportOptions(redact=False, identifying=True, operator="test", call_ids=[1])
    result = export_case(case, tmp_path / "full.json", options)
    assert result.document is not None and not result.document.redacted
    assert result.as_dict()["document"]["warning"].startswith("This export identifies people")
    assert json.loads((tmp_path / "full.json").read_text())["redacted"] is False


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"calls": []}, "no warning, format, version, redacted"),
        (
            {"warning": "", "format": "other", "version": 1, "redacted": True, "calls": []},
            "format 'other'",
        ),
        (
            {"warning": "", "format": "earshot-export", "version": 1, "redacted": 1, "calls": {}},
            "calls of type dict",
        ),
    ],
)
def test_a_dict_that_is_no_export_document_is_refused(doc: dict[str, object], message: str) -> None:
    with pytest.raises(EarshotError, match=message):
        ExportDocument.from_dict(doc)  # type: ignore[arg-type]
