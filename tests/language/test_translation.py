"""Translation drafts and the review workflow on the sample corpus (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import webvtt
from sqlalchemy import select

from earshot.ingest.runner import IngestOptions, ingest
from earshot.language.translation import (
    FourEyesError,
    NoEngine,
    StaleEditError,
    TranslationStateError,
    approve_translation,
    draft_from_reference,
    draft_translations,
    edit_translation,
    review_translation,
    translation_history,
)
from earshot.store.case import Case
from earshot.store.language_models import Translation
from earshot.store.models import Call, Segment

SAMPLE = Path(str(files("earshot") / "data" / "sample"))


@pytest.fixture
def sample(case: Case, tmp_path: Path) -> tuple[Case, dict[str, int]]:
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE / "calls", inbox)
    for vtt in (SAMPLE / "translations").iterdir():
        shutil.copy(vtt, inbox / vtt.name)
    ingest(case, [inbox], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1))
    with case.session() as session:
        ids = {f: i for f, i in session.execute(select(Call.source_file, Call.id))}
    return case, ids


class _Upper:
    """A stand-in engine with its own provenance (the real adapters are tested apart)."""

    name = "upper"

    def provenance(self) -> dict[str, Any]:
        return {"engine": "upper", "version": "1"}

    def translate(self, texts: list[str]) -> list[str]:
        return [t.upper() for t in texts]


def test_reference_drafts_align_to_segments(sample: tuple[Case, dict[str, int]]) -> None:
    case, ids = sample
    with case.session() as session:
        report = draft_from_reference(session, actor="ann")
    assert report.created > 50 and report.without_reference == []
    reference = [c.text for c in webvtt.read(str(SAMPLE / "translations" / "call01.en.vtt"))]
    with case.session() as session:
        rows = session.execute(
            select(Translation, Segment)
            .join(Segment, Segment.id == Translation.segment_id)
            .where(Translation.call_id == ids["call01.wav"])
            .order_by(Segment.idx)
        ).all()
        texts = [t.text for t, _ in rows]
        assert all(t.status == "draft" and t.engine["engine"] == "reference" for t, _ in rows)
        # slang glosses ride along as translator's notes ("Броник" -> body armour)
        bronik = next(t for t, s in rows if "Броник" in s.text)
        assert any(n["term"] == "bronik" and n["gloss"] for n in bronik.notes)
    assert texts == reference
    with case.session() as session:  # same reference again: nothing changes
        again = draft_from_reference(session, actor="ann")
    assert again.created == again.redrafted == 0 and again.kept == report.created


def test_review_workflow_history_and_stale_versions(sample: tuple[Case, dict[str, int]]) -> None:
    case, ids = sample
    with case.session() as session:
        draft_translations(session, _Upper(), actor="mt", call_ids=[ids["call01.wav"]])
        segment_id = (
            session.execute(
                select(Translation.segment_id).where(Translation.call_id == ids["call01.wav"])
            )
            .scalars()
            .first()
        )
        assert segment_id is not None
        row = session.execute(
            select(Translation).where(Translation.segment_id == segment_id)
        ).scalar_one()
        assert row.version == 1 and row.status == "draft"
    with case.session() as session, pytest.raises(TranslationStateError, match="draft"):
        approve_translation(session, segment_id, actor="ed", expected_version=1)
    with case.session() as session:
        edited = edit_translation(
            session, segment_id, "Hello, Mum, it's me.", actor="ann", expected_version=1
        )
        assert (edited.status, edited.version, edited.translator) == ("edited", 2, "ann")
    with case.session() as session, pytest.raises(StaleEditError, match="version 2"):
        edit_translation(session, segment_id, "Overwrite", actor="bob", expected_version=1)
    with case.session() as session:
        review_translation(session, segment_id, actor="rita", expected_version=2)
        approved = approve_translation(session, segment_id, actor="ed", expected_version=3)
        assert (approved.status, approved.reviewer, approved.approver) == (
            "approved",
            "rita",
            "ed",
        )
    with case.session() as session:  # a new engine re-drafts drafts only
        report = draft_translations(session, NoEngine(), actor="mt", call_ids=[ids["call01.wav"]])
        assert report.created == report.redrafted == 0
        again = draft_translations(session, _Upper(), actor="mt", call_ids=[ids["call01.wav"]])
        assert again.kept == again.kept and again.redrafted == 0
        history = translation_history(session, segment_id)
        final = session.execute(
            select(Translation).where(Translation.segment_id == segment_id)
        ).scalar_one()
        assert final.text == "Hello, Mum, it's me." and final.status == "approved"
    assert [(h.action, h.actor, h.version) for h in history] == [
        ("draft", "mt", 1),
        ("edit", "ann", 2),
        ("review", "rita", 3),
        ("approve", "ed", 4),
    ]


def test_translation_cli(sample: tuple[Case, dict[str, int]], run_cli: Any) -> None:
    case, ids = sample
    made = json.loads(run_cli("translate", case.path, "--from-reference", "--json").stdout)
    assert made["created"] > 50
    with case.session() as session:
        segment_id = (
            session.execute(
                select(Translation.segment_id).where(Translation.call_id == ids["call03.wav"])
            )
            .scalars()
            .first()
        )
    edit = run_cli(
        "translation", "edit", case.path, segment_id, "--text", "Hi, Olya.",
        "--expected-version", "1", "--operator", "ann", "--json",
    )  # fmt: skip
    assert json.loads(edit.stdout)["status"] == "edited"
    stale = run_cli(
        "translation", "review", case.path, segment_id, "--expected-version", "1", "--json",
        code=2,
    )  # fmt: skip
    assert "version 2" in stale.stderr
    history = json.loads(run_cli("translation", "history", case.path, segment_id, "--json").stdout)
    assert [h["action"] for h in history] == ["draft", "edit"]
    assert history[-1]["text"] == "Hi, Olya." and history[-1]["actor"]
    reviewed = run_cli(
        "translation", "review", case.path, segment_id, "--expected-version", "2",
        "--operator", "rita", "--json",
    )  # fmt: skip
    assert json.loads(reviewed.stdout)["status"] == "reviewed"
    approved = run_cli(
        "translation", "approve", case.path, segment_id, "--expected-version", "3",
        "--operator", "boris", "--json",
    )  # fmt: skip
    assert json.loads(approved.stdout)["status"] == "approved"
    history = json.loads(run_cli("translation", "history", case.path, segment_id, "--json").stdout)
    assert [h["actor"] for h in history][-2:] == ["rita", "boris"]
    none = json.loads(run_cli("translate", case.path, "--mt", "none", "--json").stdout)
    assert none["created"] == 0
    bad = run_cli("translate", case.path, "--mt", "babelfish", "--json", code=2)
    assert "unknown translation engine" in bad.stderr


def _first_segment(case: Case, call_id: int) -> int:
    with case.session() as session:
        segment_id = (
            session.execute(select(Translation.segment_id).where(Translation.call_id == call_id))
            .scalars()
            .first()
        )
    assert segment_id is not None
    return int(segment_id)


def test_four_eyes_rule_and_accepting_a_draft_as_is(sample: tuple[Case, dict[str, int]]) -> None:
    case, ids = sample
    with case.session() as session:
        draft_from_reference(session, actor="mt", call_ids=[ids["call01.wav"]])
    segment_id = _first_segment(case, ids["call01.wav"])
    with case.session() as session:
        edit_translation(session, segment_id, "Mum, it's me.", actor="ann", expected_version=1)
    with case.session() as session, pytest.raises(FourEyesError, match="ann translated segment"):
        review_translation(session, segment_id, actor="ann", expected_version=2)
    with case.session() as session:  # the refusal wrote nothing
        assert translation_history(session, segment_id)[-1].action == "edit"
        review_translation(session, segment_id, actor="rita", expected_version=2)
    with case.session() as session, pytest.raises(FourEyesError, match="rita reviewed segment"):
        approve_translation(session, segment_id, actor="rita", expected_version=3)
    with case.session() as session:  # the translator may approve someone else's review
        done = approve_translation(session, segment_id, actor="ann", expected_version=3)
        assert (done.translator, done.reviewer, done.approver) == ("ann", "rita", "ann")
    # a draft accepted as is: reviewed without an edit, the machine stays the translator
    other = _first_segment(case, ids["call01.wav"]) + 1
    with case.session() as session:
        accepted = review_translation(session, other, actor="rita", expected_version=1)
        assert (accepted.status, accepted.translator, accepted.reviewer) == (
            "reviewed",
            None,
            "rita",
        )
        assert [h.action for h in translation_history(session, other)] == ["draft", "accept"]
    # a case that switches the rule off lets one person do every step
    with case.session() as session:
        edit_translation(session, other, "Fine.", actor="solo", expected_version=2)
        review_translation(session, other, actor="solo", expected_version=3, four_eyes=False)
        approve_translation(session, other, actor="solo", expected_version=4, four_eyes=False)


def test_four_eyes_setting_reaches_the_cli(
    sample: tuple[Case, dict[str, int]], run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    case, ids = sample
    run_cli("translate", case.path, "--from-reference", "--json")
    segment_id = _first_segment(case, ids["call03.wav"])
    run_cli("translation", "edit", case.path, segment_id, "--text", "Hi.",
            "--expected-version", "1", "--operator", "ann")  # fmt: skip
    own_review = ("translation", "review", case.path, segment_id, "--expected-version", "2",
                  "--operator", "ann")  # fmt: skip
    refused = run_cli(*own_review, code=2)
    assert "four-eyes rule" in refused.stderr and "translation_four_eyes" in refused.stderr
    monkeypatch.setenv("EARSHOT_TRANSLATION_FOUR_EYES", "false")
    reviewed = run_cli(*own_review, "--json")
    assert json.loads(reviewed.stdout)["reviewer"] == "ann"


def test_rewrite_share_is_normalised_edit_distance() -> None:
    from earshot.language.translation.workflow import rewrite_share

    assert rewrite_share("Mum, it's me.", "Mum,  it's me.") == 0.0  # whitespace runs
    assert rewrite_share("abcd", "abcf") == 0.25
    assert rewrite_share("", "anything") == 1.0


def test_reviewers_rewrite_becomes_a_new_translation_of_record(
    sample: tuple[Case, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    case, ids = sample
    with case.session() as session:
        draft_from_reference(session, actor="mt", call_ids=[ids["call01.wav"]])
    first = _first_segment(case, ids["call01.wav"])
    second = first + 1
    original = "We are moving out tomorrow morning, don't worry about me."
    with case.session() as session:
        edit_translation(
            session, first, "Mum, it's me, I'm alive.", actor="ann", expected_version=1
        )
        edit_translation(session, second, original, actor="ann", expected_version=1)
    with case.session() as session:  # a correction: a review, ann stays the translator
        fixed = review_translation(
            session, first, actor="rita", expected_version=2, text="Mum, it's me. I'm alive."
        )
        assert (fixed.status, fixed.translator, fixed.reviewer) == ("reviewed", "ann", "rita")
    rewrite = "They took our phones and nobody may call home until the rotation."
    with case.session() as session:  # a rewrite: rita's translation now, back to edited
        row = review_translation(
            session, second, actor="rita", expected_version=2, text=rewrite, note="wrong sense"
        )
        assert (row.status, row.translator, row.reviewer, row.text) == (
            "edited",
            "rita",
            None,
            rewrite,
        )
        history = translation_history(session, second)
        assert [h.action for h in history] == ["draft", "edit", "rewrite"]
        assert history[1].text == original and history[1].actor == "ann"  # kept
        assert "ann" in (history[2].note or "") and "wrong sense" in (history[2].note or "")
    with case.session() as session, pytest.raises(FourEyesError, match="rita translated"):
        review_translation(session, second, actor="rita", expected_version=3)
    with case.session() as session:
        done = review_translation(session, second, actor="ann", expected_version=3)
        assert (done.translator, done.reviewer) == ("rita", "ann")
    # The threshold is a case setting (here from the environment), read by the library.
    third = second + 1
    with case.session() as session:
        edit_translation(session, third, original, actor="ann", expected_version=1)
    monkeypatch.setenv("EARSHOT_TRANSLATION_REWRITE_THRESHOLD", "0.95")
    with Case.open(case.path) as lenient, lenient.session() as session:
        kept = review_translation(session, third, actor="rita", expected_version=2, text=rewrite)
        assert (kept.status, kept.translator, kept.reviewer) == ("reviewed", "ann", "rita")
