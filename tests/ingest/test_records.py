"""Call-records CSV: real files written to disk, good rows parsed, bad rows reported by line."""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earshot.errors import ConfigError, RecordError
from earshot.ingest.records import CallRecord, RecordProblem, read_call_records


def write(tmp_path: Path, text: str, name: str = "calls.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def by_file(records: list[CallRecord]) -> dict[str, CallRecord]:
    return {record.file: record for record in records}


HEADER = "file,started_at,caller,callee\n"


def test_mixed_number_formats_become_e164(tmp_path: Path) -> None:
    text = HEADER + (
        "a.wav,2023-01-15 14:32,8 (916) 555-12-34,+380 67 123 4567\n"
        "b.wav,2023-01-15 14:33,+7 916 5551234,79165551234\n"
        'c.wav,2023-01-15 14:34,"+7 (916) 555-12-35",8-916-555-12-36\n'
    )
    records, problems = read_call_records(write(tmp_path, text))
    assert problems == []
    got = {r.file: (r.caller, r.callee) for r in records}
    assert got == {
        "a.wav": ("+79165551234", "+380671234567"),
        "b.wav": ("+79165551234", "+79165551234"),
        "c.wav": ("+79165551235", "+79165551236"),
    }
    assert by_file(records)["a.wav"].caller_raw == "8 (916) 555-12-34"
    assert by_file(records)["a.wav"].callee_raw == "+380 67 123 4567"


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("2023-01-15T14:32:05+03:00", datetime(2023, 1, 15, 11, 32, 5, tzinfo=UTC)),
        ("2023-01-15T11:32:05Z", datetime(2023, 1, 15, 11, 32, 5, tzinfo=UTC)),
        ("2023-01-15 14:32:05.250+0300", datetime(2023, 1, 15, 11, 32, 5, 250000, tzinfo=UTC)),
        ("2023-01-15T14:32:05", datetime(2023, 1, 15, 11, 32, 5, tzinfo=UTC)),
        ("2023-01-15 14:32", datetime(2023, 1, 15, 11, 32, tzinfo=UTC)),
        ("15.01.2023 14:32", datetime(2023, 1, 15, 11, 32, tzinfo=UTC)),
        ("15.01.2023 14:32:05", datetime(2023, 1, 15, 11, 32, 5, tzinfo=UTC)),
        ("5.1.2023 09:07", datetime(2023, 1, 5, 6, 7, tzinfo=UTC)),
        ("15/01/2023 14:32", datetime(2023, 1, 15, 11, 32, tzinfo=UTC)),
        ("15/01/2023 14:32:05", datetime(2023, 1, 15, 11, 32, 5, tzinfo=UTC)),
        ("1673782325", datetime(2023, 1, 15, 11, 32, 5, tzinfo=UTC)),
        ("1673782325.5", datetime(2023, 1, 15, 11, 32, 5, 500000, tzinfo=UTC)),
    ],
)
def test_date_formats_are_read_in_the_given_zone_and_returned_in_utc(
    tmp_path: Path, written: str, utc: datetime
) -> None:
    path = write(tmp_path, HEADER + f"x.wav,{written},+79165551234,+79165551235\n")
    records, problems = read_call_records(path, timezone="Europe/Moscow")
    assert problems == []
    (record,) = records
    assert record.started_at == utc
    assert record.started_at.utcoffset() is not None
    assert record.started_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_naive_times_default_to_utc(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "x.wav,2023-07-01 12:00,+79165551234,+79165551235\n")
    (record,), _ = read_call_records(path)
    assert record.started_at == datetime(2023, 7, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("2023-02-30 10:00", "day is out of range"),
        ("01/15/2023 14:32", "month must be in 1..12"),
        ("15.01.23 14:32", "is not a valid date"),
        ("2023-01-15", "is not a valid date"),
        ("вчера вечером", "is not a valid date"),
        ("=NOW()", "is not a valid date"),
        ("1899-12-31 10:00", "outside 1970"),
        ("2023-03-26 02:30", "does not exist in time zone Europe/Berlin"),
        ("2023-10-29 02:30", "ambiguous in time zone Europe/Berlin"),
    ],
)
def test_bad_dates_are_row_problems(tmp_path: Path, written: str, why: str) -> None:
    text = HEADER + f"bad.wav,{written},+79165551234,+79165551235\n"
    text += "good.wav,2023-01-15 14:32,+79165551234,+79165551235\n"
    records, problems = read_call_records(write(tmp_path, text), timezone="Europe/Berlin")
    assert [r.file for r in records] == ["good.wav"]
    (problem,) = problems
    assert problem.row == 2
    assert problem.file == "bad.wav"
    assert why in problem.message
    assert "started_at" in problem.message
    assert "\n" not in problem.message


def test_optional_and_extra_columns_are_kept(tmp_path: Path) -> None:
    text = (
        " File ,Started_At,CALLER,callee,caller_name,callee_name,location,notes,Unit,Позывной\n"
        "a.wav,2023-01-15 14:32,+79165551234,+79165551235,Иван Фролов,Ольга Фролова,"
        "Энск,перезвонит,в/ч 00000,Гром\n"
        "b.wav,2023-01-15 14:40,+79165551234,+79165551235,,,,,,\n"
    )
    records, problems = read_call_records(write(tmp_path, text))
    assert problems == []
    a, b = records
    assert (a.caller_name, a.callee_name, a.location, a.notes) == (
        "Иван Фролов",
        "Ольга Фролова",
        "Энск",
        "перезвонит",
    )
    assert a.attributes == {"Unit": "в/ч 00000", "Позывной": "Гром"}
    assert (b.caller_name, b.callee_name, b.location, b.notes) == (None, None, None, None)
    assert b.attributes == {"Unit": "", "Позывной": ""}


def test_semicolon_csv_in_cp1251_with_bom_free_excel_layout(tmp_path: Path) -> None:
    text = (
        "file;started_at;caller;callee;notes\r\n"
        "a.wav;15.01.2023 14:32;8 (916) 555-12-34;+7 916 555-12-35;Говорит про «груз», 2 шт.\r\n"
    )
    records, problems = read_call_records(write(tmp_path, text, encoding="cp1251"))
    assert problems == []
    (record,) = records
    assert record.notes == "Говорит про «груз», 2 шт."
    assert record.caller == "+79165551234"


def test_utf8_bom_and_tab_delimiter(tmp_path: Path) -> None:
    text = (
        "\ufefffile\tstarted_at\tcaller\tcallee\n"
        "a.wav\t2023-01-15 14:32\t+79165551234\t89165551235\n"
    )
    (record,), problems = read_call_records(write(tmp_path, text))
    assert problems == []
    assert (record.file, record.callee) == ("a.wav", "+79165551235")


def test_bad_rows_reported_with_line_numbers_while_good_rows_parse(tmp_path: Path) -> None:
    text = HEADER + (
        "ok1.wav,2023-01-15 14:32,+79165551234,+79165551235\n"  # line 2
        "badnum.wav,2023-01-15 14:32,12345,+79165551235\n"  # line 3
        ",2023-01-15 14:32,+79165551234,+79165551235\n"  # line 4: a record without a file
        "short.wav,2023-01-15 14:32\n"  # line 5
        "\n"  # line 6: blank lines are skipped silently
        "ok2.wav,2023-01-15 14:35,+79165551234,+79165551235\n"  # line 7
        "ok1.wav,2023-01-15 14:32,+79165551234,+79165551235\n"  # line 8: exact repeat
        "ok1.wav,2023-01-15 18:00,+79165551234,+79165551235\n"  # line 9: conflicting
        "both.wav,tomorrow,+79165551234,abc\n"  # line 10
    )
    records, problems = read_call_records(write(tmp_path, text))
    assert [(r.row, r.file) for r in records] == [(2, "ok1.wav"), (4, None), (7, "ok2.wav")]
    by_row = {p.row: p for p in problems}
    assert sorted(by_row) == [3, 5, 9, 10]
    assert "callee" not in by_row[3].message
    assert "caller '12345' is not a valid phone number" in by_row[3].message
    assert "has 2 fields but the header has 4" in by_row[5].message
    assert by_row[5].file == "short.wav"
    assert "already has a record on line 2" in by_row[9].message
    assert "started_at 'tomorrow'" in by_row[10].message
    assert "callee 'abc'" in by_row[10].message
    for problem in problems:
        assert problem.message.startswith(f"line {problem.row}: ")
        assert "\n" not in problem.message


def test_quoted_multiline_notes_and_row_numbers_after_them(tmp_path: Path) -> None:
    text = (
        HEADER.rstrip("\n")
        + ",notes\n"
        + (
            'a.wav,2023-01-15 14:32,+79165551234,+79165551235,"первая строка\n'
            "вторая, с запятой\n"
            'и ""кавычки"""\n'
            "b.wav,2023-01-15 14:33,+79165551234,bad,\n"
        )
    )
    records, problems = read_call_records(write(tmp_path, text))
    (record,) = records
    assert record.notes == 'первая строка\nвторая, с запятой\nи "кавычки"'
    (problem,) = problems
    assert problem.row == 5


def test_hostile_values_are_kept_verbatim_but_control_characters_stripped(tmp_path: Path) -> None:
    text = (
        HEADER.rstrip("\n")
        + ",notes,location,Comment\n"
        + (
            "dir/../evil\x07.wav ,2023-01-15 14:32,+79165551234,+79165551235,"
            '"=HYPERLINK(""http://example.invalid"",""x"")",'
            '<script>alert(1)</script>,"\'; DROP TABLE calls; --\u202e"\n'
        )
    )
    (record,), problems = read_call_records(write(tmp_path, text))
    assert problems == []
    assert record.file == "evil.wav"
    assert record.notes == '=HYPERLINK("http://example.invalid","x")'
    assert record.location == "<script>alert(1)</script>"
    assert record.attributes == {"Comment": "'; DROP TABLE calls; --"}


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "file,started_at,caller\na.wav,2023-01-15 14:32,+79165551234\n",
            "missing required.*callee",
        ),
        ("", "is empty"),
        ("\n\n  \n", "is empty"),
        ("file,started_at,caller,callee,File\n", "names column 'file' twice"),
        ("\x00\x01binary", "NUL bytes"),
    ],
)
def test_file_level_problems_raise_record_error(tmp_path: Path, text: str, pattern: str) -> None:
    path = write(tmp_path, text, name="meta.csv")
    with pytest.raises(RecordError, match=pattern) as caught:
        read_call_records(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert " — " in str(caught.value)


def test_unreadable_encodings_missing_file_limits_and_zone(tmp_path: Path) -> None:
    latin = write(tmp_path, HEADER + "a.wav,2023-01-15 14:32,+79165551234,+79165551235,Müller\n")
    latin.write_bytes(
        latin.read_text().replace("Müller", "M\xfcller ~ \xe9t\xe9").encode("latin-1")
    )
    with pytest.raises(RecordError, match="not UTF-8"):
        read_call_records(latin)
    with pytest.raises(RecordError, match="no such call-records file"):
        read_call_records(tmp_path / "nope.csv")
    big = write(tmp_path, HEADER + "a.wav,2023-01-15 14:32,+79165551234,+79165551235\n" * 50)
    with pytest.raises(RecordError, match="over the 100-byte limit"):
        read_call_records(big, max_bytes=100)
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        read_call_records(big, timezone="Mars/Olympus")


def test_region_applies_to_numbers_without_country_code(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "a.wav,2023-01-15 14:32,067 123 4567,+7 916 555-12-34\n")
    (record,), problems = read_call_records(path, region="UA")
    assert problems == []
    assert record.caller == "+380671234567"


FIELDS = ("file", "started_at", "caller", "callee", "notes", "extra")
GOOD_ROW = ("a.wav", "2023-01-15 14:32", "+79165551234", "+79165551235", "", "")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(column=st.sampled_from(range(len(FIELDS))), value=st.text(max_size=200), raw=st.booleans())
def test_arbitrary_text_in_a_field_never_crashes(column: int, value: str, raw: bool) -> None:
    row = list(GOOD_ROW)
    row[column] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        if raw:  # written unquoted, so delimiters and quotes in `value` break the layout
            text = ",".join(FIELDS) + "\n" + ",".join(row) + "\n"
        else:
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(FIELDS)
                writer.writerow(row)
            text = path.read_text(encoding="utf-8")
        path.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
        try:
            records, problems = read_call_records(path)
        except RecordError as exc:
            assert str(exc).startswith(str(path))
            return
    assert all(isinstance(p, RecordProblem) for p in problems)
    # One row gives at most a record and a problem; written raw, each line break in the
    # value starts another row.
    breaks = value.count("\n") + value.count("\r") if raw else 0
    assert len(records) + len(problems) <= 2 * (1 + breaks)
    for record in records:
        assert record.started_at.tzinfo is not None
        assert record.caller.startswith("+")
        assert all(ch >= " " or ch in "\n\t" for ch in (record.notes or ""))


def test_the_documented_csv_example_parses(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "call-records.md").read_text(encoding="utf-8")
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    records, problems = read_call_records(write(tmp_path, example), timezone="Europe/Moscow")
    assert problems == []
    assert [r.file for r in records] == ["call01.wav", "call02.wav", "call03.wav"]
    assert records[1].notes == "первая строка\nвторая строка"
    assert records[2].caller == "+380671234567"
    assert all(r.attributes.keys() == {"intercept_id"} for r in records)
