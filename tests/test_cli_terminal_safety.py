"""Escape sequences in file names, transcripts and records never reach the terminal.

A hostile name carries what a real attack would: clear screen and cursor home (CSI), a
window title (OSC ... BEL), a C1 CSI (0x9b), a right-to-left override and rich markup (a
terminal hyperlink). Every command that prints data must show it inert; --json must stay
valid and decode to the raw value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from earshot.cli._terminal import safe, safe_json, safe_json_text, visible

from .conftest import Cli, write_audio

# No "/" (it must fit in a file name).
ATTACK = "\x1b[2J\x1b[H\x1b]0;pwned\x07OK verified\x9b31m[link=file:x]y[bold]\u202e"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
NAME = f"call{ATTACK}.wav"
TEXT = f"Алло{ATTACK} мама"


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def _clean(output: str) -> None:
    for char in RAW:
        assert char not in output, repr(output)
    assert "\\x1b[2J" in output  # shown, not swallowed


@pytest.fixture
def hostile_case(tmp_path: Path, run_cli: Cli) -> Path:
    inbox = tmp_path / "inbox"
    write_audio(inbox / NAME, seconds=1.0)
    (inbox / f"call{ATTACK}.vtt").write_text(
        f"WEBVTT\n\n00:00.000 --> 00:00.900\n<v A>{TEXT}\n", encoding="utf-8"
    )
    (inbox / f"broken{ATTACK}.wav").write_bytes(b"RIFF not really audio")
    case = tmp_path / "case"
    run_cli("init", case)
    result = run_cli("ingest", case, inbox)
    _clean(result.stdout + result.stderr)
    return case


def test_visible_and_safe() -> None:
    assert visible("a\x1b[2Jb\x07\x9b\u202ec\n") == "a\\x1b[2Jb\\x07\\x9b\\u202ec\\x0a"
    assert visible("line\n\tnext\x1b", lines=True) == "line\n\tnext\\x1b"
    assert safe("[link=x]y[/link]") == "\\[link=x]y\\[/link]"
    assert json.loads(safe_json({"v": ATTACK})) == {"v": ATTACK}
    assert not any(char in safe_json({"v": ATTACK}) for char in RAW)
    dumped = json.dumps({"v": ATTACK}, ensure_ascii=False)
    assert json.loads(safe_json_text(dumped)) == {"v": ATTACK}
    assert not any(char in safe_json_text(dumped) for char in RAW)


@pytest.mark.parametrize(
    "args",
    [
        ("failures",),
        ("custody",),
        ("calls",),
        ("search", "мама"),
        ("verify",),
        ("graph",),
    ],
)
def test_each_command_shows_data_inert(
    hostile_case: Path, run_cli: Cli, args: tuple[str, ...]
) -> None:
    command, *rest = args
    result = run_cli(command, hostile_case, *rest, code=None)
    output = result.stdout + result.stderr
    for char in RAW:
        assert char not in output, (args, output)
    if command in ("failures", "custody", "calls"):
        assert "\\x1b" in output, (args, output)  # the data is there, made visible
        assert "[link=file:x]y[bold]" in output  # markup shown as text, not applied
    if command == "search":  # (the search snippet drops controls and brackets itself)
        assert "OK verified" in output and "мама" in output
    as_json = run_cli(command, hostile_case, *rest, "--json", code=None)
    text = as_json.stdout
    for char in RAW:
        assert char not in text, (args, text)
    if command not in ("verify", "search", "graph"):  # the raw value, JSON-escaped, decodes back
        assert any(ATTACK in value for value in _strings(json.loads(text))), args


def test_person_commands(hostile_case: Path, run_cli: Cli) -> None:
    added = run_cli("person", "add", hostile_case, f"Иван{ATTACK}", "--alias", ATTACK)
    _clean(added.stdout + added.stderr)
    shown = run_cli("person", "show", hostile_case, "1")
    _clean(shown.stdout + shown.stderr)
    listed = run_cli("person", "list", hostile_case)
    for char in RAW:
        assert char not in listed.stdout
    data = json.loads(run_cli("person", "show", hostile_case, "1", "--json").stdout)
    assert data["name"] == f"Иван{ATTACK}"


def test_error_messages_are_inert(tmp_path: Path, run_cli: Cli) -> None:
    result = run_cli("calls", tmp_path / f"nocase{ATTACK}", code=2)
    for char in RAW:
        assert char not in result.stderr
    assert "\\x1b" in result.stderr
