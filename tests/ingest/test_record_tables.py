"""Call records as they really arrive: telco headings, encodings, spreadsheets, mapping files."""

from __future__ import annotations

import os
import re
import zipfile
from datetime import UTC, datetime, time
from pathlib import Path

import openpyxl
import pytest
import yaml

from earshot.errors import ConfigError, RecordError
from earshot.ingest.encodings import EncodingRefused, decode_bytes
from earshot.ingest.mapping import (
    FIELDS,
    builtin_aliases,
    fold_heading,
    load_mapping,
    resolve_columns,
)
from earshot.ingest.records import parse_duration, read_call_records, read_record_table

TELCO = (
    "Дата;Время;Номер А;Номер Б;Длительность;Тип;Базовая станция\r\n"
    "05.03.2023;14:22:00;8 916 123-45-67;+7 903 111-22-33;0:01:05;Исходящий;Энск, ул. Лесная 1\r\n"
    "05.03.2023;18:40:10;+79031112233;89161234567;42;Входящий;Энск, ул. Лесная 1\r\n"
)


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_telco_export_with_split_date_and_time_and_no_file_column(tmp_path: Path) -> None:
    path = write(tmp_path / "detal.csv", TELCO, "cp1251")
    table = read_record_table(path, timezone="Europe/Moscow")
    assert table.problems == []
    assert table.encoding == "cp1251"
    assert table.naive_times == 2
    first, second = table.records
    assert first.file is None
    assert first.started_at == datetime(2023, 3, 5, 11, 22, tzinfo=UTC)  # 14:22 Moscow
    assert (first.caller, first.callee) == ("+79161234567", "+79031112233")
    assert first.duration == 65.0 and second.duration == 42.0
    assert first.attributes["cell"] == "Энск, ул. Лесная 1"
    assert first.attributes["call_type"] == "Исходящий"
    assert first.direction == "outgoing" and second.direction == "incoming"
    described = {heading: name for heading, name, _ in table.columns.describe()}
    assert described["Номер А"] == "caller" and described["Время"] == "time"


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "cp1251", "koi8_r", "cp866", "utf-16", "utf-16-le", "utf-16-be"],
)
def test_every_supported_encoding_gives_the_same_text(tmp_path: Path, encoding: str) -> None:
    text = TELCO.replace("Исходящий", "Исходящий звонок, абонент перезвонит позже")
    path = write(tmp_path / f"calls-{encoding}.csv", text, encoding)
    records, problems = read_call_records(path, timezone="Europe/Moscow")
    assert problems == []
    assert records[0].attributes["call_type"] == "Исходящий звонок, абонент перезвонит позже"
    assert records[0].attributes["cell"] == "Энск, ул. Лесная 1"


def test_koi8_is_not_read_as_cp1251_mojibake() -> None:
    text = "Звонок маме, обсуждали отпуск и погоду в Энске\n"
    decoded = decode_bytes(text.encode("koi8_r"))
    assert decoded.text == text and decoded.encoding == "KOI8-R"
    assert "ЪЧПОПЛ" not in decoded.text
    assert decode_bytes(text.encode("cp866")).encoding == "cp866"
    assert decode_bytes(text.encode("cp1251")).encoding == "cp1251"


def test_implausible_bytes_are_refused_naming_the_encodings_tried(tmp_path: Path) -> None:
    junk = bytes(range(0x80, 0x100)) * 20
    with pytest.raises(EncodingRefused, match=r"cp1251, KOI8-R, cp866.*--encoding"):
        decode_bytes(junk)
    path = tmp_path / "junk.csv"
    path.write_bytes(b"file,started_at,caller,callee\n" + junk)
    with pytest.raises(RecordError) as caught:
        read_call_records(path)
    message = str(caught.value)
    assert str(path) in message and "KOI8-R" in message and "--encoding" in message


def test_encoding_override_wins_and_a_wrong_one_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "k.csv", TELCO, "koi8_r")
    records, _ = read_call_records(path, encoding="koi8-r")
    assert records[0].attributes["call_type"] == "Исходящий"
    with pytest.raises(RecordError, match="not valid utf-8"):
        read_call_records(path, encoding="utf-8")
    with pytest.raises(RecordError, match="unknown encoding 'klingon'"):
        read_call_records(path, encoding="klingon")


def test_subscriber_export_in_ukrainian_lets_direction_decide_who_called(tmp_path: Path) -> None:
    text = (
        "Дата і час,Власний номер,Співрозмовник,Напрямок,Тривалість,IMEI,IMSI,Позивний\n"
        "2023-03-05 14:22,+380671112233,+380501234567,вихідний,65,356938035643809,"
        "255010123456789,Сокіл\n"
        "2023-03-05 15:00,+380671112233,+380501234567,вхідний,10,356938035643809,"
        "255010123456789,Сокіл\n"
        "2023-03-05 16:00,+380671112233,+380501234567,переадресація,10,,,\n"
    )
    path = write(tmp_path / "ua.csv", text, "utf-8")
    table = read_record_table(path, region="UA", timezone="Europe/Kyiv")
    out, inc = table.records
    assert (out.caller, out.callee) == ("+380671112233", "+380501234567")
    assert (inc.caller, inc.callee) == ("+380501234567", "+380671112233")
    assert out.attributes["imei"] == "356938035643809" and out.attributes["Позивний"] == "Сокіл"
    (problem,) = table.problems
    assert (
        problem.row == 4 and "'переадресація' is neither incoming nor outgoing" in problem.message
    )


def test_mapping_file_names_odd_headings_and_carries_batch_options(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "columns": {"date": "Когда", "time": 3, "other": "С кем", "direction": "Куда"},
                "subscriber_number": "+7 916 123-45-67",
                "direction_words": {"outgoing": ["звонил сам"], "incoming": ["звонили ему"]},
                "timezone": "Asia/Yekaterinburg",
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    text = "Когда;Куда;Во сколько;С кем\n05.03.2023;звонил сам;14:22;+79031112233\n"
    path = write(tmp_path / "odd.csv", text, "cp1251")
    table = read_record_table(path, mapping=load_mapping(mapping))
    (record,) = table.records
    assert (record.caller, record.callee) == ("+79161234567", "+79031112233")
    assert record.started_at == datetime(2023, 3, 5, 9, 22, tzinfo=UTC)
    assert table.timezone == "Asia/Yekaterinburg"
    assert {name: basis for _, name, basis in table.columns.describe()}["other"] == "mapping"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"colums": {}}, "unknown key.*'colums'"),
        ({"columns": {"caler": "A"}}, "columns.caler: unknown field"),
        ({"columns": {"caller": ["A"]}}, "columns.caller: give the column heading"),
        ({"subscriber_number": "12"}, "subscriber_number '12' is not a valid phone number"),
        ({"direction_words": {"up": ["x"]}}, "direction_words takes"),
        ("- just\n- a list\n", "a YAML mapping with a 'columns' key"),
        ("columns: [unclosed\n", "not valid YAML"),
    ],
)
def test_mapping_files_are_validated_with_clear_errors(
    tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content), "utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_mapping(path)
    assert str(caught.value).startswith(str(path))


def test_a_mapping_naming_a_missing_column_says_which_columns_exist(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  caller: Кто\n", "utf-8")
    path = write(tmp_path / "c.csv", TELCO, "utf-8")
    with pytest.raises(RecordError, match=r"columns.caller names 'Кто'.*'Номер А'"):
        read_call_records(path, mapping=load_mapping(mapping))


def test_every_builtin_alias_maps_to_its_field() -> None:
    aliases = builtin_aliases()
    assert set(aliases.headings.values()) == set(FIELDS)
    for heading, name in aliases.headings.items():
        assert fold_heading(heading) == heading, heading
        others = {"started_at": ["caller", "callee"], "caller": ["date", "callee"]}
        filler = others.get(name, ["started_at", "caller", "callee"])
        columns = [heading] + [f for f in filler if f != name]
        if name in ("subscriber", "other"):
            columns = [heading, "started_at", "other" if name == "subscriber" else "subscriber"]
        cmap = resolve_columns(columns)
        assert cmap.fields.get(name) == 0, (heading, name, cmap.fields)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("65", 65.0), ("0:01:05", 65.0), ("01:05", 65.0), ("1:00:00", 3600.0), ("12,5", 12.5),
     (time(0, 2, 3), 123.0), (42, 42.0), ("", None)],
)  # fmt: skip
def test_durations(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds  # type: ignore[arg-type]


def test_xlsx_with_real_date_cells_numbers_as_numbers_and_a_named_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Сводка"
    cover.append(["Выгрузка по запросу", None])
    sheet = book.create_sheet("Звонки")
    sheet.append(["Дата", "Время", "Номер А", "Номер Б", "Длительность", "Примечание"])
    sheet.append([datetime(2023, 3, 5), time(14, 22), 79161234567, "+7 903 111-22-33", 65, "x"])
    sheet.append(["06.03.2023", "09:15", "89031112233", 79161234567, "0:00:30", None])
    path = tmp_path / "calls.xlsx"
    book.save(path)
    table = read_record_table(path, timezone="Europe/Moscow", sheet="Звонки")
    assert table.problems == [] and table.encoding is None
    first, second = table.records
    assert first.started_at == datetime(2023, 3, 5, 11, 22, tzinfo=UTC)
    assert first.caller == "+79161234567" and second.callee == "+79161234567"
    assert second.started_at == datetime(2023, 3, 6, 6, 15, tzinfo=UTC)
    assert second.duration == 30.0 and first.notes == "x"
    with pytest.raises(RecordError, match=r"no sheet 'Calls'.*'Сводка', 'Звонки'.*--sheet"):
        read_record_table(path, sheet="Calls")
    with pytest.raises(RecordError, match="missing required column"):
        read_record_table(path)  # the first sheet is the cover page


def test_ods_with_date_cells(tmp_path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Лист1")
    rows = [
        [("string", "Дата и время"), ("string", "Абонент А"), ("string", "Абонент Б")],
        [("date", "2023-03-05T14:22:00"), ("float", "79161234567"), ("string", "+79031112233")],
    ]
    for values in rows:
        row = TableRow()
        for kind, value in values:
            if kind == "string":
                cell = TableCell(valuetype="string")
            elif kind == "date":
                cell = TableCell(valuetype="date", datevalue=value)
            else:
                cell = TableCell(valuetype="float", value=value)
            cell.addElement(P(text=value))
            row.addElement(cell)
        row.addElement(TableCell(numbercolumnsrepeated=1000))
        table.addElement(row)
    table.addElement(TableRow(numberrowsrepeated=1048000))
    document.spreadsheet.addElement(table)
    path = tmp_path / "calls.ods"
    document.save(str(path))
    (record,), problems = read_call_records(path, timezone="Europe/Moscow")
    assert problems == []
    assert record.started_at == datetime(2023, 3, 5, 11, 22, tzinfo=UTC)
    assert record.caller == "+79161234567"


def test_old_binary_workbooks_are_refused_with_what_to_do(tmp_path: Path) -> None:
    xls = tmp_path / "calls.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(600) + b"\x00" * 100)
    with pytest.raises(RecordError, match=r"Excel 97–2003 .xls workbook.*save it as .xlsx"):
        read_call_records(xls)
    renamed = tmp_path / "calls.csv"
    renamed.write_bytes(xls.read_bytes())
    with pytest.raises(RecordError, match="Excel 97–2003"):
        read_call_records(renamed)


def test_split_date_and_time_in_a_dst_gap_is_a_row_problem(tmp_path: Path) -> None:
    text = "Дата;Время;Номер А;Номер Б\n26.03.2023;02:30;+79161234567;+79031112233\n"
    text += "26.03.2023;03:30;+79161234567;+79031112233\n"
    (record,), (problem,) = read_call_records(
        write(tmp_path / "berlin.csv", text, "utf-8"), timezone="Europe/Berlin"
    )
    assert "does not exist in time zone Europe/Berlin" in problem.message
    assert record.started_at == datetime(2023, 3, 26, 1, 30, tzinfo=UTC)


def test_every_region_zone_exists_and_init_uses_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from earshot.cli import cli
    from earshot.ingest.zones import region_zones, zone_for_region

    assert zone_for_region("ru") == "Europe/Moscow" and zone_for_region("US") is None
    assert len(region_zones()) >= 20
    runner = CliRunner()
    made = runner.invoke(cli, ["init", str(tmp_path / "ua"), "--region", "UA", "--json"])
    assert '"timezone": "Europe/Kyiv"' in made.stdout
    made = runner.invoke(cli, ["init", str(tmp_path / "us"), "--region", "US"])
    assert "Time zone UTC" in made.stdout and "spans several zones" in made.stdout
    told = runner.invoke(cli, ["init", str(tmp_path / "t"), "--timezone", "Asia/Omsk", "--json"])
    assert '"timezone": "Asia/Omsk"' in told.stdout and '"timezone_basis": "given"' in told.stdout


def test_broken_workbooks_are_one_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "calls.xlsx"
    fake.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)  # an .xls renamed
    with pytest.raises(RecordError, match="Excel 97–2003"):
        read_call_records(fake)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("[Content_Types].xml", "<nonsense")
    with pytest.raises(RecordError, match=re.escape(str(broken))):
        read_call_records(broken)
    ods = tmp_path / "broken.ods"
    ods.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(RecordError, match=r"unreadable \.ods"):
        read_call_records(ods)
