"""Redaction at the edges: countries and large cities are never home towns; terms of
address that look like nicknames wait for an editor, whose decision the case remembers;
every entry of the two YAML files is checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from earshot.identity import Actor
from earshot.ingest.runner import IngestOptions, ingest
from earshot.language.entities import Entity
from earshot.publish.export import ExportOptions, export_case, redacted_document
from earshot.publish.nicknames import (
    NicknameReviewError,
    _address_like,
    _candidates_in,
    decide_nickname,
    ordinary_terms,
    pending_nicknames,
)
from earshot.publish.policy import default_policy
from earshot.publish.redaction import Redactor
from earshot.security.errors import PermissionDeniedError
from earshot.store.case import Case
from earshot.store.models import CustodyEntry

from ..conftest import Cli, write_audio

DATA = Path(__file__).resolve().parents[2] / "src" / "earshot" / "publish" / "data"
TRANSCRIPT = """WEBVTT

00:00:00.500 --> 00:00:02.500
<v A>Малой, ты где? Мама звонила.

00:00:03.000 --> 00:00:05.000
<v B>Тут я. Студент, слышишь меня? Брат, ты как?

00:00:05.500 --> 00:00:07.500
<v A>Нормально. Мы в Грузии были, потом в Москве, а он сам из Ярославля.

00:00:08.000 --> 00:00:09.800
<v B>Ну что, Рыжий, живой? Живой, здоровый, не переживай. Так, Внимание! Ребят, Удачи!
"""


@pytest.fixture
def nick_case(tmp_path: Path) -> Case:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_audio(inbox / "0079161234567_call.wav", seconds=10.0, channels=2)
    (inbox / "0079161234567_call.vtt").write_text(TRANSCRIPT, encoding="utf-8")
    case = Case.init(tmp_path / "case")
    ingest(case, [inbox], IngestOptions(workers=1))
    return case


def test_nicknames_are_refused_until_decided_and_remembered(
    nick_case: Case, tmp_path: Path, run_cli: Cli
) -> None:
    out = tmp_path / "export.json"
    with pytest.raises(NicknameReviewError) as refused:
        export_case(nick_case, out, ExportOptions(operator="t"))
    assert {c.surface for c in refused.value.pending} == {"Малой", "Студент", "Рыжий"}
    assert "review before publishing" in str(refused.value)
    assert not out.exists()
    listed = json.loads(run_cli("nickname", "list", nick_case.path, "--json").stdout)
    assert {p["surface"] for p in listed["pending"]} == {"Малой", "Студент", "Рыжий"}
    run_cli("nickname", "decide", nick_case.path, "Малой", code=2)  # say which
    run_cli("nickname", "decide", nick_case.path, "Малой", "--nickname", "--operator", "ed")
    run_cli("nickname", "decide", nick_case.path, "Рыжий", "--nickname", "--operator", "ed")
    with nick_case.session() as session, pytest.raises(PermissionDeniedError):
        decide_nickname(session, "Студент", "ordinary", actor=Actor("rep", "reporter"))
    with pytest.raises(NicknameReviewError, match="Студент"):
        export_case(nick_case, out, ExportOptions(operator="t"))
    run_cli("nickname", "decide", nick_case.path, "Студент", "--ordinary")
    result = export_case(nick_case, out, ExportOptions(operator="t"))
    text = out.read_text(encoding="utf-8")
    assert "Малой" not in text and "Рыжий" not in text and "Студент" in text
    assert "Мама" in text and "Брат" in text  # ordinary terms of address stay
    assert result.summary.counts["person"] >= 2
    with Case.open(nick_case.path) as again, again.session() as session:
        assert not pending_nicknames(session)  # the decisions live in the case
        actions = list(session.scalars(select(CustodyEntry.action)))
    assert actions.count("nickname-decided") == 3


def test_countries_and_large_cities_are_never_home_towns(nick_case: Case) -> None:
    with nick_case.session() as session:
        for word in ("Малой", "Студент", "Рыжий"):
            decide_nickname(session, word, "ordinary", actor=Actor("ed"))
        doc, summary, _ = redacted_document(session, None, policy=None, operator="t")
    text = json.dumps(doc, ensure_ascii=False)
    assert "Грузии" in text and "Москве" in text
    assert "Ярославля" not in text and "[home town]" in text
    # the phone number in the file name was replaced, and counted where it was
    assert "79161234567" not in text and doc["calls"][0]["source_file"] == "call-1"
    assert summary.where["file names"] >= 2 and summary.counts["phone"] >= 1
    assert summary.where["text"] >= 1


def test_every_never_home_town_entry_is_kept() -> None:
    data = yaml.safe_load((DATA / "never_home_towns.yaml").read_text(encoding="utf-8"))
    policy = default_policy()
    redactor = Redactor(policy, [], {})
    for name in data["countries"] + data["cities"]:
        assert policy.never_home_towns.covers(name), name
        entity = Entity("LOC", 0, len(name), name, name)
        kept, _ = redactor._place_kept(entity)
        assert kept, name


def test_every_ordinary_term_of_address_is_not_flagged() -> None:
    data = yaml.safe_load((DATA / "terms_of_address.yaml").read_text(encoding="utf-8"))
    forms = ordinary_terms()
    for word in data["ordinary"]:
        sentence = f"{word.capitalize()}, ты где?"
        found = [c for c in _candidates_in(sentence) if _address_like(c[2], animate=c[3])]
        assert not found or found[0][2].lower().replace("ё", "е") in forms, word
        assert word.lower().replace("ё", "е") in forms or word.lower() in forms, word
