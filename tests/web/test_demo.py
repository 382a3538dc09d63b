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

    with Case.open(target) as case:
        assert case.settings.translation_four_eyes is False
    assert "translation_four_eyes = false" in (target / "earshot.toml").read_text("utf-8")


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
