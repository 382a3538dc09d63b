"""One attribution for everything published: the library's current attribution of each
call side (what `earshot calls --json` and the workbench show), "Unknown speaker N"
otherwise; proposals refused unless asked for; the report lists every attribution."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from earshot.identity import Actor, decide_proposal
from earshot.identity.links import propose_link
from earshot.publish.attribution import ProposedAttributionError
from earshot.publish.export import ExportOptions, export_case, redacted_document
from earshot.publish.pseudonyms import pseudonym_map
from earshot.store.case import Case
from earshot.store.models import Party, PersonPhone
from earshot.store.queries import list_calls

from ..conftest import Cli

CaseFixture = tuple[Case, dict[str, int]]


def _doc(case: Case, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    with case.session() as session:
        doc, summary, _ = redacted_document(session, None, policy=None, operator="t", **kwargs)
    return doc, summary


def test_sides_are_named_as_the_workbench_attributes_them(sample_case: CaseFixture) -> None:
    case, _ = sample_case
    doc, summary = _doc(case)
    with case.session() as session:
        shown = {c.id: {p.label: p.person_id for p in c.parties} for c in list_calls(session)}
        names = pseudonym_map(session)
        owned = {r.phone_id for r in session.scalars(select(PersonPhone))}
        phones = {(p.call_id, p.label): p.phone_id for p in session.scalars(select(Party))}
    attributed = unknown = on_owned_phone = 0
    for call in doc["calls"]:
        expected_unknown = 0
        for party in call["parties"]:
            person = shown[call["id"]][party["label"]]
            if person is not None:
                attributed += 1
                assert party["pseudonym"] == party["speaker"] == names[person]
                assert party["attribution"] == "current"
            else:
                unknown += 1
                expected_unknown += 1
                assert party["pseudonym"] is None and party["attribution"] == "none"
                assert party["speaker"] == f"Unknown speaker {expected_unknown}"
                on_owned_phone += phones[(call["id"], party["label"])] in owned
    # the sample has sides whose phone belongs to a person but that nobody attributed:
    # the export used to give them that person's pseudonym
    assert attributed and unknown and on_owned_phone
    rows = summary.attributions
    assert len(rows) == attributed + unknown
    for row in rows:
        if row["state"] == "current":
            assert row["basis"] in {"call_record", "editor", "voice_match", "self_identification"}
            assert row["side_verification"] in {"unverified", "partly_verified", "verified"}
            assert row["person_verification"]
        else:
            assert row["basis"] is None and row["published_as"].startswith("Unknown speaker")


def test_phone_groups_say_whose_number_without_attributing(sample_case: CaseFixture) -> None:
    case, _ = sample_case
    doc, _ = _doc(case, phone_groups=True)
    grouped = [p for c in doc["calls"] for p in c["parties"] if "(on the number of" in p["speaker"]]
    assert grouped
    for party in grouped:
        assert party["pseudonym"] is None and party["attribution"] == "none"
        assert re.fullmatch(r"Unknown speaker \d \(on the number of .+\)", party["speaker"])


@pytest.fixture
def proposal(sample_case: CaseFixture) -> Iterator[tuple[int, str, int]]:
    """An open self-identification proposal on an unattributed side; rejected afterwards.

    The person is one of the case's own, not one that already has a pseudonym: the
    session's case has pseudonyms only if an export ran before on the same worker."""
    case, persons = sample_case
    with case.session() as session:
        party = session.scalars(
            select(Party).where(Party.person_id.is_(None)).order_by(Party.id)
        ).first()
        assert party is not None
        person = min(persons.values())
        link, _ = propose_link(session, party, person, basis="self_identification", actor="t")
        key = (party.call_id, party.label, link.id)
    yield key
    with case.session() as session:
        decide_proposal(session, Actor("ed"), key[2], accept=False)


def test_a_proposed_attribution_is_refused_unless_asked_for(
    sample_case: CaseFixture, proposal: tuple[int, str, int], tmp_path: Path, run_cli: Cli
) -> None:
    case, _ = sample_case
    call_id, label, _ = proposal
    out = tmp_path / "x.json"
    with pytest.raises(ProposedAttributionError, match=f"call {call_id} side {label}"):
        export_case(case, out, ExportOptions(operator="t", call_ids=[call_id]))
    assert not out.exists()
    refused = run_cli("export", case.path, "--redact", "-o", out, "--calls", str(call_id), code=2)
    assert "--allow-proposed" in refused.output + refused.stderr and not out.exists()
    result = export_case(
        case, out, ExportOptions(operator="t", call_ids=[call_id], allow_proposed=True)
    )
    side = next(
        p for p in json.loads(out.read_text())["calls"][0]["parties"] if p["label"] == label
    )
    assert side["speaker"].endswith(" (proposed)") and side["pseudonym"] is None
    assert side["attribution"] == "proposed"
    assert result.as_dict()["proposed_attributions"] == 1


def test_cli_prints_the_redaction_report(
    sample_case: CaseFixture, tmp_path: Path, run_cli: Cli
) -> None:
    case, _ = sample_case
    out = tmp_path / "r.md"
    shown = run_cli("export", case.path, "--redact", "--format", "md", "-o", out, "--calls", "1,2")
    assert "Withheld:" in shown.stdout and "Replaced in:" in shown.stdout
    assert re.search(r"call 1 side A: .+ \((current|none)", shown.stdout)
    data = json.loads(
        run_cli("export", case.path, "--redact", "-o", out, "--calls", "1", "--json").stdout
    )
    assert data["attributions"] and data["replaced_in"]["file names"] >= 1


def test_quote_sheets_name_speakers_by_current_attribution(sample_case: CaseFixture) -> None:
    from earshot.language.analysis import current_transcript
    from earshot.publish.quote_sheet import quote_sheet_document
    from earshot.publish.quotes import create_quote, list_quotes, verbatim_english

    case, _ = sample_case
    with case.session() as session:
        if not list_quotes(session, [10]):
            transcript = current_transcript(session, 10)
            assert transcript is not None
            english = verbatim_english(session, transcript.segments[:1])
            create_quote(session, 10, 0, 0, english, actor="desk", allow_unapproved=True)
        quotes = list_quotes(session)
        sheet = quote_sheet_document(session, quotes, redact=True, policy=None, operator="t")
        attributed = {(p.call_id, p.label): p.person_id for p in session.scalars(select(Party))}
        names = pseudonym_map(session)
        for quote, row in zip(quotes, sheet["quotes"], strict=True):
            first = quote.first_segment_id
            label = next(
                s.party
                for s in current_transcript(session, quote.call_id).segments
                if s.id == first
            )  # type: ignore[union-attr]
            person = attributed.get((quote.call_id, label))
            expected = names[person] if person is not None else "Unknown speaker"
            assert row["speakers"].startswith(expected), (row["speakers"], expected)


def test_the_report_carries_the_editors_verification(sample_case: CaseFixture) -> None:
    from earshot.identity import EvidenceSubject, add_evidence, set_verification

    case, _ = sample_case
    with case.session() as session:
        party = session.scalars(
            select(Party).where(Party.person_id.is_not(None)).order_by(Party.id)
        ).first()
        assert party is not None
        key, person = (party.call_id, party.label), party.person_id
        editor = Actor("ed")
        item = add_evidence(
            session, editor, EvidenceSubject(call_id=party.call_id), kind="other",
            summary="the mother confirmed the voice",
        )  # fmt: skip
        set_verification(
            session, editor, status="verified", reason="confirmed", evidence_ids=[item.id],
            party_id=party.id,
        )  # fmt: skip
        set_verification(
            session, editor, status="partly_verified", reason="one source",
            evidence_ids=[item.id], person_id=person,
        )  # fmt: skip
    _, summary = _doc(case)
    row = next(r for r in summary.attributions if (r["call"], r["side"]) == key)
    assert row["side_verification"] == "verified"
    assert row["person_verification"] == "partly_verified"
    assert row["state"] == "current" and row["basis"]


def test_quote_sheet_reports_the_attributions_it_relies_on(
    sample_case: CaseFixture, tmp_path: Path
) -> None:
    from earshot.language.analysis import current_transcript
    from earshot.publish.quote_sheet import QuoteSheetOptions, export_quote_sheet
    from earshot.publish.quotes import create_quote, list_quotes, verbatim_english

    case, _ = sample_case
    with case.session() as session:
        if not list_quotes(session, [10]):  # the test above may run on another worker
            transcript = current_transcript(session, 10)
            assert transcript is not None
            english = verbatim_english(session, transcript.segments[:1])
            create_quote(session, 10, 0, 0, english, actor="desk", allow_unapproved=True)
        calls = sorted({q.call_id for q in list_quotes(session)})
    assert calls
    data = export_quote_sheet(case, tmp_path / "q.md", QuoteSheetOptions(operator="t"))
    assert {r["call"] for r in data["attributions"]} == set(calls)
    assert all(
        {"published_as", "basis", "side_verification"} <= set(r) for r in data["attributions"]
    )
