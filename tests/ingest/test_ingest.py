"""Ingest end to end: originals, working copies, duplicates, sidecars, call records, failures."""

from __future__ import annotations

import os
import wave
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.store.case import Case
from earshot.store.custody import verify_chain
from earshot.store.failures import list_failures
from earshot.store.models import (
    Call,
    CustodyEntry,
    Original,
    Person,
    PersonPhone,
    Phone,
    Segment,
    Sighting,
    Transcript,
    WorkingCopyRow,
)
from earshot.store.queries import list_calls

from ..conftest import write_audio

VTT = """WEBVTT

00:00.000 --> 00:00.900
<v A>Мам, привет, это Андрюша.

00:01.000 --> 00:01.800
<v B>Андрюша! <script>alert(1)</script> Ты где?
"""

SRT = """1
00:00:00,000 --> 00:00:00,800
Алло, Рома?

2
00:00:01,000 --> 00:00:01,900
Да, слушаю.
"""

CSV = """file,started_at,caller,callee,caller_name,callee_name,location,notes,intercept_id
mono.wav,2023-01-15 14:32,8 (916) 555-12-34,+7 916 555 12 35,Андрей Петров,Мама,Донецк,first,X-1
stereo.wav,2023-02-01T10:00:00+03:00,79165551234,+380 67 123 4567,андрей  петров,,,,X-2
landline.flac,15.03.2023 09:05,+7 495 111-22-33,8 916 555 12 35,Ольга,Мама,,,X-3
"""


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """A folder as a newsroom receives it: mono/stereo, codecs, sidecars, a corrupt file."""
    root = tmp_path / "inbox"
    write_audio(root / "mono.wav", codec="pcm_mulaw", seconds=2.0)
    write_audio(root / "nested" / "stereo.wav", channels=2, seconds=2.0, freqs=(300, 1200))
    write_audio(root / "landline.flac", codec="flac", container="flac", seconds=1.5, seed=3)
    (root / "mono.vtt").write_text(VTT, encoding="utf-8")
    (root / "nested" / "stereo.srt").write_text(SRT, encoding="utf-8")
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    return root


@pytest.fixture
def records(tmp_path: Path) -> Path:
    path = tmp_path / "calls.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def _count(case: Case, model: type) -> int:
    with case.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_ingest_folder_with_records_and_sidecars(case: Case, inbox: Path, records: Path) -> None:
    report = ingest(case, [inbox], IngestOptions(source="drive #1", metadata=records, workers=1))
    assert report.count("new") == 3
    assert report.count("failed") == 1
    assert any("broken.wav" in e for e in report.errors)
    assert report.records.applied == 3 and report.records.failed == 0

    with case.session() as session:
        calls = {c.source_file: c.as_dict() for c in list_calls(session)}
    assert set(calls) == {"mono.wav", "stereo.wav", "landline.flac"}
    mono, stereo, landline = calls["mono.wav"], calls["stereo.wav"], calls["landline.flac"]
    assert mono["caller"] == "+79165551234" and mono["callee"] == "+79165551235"
    assert stereo["callee"] == "+380671234567"
    assert mono["started_at"] == "2023-01-15T14:32:00+00:00"
    assert stereo["started_at"] == "2023-02-01T07:00:00+00:00"
    assert landline["started_at"] == "2023-03-15T09:05:00+00:00"
    assert (mono["channels"], stereo["channels"]) == (1, 2)
    assert mono["codec"] == "pcm_mulaw" and mono["sample_rate"] == 8000
    assert abs(mono["duration"] - 2.0) < 0.05
    assert mono["transcript_source"] == "sidecar" and landline["transcript_source"] is None
    # one person across spellings, linked to the phone; "Мама" shares the number +7 916 555 12 35
    assert mono["caller_person"] == stereo["caller_person"] == "Андрей Петров"
    assert mono["callee_person"] == landline["callee_person"] == "Мама"
    assert _count(case, Person) == 3  # Андрей Петров, Мама, Ольга
    assert _count(case, Phone) == 4
    assert _count(case, PersonPhone) == 3
    with case.session() as session:
        stereo_call = session.execute(
            select(Call).where(Call.source_file == "stereo.wav")
        ).scalar_one()
        assert [(p.label, p.channel) for p in stereo_call.parties] == [("A", 0), ("B", 1)]
        assert stereo_call.attributes == {"intercept_id": "X-2"}
        texts = [
            (s.party, s.speaker_label, s.text)
            for s in session.execute(
                select(Segment)
                .join(Transcript)
                .join(Call)
                .where(Call.source_file == "mono.wav")
                .order_by(Segment.idx)
            ).scalars()
        ]
    assert texts[0] == ("A", "A", "Мам, привет, это Андрюша.")
    assert texts[1][0] == "B" and "<script>alert(1)</script>" in texts[1][2]


def test_originals_stored_untouched_with_working_copies(case: Case, inbox: Path) -> None:
    ingest(case, [inbox], IngestOptions(workers=1))
    with case.session() as session:
        for call in session.execute(select(Call)).scalars():
            stored = case.media.original_path(call.sha256)
            source = Path(call.source_path)
            assert stored.read_bytes() == source.read_bytes()
            assert not stored.stat().st_mode & 0o222  # read-only
            copies = (
                session.execute(
                    select(WorkingCopyRow)
                    .where(WorkingCopyRow.sha256 == call.sha256)
                    .order_by(WorkingCopyRow.channel)
                )
                .scalars()
                .all()
            )
            assert [c.channel for c in copies] == list(range(call.channels))
            for copy in copies:
                with wave.open(str(case.media.root / copy.path)) as wav:
                    assert wav.getframerate() == 16000 and wav.getnchannels() == 1
                    assert abs(wav.getnframes() / 16000 - call.duration) < 0.05


def test_rerun_changes_nothing(case: Case, inbox: Path, records: Path) -> None:
    options = IngestOptions(metadata=records, workers=1)
    ingest(case, [inbox], options)
    tables = (Original, Sighting, Call, Transcript, Segment, CustodyEntry, Person, Phone)
    before = {m.__name__: _count(case, m) for m in tables}
    again = ingest(case, [inbox], options)
    assert again.count("new") == 0 and again.count("unchanged") == 3
    assert again.records.applied == 0 and again.records.unchanged == 3
    assert {m.__name__: _count(case, m) for m in tables} == before
    with case.session() as session:
        assert len(list_failures(session)) == 1  # the broken file, still one failure


def test_same_file_twice_is_stored_once_and_recorded_as_duplicate(
    case: Case, tmp_path: Path
) -> None:
    first = write_audio(tmp_path / "a" / "call.wav")
    copy = tmp_path / "b" / "copy-of-call.wav"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    report = ingest(case, [tmp_path / "a", tmp_path / "b"], IngestOptions(workers=2))
    assert sorted(f.status for f in report.files) == ["duplicate", "new"]
    assert _count(case, Call) == 1 and _count(case, Original) == 1
    with case.session() as session:
        sightings = session.execute(select(Sighting).order_by(Sighting.id)).scalars().all()
        assert [s.duplicate for s in sightings] == [False, True]
        actions = [e.action for e in session.execute(select(CustodyEntry)).scalars()]
    assert actions.count("duplicate") == 1
    assert len(list(case.media.root.glob("originals/*/*/*"))) == 1


def test_custody_records_source_operator_and_path(case: Case, inbox: Path) -> None:
    ingest(case, [inbox / "mono.wav"], IngestOptions(source="USB stick from source K", workers=1))
    with case.session() as session:
        sighting = session.execute(select(Sighting)).scalars().one()
        entry = session.execute(
            select(CustodyEntry).where(CustodyEntry.action == "ingested")
        ).scalar_one()
        count, problems = verify_chain(session)
    assert sighting.source == "USB stick from source K"
    assert sighting.operator == "tester" and entry.operator == "tester"
    assert sighting.original_path == str((inbox / "mono.wav").resolve())
    assert entry.sha256 == sighting.sha256 and entry.detail["size"] > 0
    assert count >= 2 and problems == []


def test_record_rows_for_missing_files_and_bad_values_are_reported(
    case: Case, inbox: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "file,started_at,caller,callee\n"
        "mono.wav,2023-01-15 14:32,89165551234,89165551235\n"
        "ghost.wav,2023-01-16 10:00,89165551234,89165551235\n"
        "landline.flac,yesterday,89165551234,89165551235\n"
        "stereo.wav,2023-01-17 10:00,12,89165551235\n",
        encoding="utf-8",
    )
    report = ingest(case, [inbox], IngestOptions(metadata=csv, workers=1))
    assert report.count("new") == 3  # the audio all went in
    assert report.records.applied == 1 and report.records.failed == 1
    messages = "\n".join(report.errors)
    assert "line 3" in messages and "ghost.wav" in messages
    assert "line 4" in messages and "yesterday" in messages
    assert "line 5" in messages and "'12'" in messages
    with case.session() as session:
        rows = sorted(f.row for f in list_failures(session) if f.stage == "records")
    assert rows == [3, 4, 5]


def test_sidecar_problems_do_not_stop_the_call(case: Case, tmp_path: Path) -> None:
    write_audio(tmp_path / "in" / "x.wav")
    (tmp_path / "in" / "x.vtt").write_text("WEBVTT\n\n00:05.000 --> 00:01.000\nback\n")
    (tmp_path / "in" / "lonely.srt").write_text(SRT)
    report = ingest(case, [tmp_path / "in"], IngestOptions(workers=1))
    assert report.count("new") == 1
    assert any("x.vtt" in e for e in report.errors)
    assert any("lonely.srt" in e and "without an audio file" in e for e in report.errors)
    assert _count(case, Transcript) == 0
    # fixing the sidecar and re-running imports it and resolves the failure
    (tmp_path / "in" / "x.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\n<v B>ok\n")
    again = ingest(
        case, [tmp_path / "in" / "x.wav", tmp_path / "in" / "x.vtt"], IngestOptions(workers=1)
    )
    assert [f.transcripts for f in again.files] == [1]
    with case.session() as session:
        open_paths = [f.path for f in list_failures(session)]
    assert not any(p.endswith("x.vtt") for p in open_paths)


def test_translation_sidecar(case: Case, tmp_path: Path) -> None:
    write_audio(tmp_path / "call.wav")
    (tmp_path / "call.vtt").write_text(VTT)
    (tmp_path / "call.en.vtt").write_text(
        "WEBVTT\n\n00:00.000 --> 00:00.900\n<v A>Mum, hi, it's Andryusha.\n"
    )
    ingest(case, [tmp_path], IngestOptions(workers=1))
    with case.session() as session:
        kinds = sorted((t.kind, t.language) for t in session.execute(select(Transcript)).scalars())
    assert kinds == [("translation", "en"), ("verbatim", None)]


def test_zip_archive_with_slip_and_bomb(case: Case, tmp_path: Path) -> None:
    good = write_audio(tmp_path / "src" / "good.wav")
    archive = tmp_path / "drop.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(good, "calls/good.wav")
        zf.writestr("calls/good.vtt", VTT)
        zf.writestr("../../etc/evil.wav", good.read_bytes())
        zf.writestr("/abs/evil2.wav", good.read_bytes())
        zf.writestr("calls/bomb.wav", b"\x00" * 30_000_000)
    report = ingest(case, [archive], IngestOptions(workers=1))
    statuses = {Path(f.path.split("!")[-1]).name: f.status for f in report.files}
    assert statuses["good.wav"] == "new"
    assert statuses["evil.wav"] == statuses["evil2.wav"] == statuses["bomb.wav"] == "failed"
    messages = "\n".join(report.errors)
    assert "'..'" in messages and "absolute path" in messages and "zip bomb" in messages
    with case.session() as session:
        call = session.execute(select(Call)).scalar_one()
        assert call.source_path == f"{archive.resolve()}!calls/good.wav"
        assert call.transcripts and call.transcripts[0].segments[0].party == "A"
    assert not list(tmp_path.parent.glob("**/etc/evil.wav"))


def test_zip_total_size_bomb_refused(
    tmp_path: Path, case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARSHOT_ZIP_MAX_TOTAL_BYTES", "1000000")
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"f{i}.wav", b"\x00" * 600_000)
    with Case.open(case_dir) as case:
        report = ingest(case, [archive], IngestOptions(workers=1))
    assert [f.status for f in report.files] == ["failed"]
    assert "zip bomb" in report.errors[0] and "1,800,000" in report.errors[0]


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)<script>.wav",
        "'; DROP TABLE calls; --.wav",
        "звонок маме №1.wav",
        "name with spaces .wav",
        "$(rm -rf).wav",
    ],
)
def test_hostile_file_names_are_data(case: Case, tmp_path: Path, name: str) -> None:
    write_audio(tmp_path / "in" / name)
    report = ingest(case, [tmp_path / "in"], IngestOptions(workers=1))
    assert [f.status for f in report.files] == ["new"]
    with case.session() as session:
        assert [c.source_file for c in list_calls(session)] == [name]


def test_corrupt_empty_truncated_and_unsupported(case: Case, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    good = write_audio(folder / "good.wav", seconds=3.0)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not audio at all" * 20)
    data = good.read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 3])
    (folder / "random.mp3").write_bytes(bytes(range(256)) * 40)
    report = ingest(case, [folder], IngestOptions(workers=2))
    status = {Path(f.path).name: f.status for f in report.files}
    assert status == {
        "good.wav": "new",
        "empty.wav": "failed",
        "notes.pdf": "failed",
        "truncated.wav": "failed",
        "random.mp3": "failed",
    }
    for result in report.files:
        if result.status == "failed":
            assert result.message and "\n" not in result.message
            assert Path(result.path).name in result.message
    assert _count(case, Call) == 1
    # the failed files' bytes are still kept as evidence
    assert _count(case, Original) == 5  # every input is kept, the empty one included


def test_hidden_files_are_reported_as_skipped_not_lost(case: Case, tmp_path: Path) -> None:
    write_audio(tmp_path / "in" / ".hidden.wav")
    write_audio(tmp_path / "in" / "seen.wav", seed=1)
    report = ingest(case, [tmp_path / "in"], IngestOptions(workers=1))
    status = {Path(f.path).name: f.status for f in report.files}
    assert status == {".hidden.wav": "skipped", "seen.wav": "new"}
    named = ingest(case, [tmp_path / "in" / ".hidden.wav"], IngestOptions(workers=1))
    assert [f.status for f in named.files] == ["new"]


def test_file_name_that_is_not_utf8(case: Case, tmp_path: Path) -> None:
    """Undecodable bytes in a name are recorded escaped; the file itself goes in."""
    folder = tmp_path / "in"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/\xff\xfe-call.wav"
    write_audio(Path(os.fsdecode(raw)))
    report = ingest(case, [folder], IngestOptions(workers=1))
    assert [f.status for f in report.files] == ["new"]
    with case.session() as session:
        (call,) = list_calls(session)
    assert call.source_file == "\\xff\\xfe-call.wav"


def test_file_over_the_size_limit(
    case_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARSHOT_MAX_FILE_BYTES", "10000")
    write_audio(tmp_path / "in" / "long.wav", seconds=5.0)
    write_audio(tmp_path / "in" / "short.wav", seconds=0.2, seed=4)
    with Case.open(case_dir) as case:
        report = ingest(case, [tmp_path / "in"], IngestOptions(workers=1))
    status = {Path(f.path).name: (f.status, f.message) for f in report.files}
    assert status["short.wav"][0] == "new"
    assert status["long.wav"][0] == "failed"
    assert "larger than the limit of 10,000 bytes" in (status["long.wav"][1] or "")
    assert list((case_dir / "tmp").iterdir()) == []


def test_worker_pool_gives_the_same_records(
    case: Case, inbox: Path, records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large batches go through worker processes; the outcome must be the same."""
    from earshot.ingest import runner

    monkeypatch.setattr(runner, "POOL_MIN_BYTES", 0)
    report = ingest(case, [inbox], IngestOptions(metadata=records, workers=2))
    assert report.count("new") == 3 and report.count("failed") == 1
    with case.session() as session:
        calls = {c.source_file: c.as_dict() for c in list_calls(session)}
    assert calls["stereo.wav"]["channels"] == 2
    assert calls["mono.wav"]["caller"] == "+79165551234"
    assert _count(case, WorkingCopyRow) == 4
