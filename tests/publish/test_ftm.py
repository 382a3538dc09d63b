"""FollowTheMoney export: ids namespaced by case, Audio hashes and media type, the library's
own validation, and two cases aggregated with followthemoney's `ftm aggregate` never merge."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from followthemoney import model
from followthemoney.cli.cli import cli as ftm_cli
from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.publish.clip import ClipOptions, clip_call
from earshot.publish.export import ExportOptions, export_case
from earshot.store.case import Case
from earshot.store.models import Call, CustodyEntry

from .conftest import SAMPLE

CaseFixture = tuple[Case, dict[str, int]]


@pytest.fixture(scope="module")
def other_case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    """An unrelated second case: three of the sample calls, so call ids 1-3 and the
    first pseudonyms exist in both."""
    root = tmp_path_factory.mktemp("other")
    inbox = root / "inbox"
    inbox.mkdir()
    for name in ("call01.wav", "call01.vtt", "call02.flac", "call02.vtt"):
        shutil.copy(SAMPLE / "calls" / name, inbox / name)
    case = Case.init(root / "case")
    ingest(case, [inbox], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1))
    return case


def _entities(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _clips(case: Case, call_id: int) -> set[str]:
    with case.session() as session:
        entries = session.scalars(
            select(CustodyEntry).where(CustodyEntry.action == "clip-exported")
        )
        return {
            e.detail["file_sha1"] for e in entries if (e.detail or {}).get("call_id") == call_id
        }


def _export(case: Case, out: Path, *, redact: bool = True, calls: list[int] | None = None) -> None:
    options = ExportOptions(
        fmt="ftm", redact=redact, identifying=not redact, operator="t", call_ids=calls or [1, 2]
    )
    export_case(case, out, options)


def test_entities_validate_and_audio_has_hash_and_type(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    for redact in (True, False):
        out = tmp_path / f"{redact}.ftm.json"
        _export(case, out, redact=redact)
        rows = _entities(out)
        for row in rows:
            proxy = model.get_proxy(row)
            proxy.schema.validate(proxy.to_dict())  # raises InvalidData on any bad value
        audio = [model.get_proxy(r) for r in rows if r["schema"] == "Audio"]
        with case.session() as session:
            calls = {c.id: c for c in session.scalars(select(Call).where(Call.id.in_([1, 2])))}
        assert len(audio) == 2
        for proxy in audio:
            call = next(c for c in calls.values() if f"Call {c.id}" in proxy.get("title"))
            with case.media.open_original(call.sha256) as handle:
                sha1 = hashlib.sha1(handle.read(), usedforsecurity=False).hexdigest()
            if proxy.get("notes")[0].endswith("(the published redacted clip)"):
                assert redact and proxy.get("contentHash")[0] in _clips(case, call.id)
                continue  # another test published a clip of this call
            assert proxy.get("contentHash") == [sha1]
            assert proxy.get("notes") == [f"sha256:{call.sha256} (the original)"]
            assert proxy.get("mimeType")[0] in {"audio/wav", "audio/flac"}
            assert proxy.get("fileName") == ([f"call-{call.id}"] if redact else [call.source_file])


def test_two_cases_aggregate_without_merging(
    sample_case: CaseFixture, other_case: Case, tmp_path: Path
) -> None:
    case, _ = sample_case
    a, b = tmp_path / "a.ftm.json", tmp_path / "b.ftm.json"
    _export(case, a)
    _export(other_case, b)
    ids_a = {e["id"] for e in _entities(a)}
    ids_b = {e["id"] for e in _entities(b)}
    assert ids_a and ids_b and not ids_a & ids_b
    both = tmp_path / "both.ftm.json"
    both.write_text(a.read_text(encoding="utf-8") + b.read_text(encoding="utf-8"))
    merged = tmp_path / "merged.ftm.json"
    result = CliRunner().invoke(ftm_cli, ["aggregate", "-i", str(both), "-o", str(merged)])
    assert result.exit_code == 0, result.output
    assert len(_entities(merged)) == len(ids_a) + len(ids_b)  # nothing merged
    # ...while the same case exported twice does aggregate into one set of entities
    again = tmp_path / "again.ftm.json"
    _export(case, again)
    twice = tmp_path / "twice.ftm.json"
    twice.write_text(a.read_text(encoding="utf-8") + again.read_text(encoding="utf-8"))
    result = CliRunner().invoke(ftm_cli, ["aggregate", "-i", str(twice), "-o", str(merged)])
    assert result.exit_code == 0 and len(_entities(merged)) == len(ids_a)


def test_a_published_redacted_clip_is_the_audio_of_a_redacted_export(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    clip = tmp_path / "published.flac"
    result = clip_call(case, 1, clip, ClipOptions(start=0.0, end=6.0, operator="ed"))
    out = tmp_path / "r.ftm.json"
    _export(case, out, calls=[1])
    audio = next(model.get_proxy(r) for r in _entities(out) if r["schema"] == "Audio")
    data = clip.read_bytes()
    assert audio.get("contentHash") == [hashlib.sha1(data, usedforsecurity=False).hexdigest()]
    assert audio.get("notes") == [
        f"sha256:{result.provenance['file_sha256']} (the published redacted clip)"
    ]
    assert audio.get("mimeType") == ["audio/flac"]
    full = tmp_path / "f.ftm.json"
    _export(case, full, redact=False, calls=[1])  # the identifying one keeps the original
    original = next(model.get_proxy(r) for r in _entities(full) if r["schema"] == "Audio")
    assert original.get("contentHash") != audio.get("contentHash")
