"""`earshot voices`: the same synthetic voice across calls ranks as each other's best match."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from sample_truth import TRUTH
from sqlalchemy import select
from voice_calls import held_out_calls

from earshot.ingest.runner import IngestOptions, ingest
from earshot.pipeline.runner import ProcessOptions, process
from earshot.store.case import Case
from earshot.store.models import Call, CustodyEntry, Party

VOICE = {
    (c["file"], label): party["voice"]
    for c in TRUTH["calls"]
    for label, party in c["parties"].items()
}


def _files(case_dir: Path) -> dict[int, str]:
    with Case.open(case_dir) as case, case.session() as session:
        return {c.id: c.source_file for c in session.execute(select(Call)).scalars()}


def test_same_voice_is_best_match(processed_sample: tuple[Path, Any], run_cli: Any) -> None:
    path = processed_sample[0]
    files = _files(path)
    pairs = json.loads(run_cli("voices", path, "--json", "--min-score", "-1").stdout)
    assert pairs and set(pairs[0]) >= {"call_a", "party_a", "call_b", "party_b", "score"}
    assert [p["score"] for p in pairs] == sorted((p["score"] for p in pairs), reverse=True)
    assert all(p["call_a"] != p["call_b"] for p in pairs)
    best: dict[tuple[str, str], tuple[float, tuple[str, str]]] = {}
    for p in pairs:
        a, b = (files[p["call_a"]], p["party_a"]), (files[p["call_b"]], p["party_b"])
        for me, other in ((a, b), (b, a)):
            if me not in best or p["score"] > best[me][0]:
                best[me] = (p["score"], other)
    calls_per_voice: dict[str, set[str]] = defaultdict(set)
    for (file, _), voice in VOICE.items():
        calls_per_voice[voice].add(file)
    # Parties of voices heard in three or more calls: their best match is the same voice.
    # (Known miss: the two GSM-coded calls, 08 and 12, pull their male parties together;
    # the codec's imprint outweighs the voice in Resemblyzer's embedding.)
    ranked = [
        VOICE[other] == VOICE[me]
        for me, (_, other) in best.items()
        if len(calls_per_voice[VOICE[me]]) >= 3
    ]
    assert len(ranked) >= 18 and sum(ranked) / len(ranked) >= 0.9, ranked
    # The default threshold sits at the equal error rate: at most 10% of same-voice pairs
    # fall below it and at most 10% of different-voice pairs reach it.
    default = json.loads(run_cli("voices", path, "--json").stdout)
    listed = {(p["call_a"], p["party_a"], p["call_b"], p["party_b"]) for p in default}

    def same(p: dict[str, Any]) -> bool:
        return bool(
            VOICE[(files[p["call_a"]], p["party_a"])] == VOICE[(files[p["call_b"]], p["party_b"])]
        )

    positives = [p for p in pairs if same(p)]
    negatives = [p for p in pairs if not same(p)]

    def kept(p: dict[str, Any]) -> bool:
        return (p["call_a"], p["party_a"], p["call_b"], p["party_b"]) in listed

    assert sum(not kept(p) for p in positives) / len(positives) <= 0.1
    assert sum(kept(p) for p in negatives) / len(negatives) <= 0.1


def test_confirm_links_parties_to_one_person(sample_copy: Path, run_cli: Any) -> None:
    files = {v: k for k, v in _files(sample_copy).items()}
    a, b = files["call01.wav"], files["call03.wav"]  # Андрей is party A of both
    with Case.open(sample_copy) as case, case.session() as session:
        for party in session.execute(select(Party).where(Party.call_id.in_((a, b)))).scalars():
            party.person_id, party.person_basis = None, None
    data = json.loads(
        run_cli("voices", sample_copy, "--json", "--confirm", f"{a}:A", f"{b}:a").stdout
    )
    assert data["status"] == "confirmed" and data["score"] > 0.5
    with Case.open(sample_copy) as case, case.session() as session:
        parties = {
            p.call_id: p
            for p in session.execute(
                select(Party).where(Party.call_id.in_((a, b)), Party.label == "A")
            ).scalars()
        }
        assert parties[a].person_id == parties[b].person_id is not None
        assert parties[a].person_basis == parties[b].person_basis == "voice_match"
        actions = [e.action for e in session.execute(select(CustodyEntry)).scalars()]
        assert "voice-link-confirmed" in actions
        # a link from the call records is never replaced by a voice match
        parties[b].person_basis = "call_record"
        parties[b].person_id = None
    with Case.open(sample_copy) as case, case.session() as session:
        from earshot.store.models import Person

        other = Person(name="Кто-то Другой", name_key="кто-то другой")
        session.add(other)
        session.flush()
        party_b = session.execute(
            select(Party).where(Party.call_id == b, Party.label == "B")
        ).scalar_one()
        party_b.person_id, party_b.person_basis = other.id, "call_record"
        other_id = other.id
    data = json.loads(
        run_cli("voices", sample_copy, "--json", "--confirm", f"{a}:A", f"{b}:B").stdout
    )
    # The side known from the call records wins; the side known only by voice follows it.
    assert "moved from person" in data["note"]
    with Case.open(sample_copy) as case, case.session() as session:
        party_b = session.execute(
            select(Party).where(Party.call_id == b, Party.label == "B")
        ).scalar_one()
        assert party_b.person_id == other_id and party_b.person_basis == "call_record"
        party_a = session.execute(
            select(Party).where(Party.call_id == a, Party.label == "A")
        ).scalar_one()
        assert party_a.person_id == other_id and party_a.person_basis == "voice_match"
        # Two anchored sides on different persons: a conflict, noted, nothing moved.
        third = Person(name="Третий Лишний", name_key="третий лишний")
        session.add(third)
        session.flush()
        party_a.person_id, party_a.person_basis = third.id, "editor"
        third_id = third.id
    data = json.loads(
        run_cli("voices", sample_copy, "--json", "--confirm", f"{a}:A", f"{b}:B").stdout
    )
    assert "conflict" in data["note"]
    with Case.open(sample_copy) as case, case.session() as session:
        sides = {
            p.label: (p.person_id, p.person_basis)
            for p in session.execute(
                select(Party).where(
                    ((Party.call_id == a) & (Party.label == "A"))
                    | ((Party.call_id == b) & (Party.label == "B"))
                )
            ).scalars()
        }
        assert sides == {"A": (third_id, "editor"), "B": (other_id, "call_record")}
    run_cli("voices", sample_copy, "--reject", f"{a}:A", f"{b}:B")
    listed = json.loads(run_cli("voices", sample_copy, "--json", "--min-score", "-1").stdout)
    assert not any(
        {(p["call_a"], p["party_a"]), (p["call_b"], p["party_b"])} == {(a, "A"), (b, "B")}
        for p in listed
    )
    result = run_cli("voices", sample_copy, "--confirm", f"{a}:A", f"{a}:B", code=2)
    assert "different calls" in result.stderr


@pytest.mark.slow
def test_one_new_voice_in_three_new_calls_ranks_first(
    sample_copy: Path, run_cli: Any, tmp_path: Path
) -> None:
    """The issue's held-out check: a voice the options were never chosen on, in three new
    calls with three codecs, next to the sample corpus: each of the three parties ranks the
    other two above every other party in `earshot voices --json`."""
    new = held_out_calls(tmp_path / "new")
    with Case.open(sample_copy) as case:
        ingest(case, [tmp_path / "new"], IngestOptions(workers=1))
        report = process(case, ProcessOptions(only=("decode", "vad", "separate", "voiceprint")))
        assert report.counts().get("failed", 0) == 0, report.results
    ids = {name: call_id for call_id, name in _files(sample_copy).items()}
    shared = {(ids[path.name], "A") for path in new}  # the shared voice opens each call
    pairs = json.loads(run_cli("voices", sample_copy, "--json", "--min-score", "-1").stdout)
    for me in shared:
        scores = {}
        for p in pairs:
            a, b = (p["call_a"], p["party_a"]), (p["call_b"], p["party_b"])
            if me in (a, b):
                scores[b if a == me else a] = p["score"]
        assert len(scores) >= 2 * 12, "every party of the other calls is scored"
        ranked = sorted(scores, key=lambda other: -scores[other])
        assert set(ranked[:2]) == shared - {me}, [(o, scores[o]) for o in ranked[:4]]
