"""The command line: help and docs for every command, --json everywhere, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from earshot.cli import cli

from .conftest import Cli, write_audio

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, full + " "))
    return found


COMMANDS = _commands(cli)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help_json_and_docs(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 20, f"{name} lacks help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} option {param.opts} lacks help"
    if not isinstance(command, click.Group):
        assert any("--json" in p.opts for p in command.params if isinstance(p, click.Option)), (
            f"{name} lacks --json"
        )
    docs = DOCS.read_text(encoding="utf-8")
    assert re.search(rf"^#+ `earshot {re.escape(name)}\b", docs, re.M), (
        f"docs/cli.md has no section for `earshot {name}`"
    )


def test_init_ingest_calls_verify_through_the_cli(
    tmp_path: Path, run_cli: Cli, db_url: str
) -> None:
    case = tmp_path / "case"
    args = ["init", case, "--json"] + (["--db", db_url] if db_url else [])
    created = json.loads(run_cli(*args).stdout)
    assert created["backend"] == ("postgresql" if db_url else "sqlite")
    inbox = tmp_path / "in"
    write_audio(inbox / "one.wav", channels=2)
    write_audio(inbox / "two.wav", codec="pcm_alaw", seed=2)
    (inbox / "two.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nАлло\n", encoding="utf-8")
    (inbox / "corrupt.wav").write_bytes(os.urandom(2000))
    csv = tmp_path / "calls.csv"
    csv.write_text(
        "file,started_at,caller,callee,caller_name\n"
        "one.wav,2023-01-02 03:04,+7 (916) 555-12-34,8 916 555 12 35,Иван\n"
        "two.wav,2023-01-03 03:04,79165551235,+79165551234,\n"
        "gone.wav,2023-01-04 03:04,79165551235,+79165551234,\n",
        encoding="utf-8",
    )
    report = json.loads(
        run_cli("ingest", case, inbox, "--metadata", csv, "--source", "tip", "--json").stdout
    )
    assert report["counts"]["new"] == 2 and report["counts"]["failed"] == 1
    assert any("gone.wav" in e for e in report["errors"])
    assert any("corrupt.wav" in e for e in report["errors"])
    strict = run_cli("ingest", case, inbox, "--strict", code=1)
    assert "corrupt.wav" in strict.stderr

    calls = json.loads(run_cli("calls", case, "--json").stdout)
    # gone.wav's record is kept as a call without audio until the file turns up
    assert [c["source_file"] for c in calls] == ["one.wav", "two.wav", "gone.wav"]
    one, two, gone = calls
    assert gone["status"] == "no-audio" and created["timezone"] == "Europe/Moscow"
    assert set(one) >= {
        "id",
        "source_file",
        "started_at",
        "duration",
        "channels",
        "caller",
        "callee",
        "caller_person",
        "callee_person",
        "transcript_source",
        "status",
    }
    assert (one["caller"], one["callee"], one["caller_person"]) == (
        "+79165551234",
        "+79165551235",
        "Иван",
    )
    assert one["channels"] == 2 and two["transcript_source"] == "sidecar"

    failures = json.loads(run_cli("failures", case, "--json").stdout)
    assert {f["stage"] for f in failures} == {"decode", "records"}
    assert json.loads(run_cli("verify", case, "--json").stdout)["ok"] is True

    stored = next((case / "media" / "originals").glob("*/*/*"))
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes() + b"tampered")
    bad = run_cli("verify", case, code=1)
    assert stored.name in bad.stderr and "ALTERED" in bad.stderr
    stored.unlink()
    missing = json.loads(run_cli("verify", case, "--json", code=1).stdout)
    assert [p["problem"] for p in missing["problems"]] == ["missing"]

    log = json.loads(run_cli("custody", case, "--json").stdout)
    actions = [e["action"] for e in log["entries"]]
    assert log["chain_ok"] and actions[0] == "case-created" and "verified" in actions


def test_library_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "earshot", "calls", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "not an Earshot case" in result.stderr and "Traceback" not in result.stderr


def test_settings_lists_environment_names(run_cli: Cli) -> None:
    rows = json.loads(run_cli("settings", "--json").stdout)
    assert {"name": "region", "env": "EARSHOT_REGION", "default": "RU"}.items() <= rows[1].items()
