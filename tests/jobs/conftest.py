"""Material for the background-job tests: a zip of the fictional sample calls and their
call records, as a user would drop them into the browser."""

from __future__ import annotations

import zipfile
from importlib.resources import as_file, files
from pathlib import Path


def sample_zip(target: Path, names: list[str] | None = None) -> tuple[Path, Path]:
    """(zip of the sample calls, the sample call-record CSV), written under `target`."""
    target.mkdir(parents=True, exist_ok=True)
    archive = target / "calls.zip"
    with as_file(files("earshot") / "data" / "sample") as sample:
        with zipfile.ZipFile(archive, "w") as zf:
            for path in sorted((sample / "calls").iterdir()):
                if names is None or path.name in names or path.stem in names:
                    zf.write(path, f"calls/{path.name}")
        csv = target / "calls.csv"
        csv.write_bytes((sample / "calls.csv").read_bytes())
    return archive, csv
