"""A case made under the usual umask 022 is private: folder 0700, files 0600/0400.

Checked for real: the case is created, ingested into (worker processes included) and
verified under umask 022, then every entry is lstat'ed.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from earshot.ingest.runner import ingest
from earshot.security.accounts import AccountPolicy, AccountStore
from earshot.security.private import loose_permissions
from earshot.store.case import Case
from earshot.store.verify import verify_case

from ..conftest import Cli, write_audio

VTT = "WEBVTT\n\n00:00.000 --> 00:00.900\n<v A>Алло, это я.\n"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _open_to_others(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            found.append(f"{path.relative_to(root)} {stat.S_IMODE(mode):04o}")
    return found


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    write_audio(inbox / "call.wav", channels=2, seconds=1.0)
    (inbox / "call.vtt").write_text(VTT, encoding="utf-8")
    return inbox


def test_a_case_made_under_umask_022_is_private(
    tmp_path: Path, db_url: str, umask_022: None
) -> None:
    case_dir = tmp_path / "case"
    case_dir.mkdir()  # made by the user beforehand, 0755
    with Case.init(case_dir, db=db_url or None) as case:
        os.umask(0o022)  # as if something else in the process set it back
        report = ingest(case, [_inbox(tmp_path)])
        assert report.count("new") == 1
        assert verify_case(case).ok
        if not db_url:  # while open, SQLite's -wal and -shm exist: owner-only like the db
            for name in ("earshot.db-wal", "earshot.db-shm"):
                assert stat.S_IMODE((case_dir / name).stat().st_mode) == 0o600
        assert _open_to_others(case_dir) == []
    assert stat.S_IMODE(case_dir.stat().st_mode) == 0o700
    assert _open_to_others(case_dir) == []
    originals = [p for p in (case_dir / "media" / "originals").rglob("*") if p.is_file()]
    assert originals and {stat.S_IMODE(p.stat().st_mode) for p in originals} == {0o400}
    if not db_url:
        assert stat.S_IMODE((case_dir / "earshot.db").stat().st_mode) == 0o600


def test_the_cli_under_umask_022(tmp_path: Path) -> None:
    """A real shell with umask 022: init, ingest (forkserver workers), verify."""
    case_dir = tmp_path / "case"
    inbox = _inbox(tmp_path)
    earshot = f"{sys.executable} -m earshot"
    script = (
        f"umask 022 && {earshot} init {case_dir} && {earshot} ingest {case_dir} {inbox} "
        f"&& {earshot} verify {case_dir}"
    )
    env = {**os.environ, "EARSHOT_ACCOUNTS": str(tmp_path / "accounts.db")}
    done = subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "case files private" in done.stdout
    assert _open_to_others(case_dir) == []


def test_verify_reports_and_fixes_loose_permissions(
    case_dir: Path, tmp_path: Path, run_cli: Cli
) -> None:
    with Case.open(case_dir) as case:
        ingest(case, [_inbox(tmp_path)])
    loose_file = next(p for p in (case_dir / "media" / "working").rglob("*.wav"))
    loose_file.chmod(0o644)
    loose_dir = loose_file.parent
    loose_dir.chmod(0o755)
    (case_dir / "earshot.toml").chmod(0o644)
    problems = loose_permissions(case_dir)
    assert any(str(loose_file) in p and "0644" in p for p in problems)
    assert any(str(loose_dir) in p and "0755" in p for p in problems)

    failed = run_cli("verify", case_dir, code=1)
    assert f"LOOSE    {loose_file} is mode 0644" in failed.stderr
    assert "file(s) open to other users" in failed.stderr
    # Opening the case already closed the top: the folder and its config.
    assert stat.S_IMODE((case_dir / "earshot.toml").stat().st_mode) == 0o600
    assert stat.S_IMODE(case_dir.stat().st_mode) == 0o700

    run_cli("verify", case_dir, "--fix-permissions")
    assert stat.S_IMODE(loose_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(loose_dir.stat().st_mode) == 0o700
    assert _open_to_others(case_dir) == []


def test_the_accounts_database_is_private(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "share" / "accounts.db"
    store = AccountStore(
        path, policy=AccountPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    store.add_user("editor1", "a long enough passphrase")
    store.close()
    for file in path.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    path.chmod(0o644)  # made loose by hand (or by an older version)
    AccountStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
