"""`earshot demo --no-serve`: builds the demo case, its account, and reports how to log in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from earshot.security.accounts import AccountStore
from earshot.security.roles import Role

from ..conftest import Cli


def test_demo_builds_case_and_account(tmp_path: Path, run_cli: Cli) -> None:
    target = tmp_path / "demo"
    args = ("demo", "--case", target, "--no-serve", "--no-process", "--json")
    first = json.loads(run_cli(*args).stdout)
    assert first["ingest"]["new"] >= 10 and first["url"] == "http://127.0.0.1:8000/"
    assert first["steps"]["translations"]["calls"] >= 10
    second = json.loads(run_cli(*args).stdout)
    assert second["ingest"]["new"] == 0 and second["password"] != first["password"]
    accounts = AccountStore(Path(second["accounts"]))
    accounts.authenticate("demo", second["password"], client="test")
    assert accounts.role("demo", second["case_id"]) == Role.EDITOR
    # the one demo account may review and approve its own work: the demo case says so
    from earshot.store.case import Case

    assert "translation_four_eyes = false" in (target / "earshot.toml").read_text("utf-8")
    with Case.open(target) as case:
        assert case.settings.translation_four_eyes is False
        _demo_user_reviews_and_approves(case, accounts, second["password"])


def _demo_user_reviews_and_approves(case: Any, accounts: AccountStore, password: str) -> None:
    """In the served demo, the one demo account accepts a draft and approves it itself."""
    from fastapi.testclient import TestClient

    from earshot.web.app import create_app

    client = TestClient(create_app([case], accounts), base_url="http://testserver")
    form = client.get("/login")
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/login",
        data={"username": "demo", "password": password, "login_token": token, "next": "/"},
    )
    page = client.get(f"/cases/{case.case_id}")
    csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    api = f"/api/cases/{case.case_id}/calls"
    details = (client.get(f"{api}/{c['id']}").json() for c in client.get(api).json()["calls"])
    detail = next(d for d in details if any(s["translation"] for s in d["segments"]))
    seg = next(s for s in detail["segments"] if s["translation"])
    url = f"{api}/{detail['call']['id']}/segments/{seg['id']}/translation"
    version = seg["translation"]["version"]
    for status in ("reviewed", "approved"):
        saved = client.put(
            url,
            json={"text": seg["translation"]["text"], "status": status, "version": version},
            headers={"X-CSRF-Token": csrf},
        )
        assert saved.status_code == 200, saved.text
        version = saved.json()["version"]
    assert saved.json()["reviewer"] == saved.json()["approver"] == "demo"


def test_serve_passes_the_redaction_policy(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`earshot serve --policy FILE` hands the policy to the app (the server itself is faked)."""
    from earshot.cli import web as web_cli
    from earshot.store.case import Case

    Case.init(tmp_path / "case").close()
    policy = tmp_path / "policy.yaml"
    policy.write_text("# placeholder: the fake server does not read it\n", encoding="utf-8")
    seen: dict[str, Any] = {}

    def fake_serve(cases: Any, accounts: Any, host: str, port: int, *rest: Any, **_: Any) -> None:
        seen.update(host=host, port=port, policy=rest[-1], cases=len(cases))

    monkeypatch.setattr(web_cli, "_serve", fake_serve)
    run_cli(
        "serve", tmp_path / "case", "--port", "8123", "--policy", policy,
        "--accounts", tmp_path / "accounts.db", "--json",
    )  # fmt: skip
    assert seen == {"host": "127.0.0.1", "port": 8123, "policy": policy, "cases": 1}
