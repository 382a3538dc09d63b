"""`earshot demo --no-serve`: builds the demo case, its account, and reports how to log in."""

from __future__ import annotations

import json
from pathlib import Path

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
