"""The issue's acceptance shape in one batch: recorder-app files, a cp1251 telco export naming
no files, a Windows zip with cp866 names, a record without audio and one call in two codecs."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from earshot.ingest.fingerprint import fpcalc_path
from earshot.ingest.runner import IngestOptions, ingest
from earshot.settings import Settings
from earshot.store.case import Case
from earshot.store.intake_models import CallSource
from earshot.store.queries import list_calls

from .test_archives import _DosName
from .test_near_duplicates import melody

MOJIBAKE = set("╨╤ЪЧПОПЛ") | {"Ð", "Ñ", "Ã"}


@pytest.mark.skipif(fpcalc_path() is None, reason="needs Chromaprint's fpcalc")
def test_everything_at_once(tmp_path: Path, db_url: str) -> None:
    settings = Settings().merged({"timezone": "Europe/Moscow"}, "test")
    Case.init(tmp_path / "case", db=db_url or None, settings=settings).close()
    inbox = tmp_path / "inbox"
    twin_a = melody(inbox / "Call recording +79161234567_230305_142200.amr", seed=8,
                    codec="libopencore_amrnb", container="amr")  # fmt: skip
    melody(inbox / "Call recording +79161234567_230305_142200.mp3", seed=8, codec="mp3",
           container="mp3")  # fmt: skip
    zipped = melody(tmp_path / "src" / "x.mp3", seed=9, codec="mp3", container="mp3")
    with zipfile.ZipFile(inbox / "с телефона.zip", "w") as zf:
        name = "Звонки/Мама(+79035556677)_20230306091530.mp3"
        zf.writestr(_DosName(name.encode("cp866").decode("cp437")), zipped.read_bytes())
    export = tmp_path / "детализация.csv"
    export.write_bytes(
        (
            "Дата;Время;Номер А;Номер Б;Длительность\r\n"
            "05.03.2023;14:21:40;+79161234567;+79031112233;0:00:24\r\n"
            "06.03.2023;09:15:20;+79035556677;+79031112233;24\r\n"
            "07.03.2023;20:00:00;+79031112233;+79035556677;0:02:10\r\n"
        ).encode("cp1251")
    )
    with Case.open(tmp_path / "case") as case:
        report = ingest(case, [inbox], IngestOptions(metadata=export, workers=1))
        again = ingest(case, [inbox], IngestOptions(metadata=export, workers=1))
        with case.session() as session:
            calls = [c.as_dict() for c in list_calls(session)]
            bases = {
                s.call_id: s.basis
                for s in session.execute(
                    select(CallSource).where(CallSource.field == "record")
                ).scalars()
            }
    assert again.records.applied == 0 and again.near_duplicates == []
    assert report.count("new") == 3 and report.records.without_audio == 1
    assert len(calls) == 4
    for call in calls:
        assert call["caller"] and call["callee"] and call["started_at"], call
        shown = f"{call['source_file']} {call['caller_person']} {call['callee_person']}"
        assert not MOJIBAKE & set(shown), shown
    files = {c["source_file"] for c in calls}
    assert "Мама(+79035556677)_20230306091530.mp3" in files
    (dup,) = report.near_duplicates
    assert sorted(bases[c] for c in (dup["call"], dup["twin"])) == [
        "number pair and time",
        f"probable duplicate of call {min(dup['call'], dup['twin'])}",
    ]
    by_id = {c["id"]: c for c in calls}
    assert {by_id[dup["call"]]["source_file"], by_id[dup["twin"]]["source_file"]} == {
        twin_a.name,
        twin_a.with_suffix(".mp3").name,
    }
