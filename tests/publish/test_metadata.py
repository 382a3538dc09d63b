"""Neutral metadata, over every export format and every writer (exports, quote sheets,
dossiers, graphs, clips): no operator, case id or original file name; DOCX core
properties with a title, no author and the export's own time; a minimal PDF Info and
no XMP; audio with no tags; rounded times and durations in a redacted export."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from earshot.language.analysis import current_transcript
from earshot.publish.clip import ClipOptions, clip_call
from earshot.publish.clip_audio import AUDIO_SUFFIXES
from earshot.publish.dossier import DossierOptions, export_dossier
from earshot.publish.export import ExportOptions, export_case, redacted_document
from earshot.publish.formats.registry import export_format_names
from earshot.publish.graph_export import GraphOptions, export_graph
from earshot.publish.quote_sheet import SHEET_FORMATS, QuoteSheetOptions, export_quote_sheet
from earshot.publish.quotes import create_quote, list_quotes, verbatim_english
from earshot.store.case import Case
from earshot.store.models import Call

CaseFixture = tuple[Case, dict[str, int]]
OPERATOR = "Metadata Tester"
CALLS = [1, 6, 10]


def _all_bytes(data: bytes) -> bytes:
    """A file's bytes, with its Flate streams (PDF) and zip members (DOCX, zips) opened."""
    parts = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            parts.append(zlib.decompress(m.group(1)))
        except zlib.error:
            continue
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts += [archive.read(n) for n in archive.namelist()]
            parts += [n.encode() for n in archive.namelist()]
    return b"\n".join(parts)


def _identifiers(case: Case) -> list[bytes]:
    with case.session() as session:
        files = [c.source_file for c in session.scalars(select(Call).where(Call.id.in_(CALLS)))]
    stems = [Path(f).stem for f in files]
    return [OPERATOR.encode(), case.case_id.encode(), *(s.encode() for s in files + stems)]


def _check_container(name: str, data: bytes) -> None:
    if data.startswith(b"%PDF"):
        opened = _all_bytes(data)
        info = re.findall(rb"/(Author|Creator|Subject|Keywords|CreationDate|ModDate)\b", opened)
        assert not info, (name, info)
        assert b"/Metadata" not in opened and b"xmpmeta" not in opened, name
        assert re.search(rb"/Title\s*\(", opened), name
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            assert not any("thumbnail" in n for n in names), (name, names)
            if "docProps/core.xml" in names:
                core = archive.read("docProps/core.xml").decode()
                assert "<dc:title>" in core and "creator" not in core and "2013" not in core
                assert "description" not in core and "lastModifiedBy" not in core
                stamps = re.findall(r"<dcterms:\w+[^>]*>([^<]+)<", core)
                for stamp in stamps:
                    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                    assert abs(datetime.now(UTC) - when) < timedelta(hours=1), (name, stamp)
                app = archive.read("docProps/app.xml").decode()
                assert "Template" not in app and "Company" not in app and "Microsoft" not in app
            else:  # a bundle of files: no export time or host in the archive itself
                assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in archive.infolist())


def _check(case: Case, path: Path) -> None:
    data = path.read_bytes()
    opened = _all_bytes(data)
    for identifier in _identifiers(case):
        assert identifier not in opened, (path.name, identifier)
    _check_container(path.name, data)


@pytest.mark.parametrize("fmt", export_format_names())
def test_every_export_format(fmt: str, sample_case: CaseFixture, tmp_path: Path) -> None:
    case, _ = sample_case
    out = tmp_path / f"export.{fmt}"
    result = export_case(case, out, ExportOptions(fmt=fmt, operator=OPERATOR, call_ids=CALLS))
    _check(case, out)
    assert result.summary.where.get("file names", 0) >= len(CALLS)
    assert result.summary.counts.get("file name") == len(CALLS)


def test_redacted_document_rounds_times_and_names_calls_by_id(sample_case: CaseFixture) -> None:
    case, _ = sample_case
    with case.session() as session:
        doc, summary, _ = redacted_document(session, CALLS, policy=None, operator=OPERATOR)
        originals = {c.id: c for c in session.scalars(select(Call).where(Call.id.in_(CALLS)))}
    for call in doc["calls"]:
        assert call["source_file"] == f"call-{call['id']}"
        assert float(call["duration"]).is_integer()
        assert abs(call["duration"] - originals[call["id"]].duration) <= 0.5
        if call["started_at"]:
            assert datetime.fromisoformat(call["started_at"]).second == 0
    assert summary.where["metadata"] >= summary.counts.get("duration", 0) > 0


def test_every_quote_sheet_and_dossier_writer(sample_case: CaseFixture, tmp_path: Path) -> None:
    case, _ = sample_case
    with case.session() as session:
        if not list_quotes(session, [10]):
            transcript = current_transcript(session, 10)
            assert transcript is not None
            english = verbatim_english(session, transcript.segments[:1])
            create_quote(session, 10, 0, 0, english, actor="desk", allow_unapproved=True)
    for fmt in SHEET_FORMATS:
        out = tmp_path / f"sheet.{fmt}"
        options = QuoteSheetOptions(fmt=fmt, operator=OPERATOR, quote_ids=None)
        export_quote_sheet(case, out, options)
        _check(case, out)
    for fmt in ("html", "pdf", "docx"):
        out = tmp_path / f"dossier.{fmt}"
        export_dossier(case, out, DossierOptions(fmt=fmt, operator=OPERATOR))
        _check(case, out)


@pytest.mark.parametrize("fmt", ["json", "graphml", "gexf"])
def test_every_graph_writer(fmt: str, sample_case: CaseFixture, tmp_path: Path) -> None:
    case, _ = sample_case
    out = tmp_path / f"graph.{fmt}"
    export_graph(case, out, GraphOptions(fmt=fmt, operator=OPERATOR))
    _check(case, out)


@pytest.mark.parametrize("suffix", sorted(AUDIO_SUFFIXES))
def test_every_clip_format_has_no_tags(
    suffix: str, sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    out = tmp_path / f"clip{suffix}"
    result = clip_call(case, 10, out, ClipOptions(start=0.0, end=3.0, operator=OPERATOR))
    with av.open(str(out)) as container:
        tags = dict(container.metadata)
        for stream in container.streams:
            tags.update(stream.metadata)
    assert not tags, tags
    data = out.read_bytes()
    assert b"Lavf" not in data and b"Lavc" not in data and OPERATOR.encode() not in data
    assert result.sidecar.parent != out.parent and "INTERNAL" in result.sidecar.name
    assert OPERATOR in result.sidecar.read_text(encoding="utf-8")  # internal, not published
