"""The export-format registry is the only list of formats: the leak guard reads every
registered format, and a format added the way docs/architecture.md says (one writer
module, one entry point) shows up in the CLI, the API and the docs table, and is
guarded like the built-in ones."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from earshot.publish.export import document_for
from earshot.publish.export_json import build_export
from earshot.publish.formats import export_format_names, formats_table, get_format, registry
from earshot.publish.leakguard import LeakGuard
from earshot.security.accounts import AccountPolicy, AccountStore
from earshot.security.roles import Role
from earshot.store.case import Case
from earshot.web.app import create_app

from ..conftest import Cli

DOCS = Path(__file__).parents[2] / "docs" / "publication.md"
FAST = AccountPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1, max_failures=5)
CaseFixture = tuple[Case, dict[str, int]]


@pytest.mark.parametrize("name", export_format_names())
def test_the_leak_guard_reads_every_registered_format(name: str, sample_case: CaseFixture) -> None:
    """An identifying document rendered by each format: the guard finds the names and
    numbers in what the format hands it, so it would refuse a redacted export that kept one."""
    case, _ = sample_case
    spec = get_format(name)
    with case.session() as session:
        # What export_case hands the writer: the document plus the format's context (FtM).
        doc = document_for(case, session, build_export(session, [1]), name).as_dict()
        guard = LeakGuard.for_case(session)
    rendered = spec.render(doc)
    assert rendered.data and rendered.texts, name
    found = {leak.category for leak in guard.scan(rendered.texts)}
    assert "phone" in found, (name, found)


def test_the_docs_table_is_the_registry() -> None:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("<!-- formats:")
    table = text[text.index("\n", start) + 1 : text.index("<!-- /formats -->")]
    assert table == formats_table()


WRITER = '''
"""A third party's export format: one row per segment, as CSV."""

import csv
import io

from earshot.publish.formats import ExportFormat, GuardReads, Rendered, speaker


def render_csv(doc):
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(["call", "start", "speaker", "english"])
    for call in doc["calls"]:
        for seg in call["segments"]:
            out.writerow([call["id"], seg["start"], speaker(call, seg), seg.get("translation")])
    text = buffer.getvalue()
    return Rendered(text.encode("utf-8"), [("csv", text)])


CSV = ExportFormat("csv", render_csv, "csv", "text/csv; charset=utf-8", GuardReads.OUTPUT,
                   "one row per segment")
'''


@pytest.fixture
def third_party_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An installed package with one writer module and one entry point, nothing else."""
    site = tmp_path / "site"
    (site / "newsroom_csv").mkdir(parents=True)
    (site / "newsroom_csv" / "__init__.py").write_text(textwrap.dedent(WRITER), encoding="utf-8")
    info = site / "newsroom_csv-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: newsroom-csv\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[earshot.export_formats]\ncsv = newsroom_csv:CSV\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(site))
    registry._entry_point_formats.cache_clear()
    yield
    registry._entry_point_formats.cache_clear()


def test_a_format_added_by_entry_point_is_offered_everywhere(
    third_party_format: None, sample_case: CaseFixture, run_cli: Cli, tmp_path: Path
) -> None:
    case, _ = sample_case
    assert "csv" in export_format_names()
    assert "| `csv` | `.csv` | `text/csv; charset=utf-8` | output |" in formats_table()
    assert "csv" in run_cli("export", "--help").stdout
    listed = json.loads(run_cli("formats", "--json").stdout)
    assert {f["name"] for f in listed} >= {"csv", "json", "docx"}
    # The CLI writes it redacted, through the leak guard, like any built-in format.
    out = tmp_path / "calls.csv"
    run_cli("export", case.path, "--format", "csv", "--redact", "-o", out, "--calls", "1")
    written = out.read_text(encoding="utf-8")
    assert written.startswith("call,start,speaker,english")
    with case.session() as session:
        doc = build_export(session, [1])
        phones = {p["phone"] for c in doc["calls"] for p in c["parties"] if p.get("phone")}
    assert phones and not any(p.lstrip("+") in written for p in phones)
    # The API lists it and serves it with its media type and suffix.
    accounts = AccountStore(tmp_path / "accounts.db", policy=FAST)
    accounts.add_user("ed", "correct horse battery staple")
    accounts.grant("ed", case.case_id, Role.EDITOR)
    client = TestClient(create_app([case], accounts), base_url="http://testserver")
    form = client.get("/login")
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/login",
        data={"username": "ed", "password": "correct horse battery staple", "login_token": token},
    )
    assert "csv" in {f["name"] for f in client.get("/api/formats").json()}
    served = client.get(f"/api/cases/{case.case_id}/export", params={"calls": 1, "format": "csv"})
    assert served.status_code == 200, served.text
    assert served.headers["content-type"].startswith("text/csv")
    assert ".csv" in served.headers["content-disposition"]
    unknown = client.get(f"/api/cases/{case.case_id}/export", params={"calls": 1, "format": "nope"})
    assert unknown.status_code == 422 and "unknown export format 'nope'" in unknown.text
