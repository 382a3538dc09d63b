"""`earshot user ...`, `earshot audit ...` and `earshot init --encrypt` end to end."""

from __future__ import annotations

import json
import time
from importlib.resources import files
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from earshot.cli import cli
from earshot.store.case import Case

SAMPLE = Path(str(files("earshot") / "data" / "sample"))
PASSWORD = "a long enough passphrase"


def _run(*args: str | Path, stdin: str | None = None, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], input=stdin, catch_exceptions=False)
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    return result


@pytest.fixture(autouse=True)
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "accounts.db"
    monkeypatch.setenv("EARSHOT_ACCOUNTS", str(path))
    monkeypatch.delenv("EARSHOT_PASSPHRASE", raising=False)
    monkeypatch.delenv("EARSHOT_KEY_FILE", raising=False)
    return path


def test_user_lifecycle_and_roles(case_dir: Path, accounts: Path) -> None:
    added = json.loads(
        _run(
            "user",
            "add",
            "Olena",
            "--display-name",
            "Олена",
            "--password-stdin",
            "--json",
            stdin=PASSWORD + "\n",
        ).stdout
    )
    assert added["username"] == "olena"
    assert PASSWORD not in accounts.read_bytes().decode("latin-1")
    short = _run("user", "add", "maks", "--password-stdin", stdin="short\n", code=2)
    assert "too short" in short.stderr
    _run("user", "grant", "olena", case_dir, "--role", "editor", "--json")
    listed = json.loads(_run("user", "list", "--json").stdout)
    case_id = Case.open(case_dir).case_id
    assert listed == [
        {
            "username": "olena",
            "display_name": "Олена",
            "disabled": False,
            "roles": {case_id: "editor"},
        }
    ]
    _run("user", "passwd", "olena", "--password-stdin", stdin="another long passphrase\n")
    _run("user", "revoke", "olena", case_dir)
    _run("user", "disable", "olena")
    assert json.loads(_run("user", "list", "--json").stdout)[0]["disabled"] is True
    assert "no user" in _run("user", "disable", "nobody", code=2).stderr
    entries = json.loads(_run("audit", case_dir, "--json").stdout)
    assert [(e["action"], e["object_id"]) for e in entries] == [
        ("grant", "olena"),
        ("revoke", "olena"),
    ]
    assert (
        json.loads(_run("audit", "list", case_dir, "--limit", "1", "--json").stdout)[0]["action"]
        == "revoke"
    )


def test_audit_verify_exit_codes(case_dir: Path) -> None:
    _run("user", "add", "maks", "--password-stdin", stdin=PASSWORD + "\n")
    for role in ("viewer", "translator", "editor"):
        _run("user", "grant", "maks", case_dir, "--role", role)
    ok = json.loads(_run("audit", "verify", case_dir, "--json").stdout)
    assert ok["ok"] and ok["entries"] == 3 and ok["head_hash"]
    assert "unbroken" in _run("audit", "verify", case_dir).stdout
    with Case.open(case_dir) as case, case.engine.begin() as conn:
        if case.engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text('UPDATE audit_log SET detail = \'{"role": "admin"}\' WHERE id = 1'))
    broken = _run("audit", "verify", case_dir, "--json", code=1)
    report = json.loads(broken.stdout)
    assert not report["ok"] and "altered" in report["problems"][0]
    assert "FAILED" in _run("audit", "verify", case_dir, code=1).stderr


def test_init_encrypt_with_key_file_then_ingest_and_verify(tmp_path: Path) -> None:
    case = tmp_path / "case"
    key = tmp_path / "keys" / "case.key"
    key.parent.mkdir()
    created = json.loads(_run("init", case, "--encrypt", "--key-file", key, "--json").stdout)
    assert created["encrypted"] and created["key_file_created"] == str(key)
    assert "wrapped_key" in (case / "earshot.toml").read_text(encoding="utf-8")
    assert key.read_text().strip() not in (case / "earshot.toml").read_text(encoding="utf-8")
    missing = _run("ingest", case, SAMPLE / "calls" / "call01.wav", code=2)
    assert "EARSHOT_KEY_FILE" in missing.stderr
    env = {"EARSHOT_KEY_FILE": str(key)}
    result = CliRunner().invoke(
        cli, ["ingest", str(case), str(SAMPLE / "calls" / "call01.wav"), "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["verify", str(case), "--json"], env=env)
    assert result.exit_code == 0 and json.loads(result.stdout)["ok"]
    listed = CliRunner().invoke(cli, ["calls", str(case), "--json"], env=env)
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == 1
    # the database is encrypted as well: even listing the calls needs the key
    locked = _run("calls", case, code=2)
    assert "this case is encrypted; set EARSHOT_KEY_FILE to open it" in locked.stderr
    assert (case / "earshot.db").read_bytes()[:16] != b"SQLite format 3\x00"
    wrong = tmp_path / "wrong.key"
    wrong.write_text("00" * 32)
    result = CliRunner().invoke(cli, ["verify", str(case)], env={"EARSHOT_KEY_FILE": str(wrong)})
    assert result.exit_code == 2 and "wrong key file" in result.stderr
    assert "needs --encrypt" in _run("init", tmp_path / "c2", "--key-file", key, code=2).stderr


def test_init_encrypt_prompts_for_a_passphrase(tmp_path: Path) -> None:
    case = tmp_path / "case"
    out = _run("init", case, "--encrypt", stdin="twelve chars or more\ntwelve chars or more\n")
    assert "encrypted" in out.stdout
    assert "twelve" not in (case / "earshot.toml").read_text(encoding="utf-8")


def test_user_unlock_lifts_the_backoff_for_a_user_or_a_client(
    accounts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from earshot.security.accounts import AccountPolicy, AccountStore
    from earshot.security.errors import AuthenticationError, LockedOutError

    monkeypatch.setenv("EARSHOT_LOGIN_MAX_FAILURES", "2")
    _run("user", "add", "maks", "--password-stdin", stdin=PASSWORD + "\n")
    now = time.time()
    server = AccountStore(  # what a running web server holds: its own handle on the file
        accounts,
        policy=AccountPolicy(time_cost=1, memory_cost_kib=1024, max_failures=2),
        clock=lambda: now,  # frozen: the slow default argon2 hash must not outlast the back-off
    )

    def locked(client: str) -> bool:
        try:
            server.authenticate("maks", PASSWORD, client=client)
        except LockedOutError:
            return True
        return False

    for client in ("203.0.113.4", "203.0.113.5"):
        for _ in range(2):
            with pytest.raises(AuthenticationError):
                server.authenticate("maks", "wrong password!", client=client)
    assert locked("203.0.113.4") and locked("203.0.113.5")
    lifted = json.loads(_run("user", "unlock", "--client", "203.0.113.4", "--json").stdout)
    assert lifted == {"client": "203.0.113.4", "counts_cleared": 1}
    assert not locked("203.0.113.4") and locked("203.0.113.5")
    assert "lifted" in _run("user", "unlock", "MAKS").stdout
    assert not locked("203.0.113.5")
    assert "either a USERNAME or --client" in _run("user", "unlock", code=2).stderr
    server.close()
