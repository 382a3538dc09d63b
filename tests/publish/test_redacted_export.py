"""The redacted export of the sample corpus: nothing planted survives, the story stays."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from earshot.publish.export import ExportOptions, ExportRefusedError, export_case, redacted_document
from earshot.publish.export_json import build_export
from earshot.publish.formats.registry import export_format_names, get_format
from earshot.publish.leakguard import LeakDetectedError
from earshot.publish.policy import parse_policy
from earshot.store.case import Case
from earshot.store.models import Call

from .conftest import truth

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "export.schema.json"
IDENTIFIERS = {"name", "diminutive", "phone", "unit", "address", "date_of_birth"}
FRONT_LINE = [
    "Бахмут",
    "Соледар",
    "Авдеевк",
    "Bakhmut",
    "Soledar",
    "Avdiivka",
]  # call08 has no transcript
PUBLIC = ["Путин", "Putin"]  # Шойгу is only in call08, which has no transcript
# What the English reference translations make of the planted identifiers.
PLANTED_EN = [
    "Andryusha", "Andryushenka", "Andryush", "Olechka", "Marinka", "Roma", "Romych", "Romochka",
    "Olya", "Olyushka", "Olenka", "Denis", "Deniska", "Marish", "Romka", "Shapkin",
    "Alekseyevich", "Ivanovo", "Sosnovaya", "Rostov", "71934", "58216", "555-40-82", "1991",
]  # fmt: skip
CaseFixture = tuple[Case, dict[str, int]]


@pytest.fixture(scope="module")
def redacted(sample_case: CaseFixture) -> dict[str, Any]:
    case, _ = sample_case
    with case.session() as session:
        doc, _, _ = redacted_document(session, None, policy=None, operator="test")
    return doc


def _texts(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False)


def _words(text: str) -> set[str]:
    return {w.lower().replace("ё", "е") for w in re.findall(r"[\w-]+", text)}


def test_no_planted_identifier_survives(redacted: dict[str, Any]) -> None:
    words = _words(_texts(redacted))
    checked = 0
    for call in truth()["calls"]:
        for planted in call["planted"]:
            if planted["kind"] in IDENTIFIERS:
                for word in {w for w in _words(planted["text"]) if len(w) > 2} - {"мая"}:
                    assert word not in words, f"{planted['kind']} {planted['text']!r} survived"
                    checked += 1
    assert checked > 30
    for token in PLANTED_EN:
        assert not re.search(rf"\b{re.escape(token)}\b", _texts(redacted)), token


def test_home_towns_phones_and_records_are_withheld(redacted: dict[str, Any]) -> None:
    text = _texts(redacted)
    for member in truth()["cast"]:
        for phone in member["phones"]:
            assert phone[-7:] not in re.sub(r"\D", "", text)
        assert member["surname"].replace("ё", "е") not in text.replace("ё", "е")
    assert "Иваново" not in text and "Ростов" not in text
    for call in redacted["calls"]:
        for party in call["parties"]:
            assert party["person"] is None and party["phone"] is None


def test_front_line_places_and_public_figures_are_kept(redacted: dict[str, Any]) -> None:
    text = _texts(redacted)
    for name in FRONT_LINE + PUBLIC:
        assert name in text, f"{name} was redacted but is the story"


def test_one_pseudonym_per_person_across_calls(
    redacted: dict[str, Any], sample_case: CaseFixture
) -> None:
    seen: dict[str, set[str]] = {}
    by_id = {c["id"]: c for c in redacted["calls"]}
    with sample_case[0].session() as session:
        files = {c.source_file: c.id for c in session.query(Call)}
    for call in truth()["calls"]:
        exported = by_id[files[call["file"]]]
        for party in exported["parties"]:
            cast = call["parties"][party["label"]]["person_id"]
            if party["pseudonym"]:
                seen.setdefault(cast, set()).add(party["pseudonym"])
    assert len(seen) >= 5
    for cast, names in seen.items():
        assert len(names) == 1, f"{cast} has pseudonyms {names}"
    pseudonyms = [next(iter(n)) for n in seen.values()]
    assert len(set(pseudonyms)) == len(pseudonyms)
    assert all(re.fullmatch(r"(Soldier|Relative) \d+", p) for p in pseudonyms)


def test_slang_marks_and_translations_are_kept(
    redacted: dict[str, Any], sample_case: CaseFixture
) -> None:
    case, _ = sample_case
    with case.session() as session:
        full = build_export(session)
    marks = [
        (m["term"], m["gloss"]) for c in full["calls"] for s in c["segments"] for m in s["slang"]
    ]
    kept = [
        (m["term"], m["gloss"])
        for c in redacted["calls"]
        for s in c["segments"]
        for m in s["slang"]
    ]
    assert marks and kept == marks
    assert "Сочи" in _texts(redacted)  # "уехать в Сочи" is desertion slang, not a home town
    translated = [
        s["translation"] for c in redacted["calls"] for s in c["segments"] if s["translation"]
    ]
    assert len(translated) > 50


def test_redacted_json_validates_against_the_export_schema(redacted: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(redacted, schema)
    leaky = json.loads(json.dumps(redacted))
    leaky["calls"][0]["parties"][0]["phone"] = "+79155553147"
    with pytest.raises(jsonschema.ValidationError):  # a redacted export carries no phone
        jsonschema.validate(leaky, schema)
    assert redacted["redacted"] is True and redacted["warning"].startswith("Redacted export")


def test_entities_point_at_the_redacted_text(redacted: dict[str, Any]) -> None:
    for call in redacted["calls"]:
        for seg in call["segments"]:
            for entity in seg["entities"]:
                assert seg["text"][entity["start"] : entity["end"]] == entity["text"]
                assert entity["person"] is None


def test_the_registry_holds_the_built_in_formats() -> None:
    """The parametrisation below reads the registry: an empty one would test nothing."""
    assert {"json", "md", "html", "vtt", "srt", "docx", "ftm", "pdf"} <= set(export_format_names())


@pytest.mark.parametrize("fmt", export_format_names())
def test_every_format_passes_the_leak_guard(
    fmt: str, sample_case: CaseFixture, tmp_path: Path
) -> None:
    """Every registered format (a new one is covered the moment it is registered)."""
    case, _ = sample_case
    spec = get_format(fmt)
    out = tmp_path / f"export.{spec.suffix}"
    result = export_case(case, out, ExportOptions(fmt=fmt, operator="test", call_ids=[1, 9, 10]))
    assert out.stat().st_size == result.bytes > 100
    assert result.summary.counts["person"] > 5
    if spec.media_type == "application/zip":  # one file per call and language
        with zipfile.ZipFile(out) as archive:
            text = " ".join(archive.read(n).decode() for n in archive.namelist())
    elif spec.media_type.startswith(("text/", "application/json")):
        text = out.read_text(encoding="utf-8")
    else:  # binary (Word, PDF): the guard read it back or scanned its source before writing
        return
    assert "Шапкин" not in text and "Ivanovo" not in text
    assert "Авдеевку" in text or "Avdiivka" in text


@pytest.mark.parametrize(
    ("category", "calls"), [("person", [1, 2, 3]), ("phone", [6]), ("unit", [3])]
)
def test_a_weakened_policy_is_refused_and_nothing_is_written(
    category: str, calls: list[int], sample_case: CaseFixture, tmp_path: Path
) -> None:
    import yaml

    case, _ = sample_case
    raw = yaml.safe_load(_policy_text())
    raw["categories"][category]["redact"] = False
    weak = parse_policy(raw, f"weakened: {category} not redacted")
    out = tmp_path / "weak.json"
    with pytest.raises(LeakDetectedError) as caught:
        export_case(case, out, ExportOptions(policy=weak, operator="test", call_ids=calls))
    assert not out.exists()
    assert "protected term" in str(caught.value)
    leaks = caught.value.leaks
    assert leaks and all(leak.location.startswith("$.calls") for leak in leaks)
    assert {leak.category for leak in leaks} == {category}


def _policy_text() -> str:
    from importlib.resources import files

    return (files("earshot.publish") / "data" / "redaction_policy.yaml").read_text(encoding="utf-8")


def test_identifying_export_needs_explicit_consent_and_says_so(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    case, _ = sample_case
    out = tmp_path / "full.md"
    with pytest.raises(ExportRefusedError):
        export_case(case, out, ExportOptions(fmt="md", redact=False, operator="test"))
    assert not out.exists()
    export_case(
        case,
        out,
        ExportOptions(fmt="md", redact=False, identifying=True, operator="t", call_ids=[10]),
    )
    first = out.read_text(encoding="utf-8").splitlines()[0]
    assert "identifies people" in first
    assert "Шапкин" in out.read_text(encoding="utf-8")


def test_ftm_entities_load_back_with_followthemoney(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    from followthemoney import model

    case, _ = sample_case
    for redact in (True, False):
        out = tmp_path / f"calls-{redact}.ftm.json"
        export_case(
            case,
            out,
            ExportOptions(fmt="ftm", redact=redact, identifying=True, operator="t", call_ids=[6]),
        )
        proxies = [model.get_proxy(json.loads(line)) for line in out.read_text().splitlines()]
        schemata = {p.schema.name for p in proxies}
        assert {"Person", "Call", "Audio"} <= schemata
        call = next(p for p in proxies if p.schema.name == "Call")
        assert call.get("caller") and call.get("receiver")
        assert bool(call.get("callerNumber")) is (not redact)
