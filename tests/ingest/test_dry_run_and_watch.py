"""`ingest --dry-run` writes nothing; `ingest --watch` takes files as they arrive, stops on
SIGTERM, survives a kill and resumes as the same job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import Cli, write_audio

EXPORT = (
    "Дата;Время;Номер А;Номер Б;Длительность\r\n"
    "05.03.2023;14:21:50;+79031112233;+79161234567;3\r\n"
    "07.03.2023;20:00:00;+79031112233;+79161234567;0:02:10\r\n"
)


def _init(run_cli: Cli, case: Path, db_url: str) -> dict[str, object]:
    args = ["init", case, "--json"] + (["--db", db_url] if db_url else [])
    created: dict[str, object] = json.loads(run_cli(*args).stdout)
    return created


def test_dry_run_shows_mapping_and_matches_and_writes_nothing(
    tmp_path: Path, run_cli: Cli, db_url: str
) -> None:
    case = tmp_path / "case"
    created = _init(run_cli, case, db_url)
    assert created["timezone"] == "Europe/Moscow" and "region RU" in str(created["timezone_basis"])
    inbox = tmp_path / "in"
    write_audio(inbox / "Call recording +79161234567_230305_142200.wav")
    write_audio(inbox / "unrelated.wav", seed=3)
    export = tmp_path / "export.csv"
    export.write_bytes(EXPORT.encode("koi8_r"))
    before = json.loads(run_cli("custody", case, "--json").stdout)["entries"]
    shown = json.loads(
        run_cli("ingest", case, inbox, "--metadata", export, "--dry-run", "--json").stdout
    )
    assert shown["encoding"] == "KOI8-R" and shown["timezone"] == "Europe/Moscow"
    fields = {c["column"]: c["field"] for c in shown["columns"]}
    assert fields == {
        "Дата": "date",
        "Время": "time",
        "Номер А": "caller",
        "Номер Б": "callee",
        "Длительность": "duration",
    }
    first, second = shown["rows"]
    assert first["file"] == "Call recording +79161234567_230305_142200.wav"
    assert first["basis"] == "number pair and time"
    assert second["file"] is None and "call without audio" in second["basis"]
    by_name = {f["name"]: f for f in shown["files"]}
    assert by_name["Call recording +79161234567_230305_142200.wav"]["file_name"]["pattern"] == (
        "samsung"
    )
    assert by_name["unrelated.wav"]["record_row"] is None
    assert json.loads(run_cli("calls", case, "--json").stdout) == []
    assert json.loads(run_cli("custody", case, "--json").stdout)["entries"] == before
    table = run_cli("ingest", case, inbox, "--metadata", export, "--dry-run").stdout
    assert "Nothing was written" in table and "Номер А" in table


def test_cli_refuses_bad_mapping_encoding_and_xls_clearly(tmp_path: Path, run_cli: Cli) -> None:
    case = tmp_path / "case"
    run_cli("init", case)
    export = tmp_path / "export.csv"
    export.write_bytes(EXPORT.encode("cp1251"))
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  calller: A\n", encoding="utf-8")
    bad = run_cli("ingest", case, tmp_path, "--metadata", export, "--mapping", mapping, code=None)
    assert "columns.calller: unknown field" in bad.stderr
    wrong = run_cli("ingest", case, tmp_path, "--encoding", "klingon", code=2)
    assert "unknown encoding 'klingon'" in wrong.stderr
    xls = tmp_path / "calls.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    refused = run_cli("ingest", case, tmp_path / "none", "--metadata", xls, "--json", code=None)
    errors = json.loads(refused.stdout)["errors"]
    assert any("Excel 97–2003 .xls workbook" in e for e in errors)
    assert not any("NUL bytes" in e for e in errors)


def _watch(case: Path, folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "earshot", "ingest", str(case), str(folder), "--watch",
         "--settle", "0.5", "--workers", "1", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _calls(run_cli: Cli, case: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(run_cli("calls", case, "--json").stdout)
    return rows


def _wait_for(run_cli: Cli, case: Path, count: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(_calls(run_cli, case)) >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"the watch did not take in {count} calls in {seconds} s")


def _wait_for_job(run_cli: Cli, case: Path, pid: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        jobs = json.loads(run_cli("jobs", case, "--json").stdout)
        if jobs and jobs[-1]["status"] == "running" and jobs[-1]["pid"] == pid:
            return
        time.sleep(0.3)
    raise AssertionError(f"the watch (pid {pid}) did not start in {seconds} s")


def _wait_for_taken(run_cli: Cli, case: Path, count: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        jobs = json.loads(run_cli("jobs", case, "--json").stdout)
        if jobs and jobs[-1]["files_taken"] >= count:
            return
        time.sleep(0.3)
    raise AssertionError(f"the watch did not record {count} files taken in {seconds} s")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_watch_takes_files_stops_on_sigterm_and_resumes_after_a_kill(
    tmp_path: Path, run_cli: Cli, db_url: str
) -> None:
    case, drop = tmp_path / "case", tmp_path / "drop"
    drop.mkdir()
    run_cli("init", case)
    watcher = _watch(case, drop)
    try:
        write_audio(drop / "first.wav")
        (drop / ".hidden.wav").write_bytes(b"junk")
        (drop / "upload.wav.part").write_bytes(b"still arriving")
        _wait_for(run_cli, case, 1)
        (jobs,) = json.loads(run_cli("jobs", case, "--json").stdout)
        assert jobs["status"] == "running" and jobs["pid"] == watcher.pid
        watcher.send_signal(signal.SIGTERM)
        output, errors = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, errors
    summary = json.loads(output)
    assert summary["resumed"] is False and len(summary["batches"]) == 1
    (job,) = json.loads(run_cli("jobs", case, "--json").stdout)
    assert job["status"] == "stopped" and job["files_taken"] == 1

    watcher = _watch(case, drop)  # resumes; a second watcher on the same folder is refused
    try:
        _wait_for_job(run_cli, case, watcher.pid)
        rival = _watch(case, drop)
        _, complaint = rival.communicate(timeout=60)
        assert rival.returncode == 2 and "already being watched" in complaint
        write_audio(drop / "sub" / "second.wav", seed=2)
        _wait_for(run_cli, case, 2)
        # The batch's call commits before the job records the file as taken; kill after
        # both, so the resumed watch has exactly one new file (a kill in between only
        # makes it offer second.wav again, which ingest finds unchanged).
        _wait_for_taken(run_cli, case, 2)
        os.kill(watcher.pid, signal.SIGKILL)  # a crash: no chance to say goodbye
        watcher.wait(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    (job,) = json.loads(run_cli("jobs", case, "--json").stdout)
    assert job["status"] == "running"  # what the crash left behind

    watcher = _watch(case, drop)
    try:
        write_audio(drop / "third.wav", seed=3)
        _wait_for(run_cli, case, 3)
        watcher.send_signal(signal.SIGINT)
        output, errors = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, errors
    assert json.loads(output)["resumed"] is True
    (job,) = json.loads(run_cli("jobs", case, "--json").stdout)
    assert (job["status"], job["files_taken"], job["batches"]) == ("stopped", 3, 3)
    assert job["counts"]["new"] == 3
    names = sorted(str(c["source_file"]) for c in _calls(run_cli, case))
    assert names == ["first.wav", "second.wav", "third.wav"]


def test_the_scan_leaves_the_case_downloads_and_links_alone(tmp_path: Path) -> None:
    from earshot.ingest.watch import _scan

    (tmp_path / "case" / "media").mkdir(parents=True)
    (tmp_path / "case" / "media" / "x.wav").write_bytes(b"stored")
    (tmp_path / "call.wav").write_bytes(b"new")
    (tmp_path / "big.wav.part").write_bytes(b"arriving")
    (tmp_path / ".secret.wav").write_bytes(b"hidden")
    (tmp_path / "link.wav").symlink_to(tmp_path / "call.wav")
    found = _scan(tmp_path, ((tmp_path / "case").resolve(),))
    assert [Path(p).name for p in found] == ["call.wav"]
