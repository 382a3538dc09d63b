"""docs/library.md's newsroom script, run as written on the sample corpus: the front
door (`import earshot`) does what the page says."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib.resources import as_file, files
from pathlib import Path

import earshot

DOC = Path(__file__).parents[1] / "docs" / "library.md"


def _script() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "docs/library.md holds one script"
    return blocks[0]


def test_every_documented_name_is_in_the_front_door() -> None:
    table = DOC.read_text(encoding="utf-8").split("## A newsroom script")[0]
    names = {
        name
        for row in table.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`([A-Za-z_]+)`", row.split("|")[1])
    }
    assert len(names) > 25
    assert names <= set(earshot.__all__), names - set(earshot.__all__)
    for name in names:
        assert getattr(earshot, name) is not None, name
    for name in ("verify", "decide_voice_link", "set_call_theme", "save_translation"):
        assert callable(getattr(earshot.edits, name))


def test_the_newsroom_script_runs(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with as_file(files("earshot") / "data" / "sample") as sample:
        for name in ("call05.opus", "call05.vtt", "call12.wav", "call12.vtt", "call01.wav"):
            shutil.copy(sample / "calls" / name, inbox / name)
        shutil.copy(sample / "calls" / "call01.vtt", inbox / "call01.vtt")
        rows = (sample / "calls.csv").read_text(encoding="utf-8").splitlines()
    (inbox / "calls.csv").write_text(
        "\n".join(r for r in rows if r.startswith(("file,", "call01", "call05", "call12"))) + "\n",
        encoding="utf-8",
    )
    script = tmp_path / "morning.py"
    script.write_text(_script(), encoding="utf-8")
    out = tmp_path / "transcript.md"
    done = subprocess.run(
        [sys.executable, str(script), tmp_path / "case", inbox, inbox / "calls.csv", out],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("taken in: ") and "call records" in lines[0]
    assert any(line.startswith("call ") and " at " in line for line in lines), lines
    assert any("call sides, basis call_record" in line for line in lines), lines
    assert any(line.startswith("refused: ") and "must cite evidence" in line for line in lines)
    assert lines[-1].startswith("redacted transcript: transcript.md")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("Redacted") or "Redacted" in text.splitlines()[0]
