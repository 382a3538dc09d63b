"""Working copies are hashed when made; an altered one is caught and refused, then rebuilt.

The alteration is the one a forger would make: 4 s of a call silenced in its working copy
on disk, so that transcripts and published clips would carry the altered audio while
their provenance names the untouched original.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from earshot.errors import WorkingCopyAlteredError
from earshot.ingest.rebuild import rebuild_working
from earshot.ingest.runner import ingest
from earshot.pipeline.audio import load_channels
from earshot.pipeline.decode_stage import DecodeStage
from earshot.publish.clip import ClipError, ClipOptions, clip_call
from earshot.security.crypto import KeySource, create_key_file
from earshot.store.case import Case
from earshot.store.models import Call, CustodyEntry, WorkingCopyRow
from earshot.store.verify import verify_case
from earshot.store.working import hash_working

from ..conftest import Cli, write_audio

SECONDS = 6.0
RATE = 16000


def _ingest_one(case: Case, tmp_path: Path) -> tuple[Call, list[WorkingCopyRow]]:
    write_audio(tmp_path / "in" / "call.wav", channels=2, seconds=SECONDS)
    report = ingest(case, [tmp_path / "in"])
    assert report.count("new") == 1
    with case.session() as session:
        call = session.execute(select(Call)).scalar_one()
        rows = list(
            session.execute(select(WorkingCopyRow).order_by(WorkingCopyRow.channel)).scalars()
        )
    return call, rows


def _silence(case: Case, row: WorkingCopyRow, start: float = 1.0, seconds: float = 4.0) -> None:
    """Overwrite `seconds` of PCM with zeros in place (plain case: the WAV as stored)."""
    path = case.media.root / row.path
    data = bytearray(path.read_bytes())
    begin = 44 + 2 * round(start * RATE)
    data[begin : begin + 2 * round(seconds * RATE)] = bytes(2 * round(seconds * RATE))
    path.chmod(0o600)
    path.write_bytes(bytes(data))


def test_copies_are_hashed_when_made(case: Case, tmp_path: Path) -> None:
    _call, rows = _ingest_one(case, tmp_path)
    assert len(rows) == 2
    for row in rows:
        data = (case.media.root / row.path).read_bytes()
        assert row.content_sha256 == hashlib.sha256(data).hexdigest()
    report = verify_case(case)
    assert report.ok and report.working_checked == 2 and report.working_problems == []


def test_an_altered_copy_is_caught_refused_and_rebuilt(
    case: Case, tmp_path: Path, run_cli: Cli
) -> None:
    call, rows = _ingest_one(case, tmp_path)
    _silence(case, rows[0])

    report = verify_case(case)
    assert not report.ok
    assert [(p.channel, p.problem) for p in report.working_problems] == [(0, "altered")]
    assert "ALTERED  working copy" in report.working_problems[0].message
    assert "--rebuild-working" in report.working_problems[0].message

    # Every reader refuses it: the stages, the decode stage, clips.
    with pytest.raises(WorkingCopyAlteredError, match="altered since it was made"):
        load_channels(case, call.id)
    with pytest.raises(WorkingCopyAlteredError, match="--rebuild-working"):
        DecodeStage().compute(case, call.id)
    options = ClipOptions(start=0.0, end=3.0, redact=False, identifying=True, operator="ed")
    with pytest.raises(ClipError, match="altered since it was made"):
        clip_call(case, call.id, tmp_path / "clip.wav", options)
    assert not (tmp_path / "clip.wav").exists()

    # The CLI fails, then rebuilds from the original and passes.
    failed = run_cli("verify", case.path, "--json", code=1)
    body = json.loads(failed.stdout)
    assert body["ok"] is False and body["working_problems"][0]["problem"] == "altered"
    fixed = run_cli("verify", case.path, "--rebuild-working", "--json")
    body = json.loads(fixed.stdout)
    assert body["ok"] is True and body["working_problems"] == []
    assert [p["channel"] for p in body["rebuilt"]["rebuilt"]] == [0]
    with case.session() as session:
        row = session.get(WorkingCopyRow, rows[0].id)
        assert row is not None and row.content_sha256 == rows[0].content_sha256  # same audio
        actions = [e.action for e in session.execute(select(CustodyEntry)).scalars()]
    assert "working-rebuilt" in actions
    assert len(load_channels(case, call.id)[0]) == round(SECONDS * RATE)
    clip_call(case, call.id, tmp_path / "clip.wav", options)
    assert (tmp_path / "clip.wav").is_file()


def test_missing_and_unhashed_copies(case: Case, tmp_path: Path, run_cli: Cli) -> None:
    _call, rows = _ingest_one(case, tmp_path)
    (case.media.root / rows[1].path).unlink()
    with case.session() as session:
        first = session.get(WorkingCopyRow, rows[0].id)
        assert first is not None
        first.content_sha256 = None  # as a copy made before hashes were kept
    report = verify_case(case)
    assert report.ok  # reported, not failed: nothing here was tampered with
    assert sorted(p.problem for p in report.working_problems) == ["missing", "unhashed"]
    shown = run_cli("verify", case.path)
    assert "UNHASHED working copy" in shown.stderr and "MISSING  working copy" in shown.stderr
    rebuilt = rebuild_working(case)
    assert sorted(p.problem for p in rebuilt.rebuilt) == ["missing", "unhashed"]
    assert verify_case(case).working_problems == []
    with case.session() as session:
        query = select(WorkingCopyRow).order_by(WorkingCopyRow.channel)
        hashes = [r.content_sha256 for r in session.execute(query).scalars()]
    assert hashes == [r.content_sha256 for r in rows]


def test_an_altered_original_is_not_used_to_rebuild(case: Case, tmp_path: Path) -> None:
    call, rows = _ingest_one(case, tmp_path)
    _silence(case, rows[0])
    original = case.media.original_path(call.sha256)
    original.chmod(0o600)
    original.write_bytes(original.read_bytes()[:-100] + bytes(100))
    rebuilt = rebuild_working(case)
    assert rebuilt.rebuilt == [] and len(rebuilt.failed) == 1
    assert "is itself missing or altered" in rebuilt.failed[0][1]


def test_an_altered_copy_in_an_encrypted_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "case.key"
    create_key_file(key)
    monkeypatch.setenv("EARSHOT_KEY_FILE", str(key))
    Case.init(tmp_path / "sealed", encryption=KeySource(key_file=key)).close()
    with Case.open(tmp_path / "sealed") as case:
        call, rows = _ingest_one(case, tmp_path)
        assert hash_working(case.media, rows[0].path) == rows[0].content_sha256
        sealed = case.media.root / rows[0].path
        data = bytearray(sealed.read_bytes())
        data[5000] ^= 0xFF
        sealed.write_bytes(bytes(data))
        report = verify_case(case)
        assert [p.problem for p in report.working_problems] == ["altered"]
        with pytest.raises(WorkingCopyAlteredError, match="fails decryption"):
            load_channels(case, call.id)
        assert len(rebuild_working(case).rebuilt) == 1
        assert verify_case(case).ok


def test_process_refuses_an_altered_copy_instead_of_unchanged(
    case: Case, tmp_path: Path, run_cli: Cli
) -> None:
    _call, rows = _ingest_one(case, tmp_path)
    first = json.loads(run_cli("process", case.path, "--only", "decode", "--json").stdout)
    again = json.loads(run_cli("process", case.path, "--only", "decode", "--json").stdout)
    assert [r["status"] for r in again["results"]] == ["unchanged"], (first, again)
    _silence(case, rows[1])
    refused = run_cli("process", case.path, "--only", "decode", "--json", code=1)
    (result,) = json.loads(refused.stdout)["results"]
    assert result["status"] == "failed"
    assert "channel 1" in result["message"] and "--rebuild-working" in result["message"]
    run_cli("verify", case.path, "--rebuild-working")
    fixed = json.loads(run_cli("process", case.path, "--only", "decode", "--json").stdout)
    assert [r["status"] for r in fixed["results"]] == ["done"]


def test_a_case_from_before_hashes_upgrades_and_rebuilds(case: Case, tmp_path: Path) -> None:
    """Migration 1000 on a case with working copies: rows kept, reported UNHASHED, rebuilt."""
    from alembic import command

    from earshot.store.database import _config

    _call, rows = _ingest_one(case, tmp_path)
    cfg = _config(case.engine)
    with case.engine.begin() as conn:  # back to the schema before working-copy hashes
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "working_hashes@-1")
    case.close()
    with Case.open(case.path) as upgraded:
        assert upgraded.migration is not None and "1000" in (upgraded.migration.after or "")
        report = verify_case(upgraded)
        assert report.ok
        assert [p.problem for p in report.working_problems] == ["unhashed", "unhashed"]
        assert len(rebuild_working(upgraded).rebuilt) == 2
        with upgraded.session() as session:
            query = select(WorkingCopyRow).order_by(WorkingCopyRow.channel)
            hashes = [r.content_sha256 for r in session.execute(query).scalars()]
        assert hashes == [r.content_sha256 for r in rows]  # the same audio as first made
        assert verify_case(upgraded).working_problems == []
