"""Parity of the transcript's layout edits: split, party, move and merge through the
HTTP API equal the same through `earshot segment` (rows, text versions, translations,
layout history, audit), and a refusal is the same refusal with the library's message."""

from __future__ import annotations

from sqlalchemy import select

from earshot.language.analysis import current_transcript
from earshot.store.case import Case
from earshot.store.models import Call, Segment

from ..conftest import Cli
from . import test_parity
from .test_parity import EDITOR, Twins, assert_same

template = test_parity.template  # the same two-call case
twins = test_parity.twins


def test_segment_layout_parity_and_refusal(twins: Twins, run_cli: Cli) -> None:
    with Case.open(twins.cli) as case, case.session() as session:
        call_id = session.scalars(
            select(Call.id).where(Call.source_file.endswith("call01.wav"))
        ).one()
        transcript = current_transcript(session, call_id)
        assert transcript is not None
        ids = [
            s.id
            for s in session.scalars(
                select(Segment).where(Segment.transcript_id == transcript.id).order_by(Segment.idx)
            )
        ]
    base = f"calls/{call_id}/segments"
    steps = [
        (
            "POST",
            f"{base}/{ids[2]}/split",
            {"word": 3, "version": 0},
            ("split", "2", "--word", "3"),
        ),
        ("PUT", f"{base}/{ids[1]}/party", {"party": "A", "version": 1}, ("party", "1", "A")),
        (
            "PUT",
            f"{base}/{ids[3]}/bounds",
            {"end": 17.0, "version": 2},
            ("move", "4", "--end", "17"),
        ),
        ("POST", f"{base}/{ids[0]}/merge", {"version": 3}, ("merge", "0")),
    ]
    for method, tail, body, (verb, *args) in steps:
        done = twins.send(method, tail, body)
        assert done.status_code == 200, (tail, done.text)
        run_cli("segment", verb, twins.cli, str(call_id), *args, "--operator", EDITOR, "--json")
    shot = assert_same(twins.api, twins.cli)
    assert [r["kind"] for r in shot["segment_edits"]] == ["split", "party", "move", "merge"]
    assert [r["action"] for r in shot["audit_log"]][-4:] == [
        "segment_split", "segment_party", "segment_move", "segment_merge",
    ]  # fmt: skip
    # A refusal: «Кормят-то хоть нормально?» (B) and the next line (A), in both.
    refused = twins.send("POST", f"{base}/{ids[3]}/merge", {"version": 4})
    cli_refused = run_cli(
        "segment", "merge", twins.cli, str(call_id), "3", "--operator", EDITOR, code=2
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] in " ".join(cli_refused.stderr.split())
    # A stale layout: 409 with the version now, and the CLI refuses the same.
    stale = twins.send("PUT", f"{base}/{ids[0]}/party", {"party": "B", "version": 1})
    assert stale.status_code == 409 and stale.json()["version"] == 4
    cli_stale = run_cli(
        "segment", "party", twins.cli, str(call_id), "0", "B", "--layout-version", "1",
        "--operator", EDITOR, code=2,
    )  # fmt: skip
    assert stale.json()["detail"] in " ".join(cli_stale.stderr.split())
    assert_same(twins.api, twins.cli)
