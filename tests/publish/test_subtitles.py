"""Subtitles: one file per call and language in a zip, timed on the call's own audio,
speakers as voice spans, the notice outside the cues; read back by webvtt-py and srt."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import srt
import webvtt

from earshot.publish.export import ExportOptions, export_case
from earshot.publish.formats.subtitles import render_vtt
from earshot.store.case import Case

CaseFixture = tuple[Case, dict[str, int]]
CALLS = [1, 9, 10]


def _files(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n).decode("utf-8") for n in archive.namelist()}


@pytest.mark.parametrize("fmt", ["vtt", "srt"])
def test_one_file_per_call_and_language_read_by_third_party_parsers(
    fmt: str, sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    out = tmp_path / f"subs.{fmt}.zip"
    export_case(case, out, ExportOptions(fmt=fmt, operator="t", call_ids=CALLS))
    files = _files(out)
    expected = {f"call-{c}.{lang}.{fmt}" for c in CALLS for lang in ("ru", "en")}
    assert expected <= set(files) and "README.txt" in files
    readme = files.pop("README.txt")
    assert readme.startswith("Redacted export") and "call-9.en" in readme
    doc = _document(case)
    for name, text in files.items():
        call_id, lang = int(name.split(".")[0][5:]), name.split(".")[1]
        call = doc[call_id]
        timed = [s for s in call["segments"] if s["start"] is not None]
        if lang == "en":
            timed = [s for s in timed if s["translation"]]
        if fmt == "vtt":
            captions = webvtt.from_buffer(io.StringIO(text)).captions
            texts = [c.text for c in captions]
            voices = {c.voice for c in captions}
            speakers = {p["speaker"] for p in call["parties"]}
            labelled = {s["party"] is not None for s in timed}
            # a segment of a known side is voiced by its published name, else unvoiced
            assert voices <= speakers | {None} and (True not in labelled or voices - {None})
            assert "NOTE" in text and "Redacted export" in text.split("\n\n")[1]
        else:
            captions = list(srt.parse(text))
            texts = [c.content for c in captions]
            assert all(c.content.strip() for c in captions)
        assert len(captions) == len(timed) > 0
        # The notice is never a cue; every cue lies within the call's own recording.
        assert not any("Redacted export" in t or "identifies people" in t for t in texts)
        ends = [
            c.end_in_seconds if fmt == "vtt" else c.end.total_seconds()  # type: ignore[union-attr]
            for c in captions
        ]
        assert max(ends) <= float(call["duration"]) + 1.5


def _document(case: Case) -> dict[int, dict]:  # type: ignore[type-arg]
    from earshot.publish.export import redacted_document

    with case.session() as session:
        doc, _, _ = redacted_document(session, CALLS, policy=None, operator="t")
    return {int(c["id"]): c for c in doc["calls"]}


def test_cue_text_is_escaped_and_identifying_readme_names_files() -> None:
    doc = {
        "warning": "This export identifies people --> keep it inside",
        "redacted": False,
        "calls": [
            {
                "id": 4,
                "source_file": "evil<b>.wav",
                "duration": 5.0,
                "parties": [{"label": "A", "person": "Иван <script>", "phone": None}],
                "segments": [
                    {"start": 1.0, "end": 1.0, "party": "A", "text": "a --> b <i>x</i> & y",
                     "translation": None},
                    {"start": None, "end": None, "party": "A", "text": "untimed",
                     "translation": None},
                ],
            }
        ],
    }  # fmt: skip
    rendered = render_vtt(doc)
    with zipfile.ZipFile(io.BytesIO(rendered.data)) as archive:
        assert sorted(archive.namelist()) == ["README.txt", "call-4.ru.vtt"]
        text = archive.read("call-4.ru.vtt").decode("utf-8")
        readme = archive.read("README.txt").decode("utf-8")
    captions = webvtt.from_buffer(io.StringIO(text)).captions
    assert len(captions) == 1 and captions[0].end_in_seconds > captions[0].start_in_seconds
    assert "<script>" not in text and "<i>" not in text and "&lt;i&gt;" in text
    assert captions[0].voice == "Иван &lt;script&gt;"
    assert "call-4: evil<b>.wav" in readme and "-->" not in text.split("\n\n")[1]
