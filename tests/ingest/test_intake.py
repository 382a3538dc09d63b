"""Material as it really arrives: recorder-app files with a telco export naming no files,
records without audio, recordings arriving later, time zones (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.settings import Settings
from earshot.store.case import Case
from earshot.store.failures import list_failures
from earshot.store.intake_models import CallSource
from earshot.store.models import Call
from earshot.store.queries import list_calls

from ..conftest import write_audio

EXPORT = (
    "Дата;Время;Номер А;Номер Б;Длительность\r\n"
    # matches the Samsung file below (recorded 40 s after the exchange logged the call)
    "05.03.2023;14:21:20;8 903 111-22-33;8 916 123-45-67;0:00:03\r\n"
    # matches the MIUI file (incoming to the subscriber, the file names the caller)
    "06.03.2023;09:15:00;+79161234567;+79035556677;3\r\n"
    # nobody recorded this one
    "07.03.2023;20:00:00;+79031112233;+79161234567;0:02:10\r\n"
)


@pytest.fixture
def moscow_case(tmp_path: Path, db_url: str) -> Iterator[Case]:
    settings = Settings().merged({"timezone": "Europe/Moscow"}, "test")
    Case.init(tmp_path / "case", db=db_url or None, settings=settings).close()
    opened = Case.open(tmp_path / "case")
    yield opened
    opened.close()


def _sources(case: Case, call_id: int) -> dict[str, CallSource]:
    with case.session() as session:
        rows = session.execute(select(CallSource).where(CallSource.call_id == call_id)).scalars()
        return {row.field: row for row in rows}


def test_recorder_files_and_a_telco_export_that_names_no_files(
    moscow_case: Case, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    write_audio(inbox / "Call recording +79161234567_230305_142200.m4a", codec="aac",
                container="mp4", seconds=3)  # fmt: skip
    write_audio(inbox / "Мама(+79035556677)_20230306091530.mp3", codec="mp3", container="mp3",
                seconds=3, seed=1)  # fmt: skip
    export = tmp_path / "детализация.csv"
    export.write_bytes(EXPORT.encode("cp1251"))
    report = ingest(moscow_case, [inbox], IngestOptions(metadata=export, workers=1))
    assert report.count("new") == 2, report.as_dict()
    assert report.records.matched_by_time == 2 and report.records.without_audio == 1
    assert report.records.failed == 0 and report.errors == []
    assert any("read as cp1251" in note for note in report.notes)
    assert any(
        "3 time(s) without a UTC offset were read in Europe/Moscow" in n for n in report.notes
    )

    with moscow_case.session() as session:
        calls = {c.source_file: c.as_dict() for c in list_calls(session)}
    assert len(calls) == 3
    samsung = calls["Call recording +79161234567_230305_142200.m4a"]
    assert (samsung["caller"], samsung["callee"]) == ("+79031112233", "+79161234567")
    assert samsung["started_at"] == datetime(2023, 3, 5, 11, 21, 20, tzinfo=UTC).isoformat()
    miui = calls["Мама(+79035556677)_20230306091530.mp3"]
    assert (miui["caller"], miui["callee"]) == ("+79161234567", "+79035556677")
    silent = calls[""]
    assert silent["status"] == "no-audio" and silent["duration"] == 130.0
    assert (silent["caller"], silent["callee"]) == ("+79031112233", "+79161234567")
    assert silent["started_at"] == datetime(2023, 3, 7, 17, 0, tzinfo=UTC).isoformat()

    record = _sources(moscow_case, samsung["id"])["record"]
    assert record.basis == "number pair and time"
    assert record.source.endswith("детализация.csv#2")
    assert float(record.detail["seconds_apart"]) == 40.0
    with moscow_case.session() as session:
        call = session.get(Call, miui["id"])
        assert call is not None and call.attributes["contact name (file name)"] == "Мама"

    again = ingest(moscow_case, [inbox], IngestOptions(metadata=export, workers=1))
    assert again.count("unchanged") == 2 and again.records.unchanged == 3
    assert again.records.applied == 0 and again.records.without_audio == 1
    with moscow_case.session() as session:
        assert len(list_calls(session)) == 3

    # The missing recording turns up a week later: it attaches by number and time.
    late = tmp_path / "late"
    write_audio(late / "20230307_200012_in_79031112233.wav", seconds=2, seed=2)
    report = ingest(moscow_case, [late], IngestOptions(workers=1))
    assert report.count("new") == 1
    assert any("1 recording(s) attached" in note for note in report.notes)
    with moscow_case.session() as session:
        calls = {c.id: c.as_dict() for c in list_calls(session)}
    assert len(calls) == 3
    attached = calls[silent["id"]]
    assert attached["status"] == "ingested" and attached["channels"] == 1
    assert attached["source_file"] == "20230307_200012_in_79031112233.wav"
    assert attached["started_at"] == silent["started_at"]  # the record's time stands
    recording = _sources(moscow_case, silent["id"])["recording"]
    assert recording.basis == "number and time in the file name"
    assert recording.detail["seconds_apart"] == "12.000"


def test_a_named_file_that_arrives_later_attaches_by_its_name(
    moscow_case: Case, tmp_path: Path
) -> None:
    records = tmp_path / "calls.csv"
    records.write_text(
        "file,started_at,caller,callee\nlater.wav,2023-03-05 14:22,+79161234567,+79031112233\n",
        encoding="utf-8",
    )
    first = ingest(moscow_case, [tmp_path / "empty"], IngestOptions(metadata=records, workers=1))
    assert first.records.without_audio == 1 and first.records.failed == 1
    assert any("kept as a call without audio" in e for e in first.errors)
    write_audio(tmp_path / "in" / "later.wav")
    second = ingest(moscow_case, [tmp_path / "in"], IngestOptions(metadata=records, workers=1))
    assert second.count("new") == 1 and second.records.failed == 0
    with moscow_case.session() as session:
        (call,) = list_calls(session)
        assert call.status == "ingested" and call.started_at is not None
        assert not [f for f in list_failures(session) if f.stage == "records"]
    assert _sources(moscow_case, call.id)["recording"].basis == "file name in the call record"


def test_file_name_facts_alone_give_time_and_number(moscow_case: Case, tmp_path: Path) -> None:
    write_audio(tmp_path / "in" / "Call recording +79161234567_230305_142200.wav")
    report = ingest(moscow_case, [tmp_path / "in"], IngestOptions(workers=1))
    assert report.count("new") == 1
    with moscow_case.session() as session:
        (call,) = list_calls(session)
    assert call.started_at == datetime(2023, 3, 5, 11, 22, tzinfo=UTC)
    assert call.as_dict()["callee"] == "+79161234567"
    sources = _sources(moscow_case, call.id)
    assert sources["started_at"].basis == "file name: samsung"
    assert sources["B.phone"].detail == {"direction": "unknown: number put on B"}


def test_timezone_option_for_one_batch(moscow_case: Case, tmp_path: Path) -> None:
    records = tmp_path / "calls.csv"
    records.write_text(
        "started_at,caller,callee\n2023-03-05 14:22,+79161234567,+79031112233\n", "utf-8"
    )
    report = ingest(
        moscow_case,
        [tmp_path / "none"],
        IngestOptions(metadata=records, timezone="Asia/Vladivostok", workers=1),
    )
    assert any("read in Asia/Vladivostok" in note for note in report.notes)
    with moscow_case.session() as session:
        (call,) = list_calls(session)
    assert call.started_at == datetime(2023, 3, 5, 4, 22, tzinfo=UTC)


def test_calls_without_audio_count_in_graph_and_timeline(moscow_case: Case, tmp_path: Path) -> None:
    from earshot.analysis.graph import call_graph
    from earshot.analysis.timeline import TimelineOptions, timeline

    export = tmp_path / "export.csv"
    export.write_bytes(EXPORT.encode("koi8_r"))  # KOI8-R: read as such, never as mojibake
    report = ingest(moscow_case, [tmp_path / "none"], IngestOptions(metadata=export, workers=1))
    assert report.records.without_audio == 3
    assert any("read as KOI8-R" in note for note in report.notes)
    with moscow_case.session() as session:
        graph = call_graph(session)
        edge = graph.edges["phone:+79031112233", "phone:+79161234567"]
        assert edge["count"] == 2
        assert timeline(session, TimelineOptions(period="day"))["total"] == 3
        mine = timeline(session, TimelineOptions(period="day", phone="+79035556677"))
        assert mine["total"] == 1
        calls = list_calls(session)
        from earshot.identity.phones import list_phones

        phones = {p["e164"]: p["calls"] for p in list_phones(session)}
    assert {c.status for c in calls} == {"no-audio"}
    assert phones == {"+79031112233": 2, "+79161234567": 3, "+79035556677": 1}
    from earshot.pipeline.runner import _call_ids

    assert _call_ids(moscow_case, None) == []  # nothing to process until audio arrives


def test_an_xlsx_workbook_of_records_through_ingest(moscow_case: Case, tmp_path: Path) -> None:
    import openpyxl

    write_audio(tmp_path / "in" / "Олег Сторож@+79161234567_20230305142200.amr",
                codec="libopencore_amrnb", container="amr", seconds=2)  # fmt: skip
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Дата и время", "Абонент А", "Абонент Б", "Длительность"])
    sheet.append([datetime(2023, 3, 6, 9, 0), 79031112233, 79161234567, "0:00:40"])
    sheet.append([datetime(2023, 3, 5, 14, 22, 30), 79161234567, 79031112233, 2])
    workbook = tmp_path / "calls.xlsx"
    book.save(workbook)
    report = ingest(moscow_case, [tmp_path / "in"], IngestOptions(metadata=workbook, workers=1))
    assert report.records.matched_by_time == 1 and report.records.without_audio == 1
    with moscow_case.session() as session:
        by_status = {c.status: c.as_dict() for c in list_calls(session)}
    recorded = by_status["ingested"]
    assert (recorded["caller"], recorded["callee"]) == ("+79161234567", "+79031112233")
    assert recorded["started_at"] == datetime(2023, 3, 5, 11, 22, 30, tzinfo=UTC).isoformat()
    assert by_status["no-audio"]["duration"] == 40.0
