"""Identity decided by hand through :mod:`earshot.workbench`: the persons list's counts
and roles, the histories of a person and of a call side (proposals rejected, links
withdrawn, decisions citing evidence), and who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from earshot import workbench
from earshot.identity import IdentityError, apply_voice_matches
from earshot.identity.links import propose_link
from earshot.security.errors import PermissionDeniedError
from earshot.security.roles import Actor, Role
from earshot.store.audit import audit_entries
from earshot.store.case import Case
from earshot.store.models import Party

from ..conftest import Cli
from .conftest import call_ids, truth_voice_matches

EDITOR = Actor("editor-ann", Role.EDITOR)


def test_persons_list_counts_calls_sides_and_roles(
    sample_case: Case, truth: dict[str, Any]
) -> None:
    with sample_case.session() as session:
        # An editor confirmed the voices the sample's ground truth chains: persons are
        # then heard on several calls.
        apply_voice_matches(session, truth_voice_matches(truth, call_ids(sample_case)))
        rows = workbench.persons_overview(session, EDITOR)
        sides: dict[int, list[Party]] = {}
        for party in session.scalars(select(Party).where(Party.person_id.is_not(None))):
            sides.setdefault(int(party.person_id or 0), []).append(party)
        assert rows and {r.id for r in rows} >= set(sides)
        for row in rows:
            mine = sides.get(row.id, [])
            assert row.call_sides == len(mine)
            assert row.calls == len({p.call_id for p in mine})
            assert sum(row.side_roles.values()) == len(mine)
            assert set(row.side_roles) <= {"caller", "callee"}
            assert row.role in ("soldier", "relative", "other")
        by_calls = workbench.persons_overview(session, EDITOR, sort="calls", descending=True)
        assert [r.calls for r in by_calls] == sorted((r.calls for r in rows), reverse=True)
        assert max(r.calls for r in rows) >= 2  # the sample has people heard on several calls
        by_name = [r.name.casefold() for r in rows]
        assert by_name == sorted(by_name)
        with pytest.raises(IdentityError, match="unknown sort"):
            workbench.persons_overview(session, EDITOR, sort="phone")


def test_histories_keep_rejected_proposals_withdrawn_links_and_evidence(
    sample_case: Case,
) -> None:
    with sample_case.session() as session:
        parties = list(session.scalars(select(Party).order_by(Party.call_id, Party.label)))
        named = next(p for p in parties if p.person_id is not None)
        person = int(named.person_id or 0)
        free = next(p for p in parties if p.person_id is None and p.call_id != named.call_id)
        proposal, _ = propose_link(
            session, free, person, basis="self_identification", actor="self-identification"
        )
        workbench.decide_attribution(session, EDITOR, proposal.id, accept=False, note="not him")
        linked = workbench.link_side(
            session, EDITOR, call_id=free.call_id, party=free.label, person_id=person,
            note="his sister confirmed the voice",
        )  # fmt: skip
        assert linked.previous_person_id is None and linked.basis == "editor"
        item = workbench.add_evidence(
            session, EDITOR, kind="interview_relative", summary="sister, by phone",
            person_id=person,
        )  # fmt: skip
        from earshot import edits

        edits.verify(
            session, EDITOR, status="partly_verified", reason="one relative",
            evidence_ids=[item.id], person_id=person,
        )  # fmt: skip
        workbench.unlink_side(session, EDITOR, call_id=free.call_id, party=free.label)
        with pytest.raises(IdentityError, match="linked to nobody"):
            workbench.unlink_side(session, EDITOR, call_id=free.call_id, party=free.label)
        history = workbench.person_history(session, EDITOR, person)
        kinds = [(h.kind, h.status, h.basis) for h in history]
        assert ("attribution", "rejected", "self_identification") in kinds
        assert ("evidence", "interview_relative", None) in kinds
        verified = next(h for h in history if h.kind == "verification")
        assert verified.evidence_ids == [item.id] and verified.status == "partly_verified"
        assert verified.actor == "editor-ann (editor)"
        by_hand = next(h for h in history if h.kind == "attribution" and h.basis == "editor")
        assert by_hand.superseded_at is not None
        assert by_hand.note is not None and "unlinked by editor-ann" in by_hand.note
        assert [h.at for h in history] == sorted(h.at or "" for h in history)
        side = workbench.side_history(session, EDITOR, free.call_id, free.label)
        assert [(h.status, h.basis) for h in side] == [
            ("rejected", "self_identification"),
            ("accepted", "editor"),
        ]
        actions = [a.action for a in audit_entries(session)]
        assert actions[-5:] == ["attribute", "link", "evidence", "verify", "unlink"]


def test_roles_decide_who_may_link_and_add_evidence(sample_case: Case) -> None:
    translator = Actor("tr", Role.TRANSLATOR)
    viewer = Actor("vi", Role.VIEWER)
    with sample_case.session() as session:
        party = session.scalars(select(Party).where(Party.person_id.is_not(None))).first()
        assert party is not None
        person = int(party.person_id or 0)
        for call in (
            lambda: workbench.link_side(
                session, translator, call_id=party.call_id, party=party.label, new_name="X"
            ),
            lambda: workbench.unlink_side(
                session, translator, call_id=party.call_id, party=party.label
            ),
            lambda: workbench.merge(session, translator, keep_id=person, other_id=person),
            lambda: workbench.split(
                session,
                translator,
                person_id=person,
                sides=[(party.call_id, party.label)],
                new_name="Y",
            ),
            lambda: workbench.add_evidence(
                session, viewer, kind="other", summary="s", person_id=person
            ),
        ):
            with pytest.raises(PermissionDeniedError):
                call()
        added = workbench.add_evidence(
            session, translator, kind="other", summary="heard on another call", person_id=person
        )
        assert added.added_by == "tr"
        assert party.person_id == person  # nothing the refused calls asked for happened


def test_a_side_confirmed_by_voice_is_not_unlinked_behind_the_match(sample_case: Case) -> None:
    """Unlinking a side that a confirmed voice match ties to another would not last (the
    match links it again on the next refresh): refused, naming the match to reject."""
    from earshot import edits
    from earshot.web.errors import for_browser

    with sample_case.session() as session:
        parties = list(session.scalars(select(Party).order_by(Party.call_id, Party.label)))
        named = next(p for p in parties if p.person_id is not None)
        free = next(p for p in parties if p.person_id is None and p.call_id != named.call_id)
        edits.decide_voice_link(
            session, EDITOR, confirm=True,
            sides=((named.call_id, named.label), (free.call_id, free.label)),
        )  # fmt: skip
        workbench.persons_overview(session, EDITOR)  # brings attributions up to date
        assert free.person_id == named.person_id and free.person_basis == "voice_match"
        with pytest.raises(IdentityError, match="confirmed the same voice") as refused:
            workbench.unlink_side(session, EDITOR, call_id=free.call_id, party=free.label)
        assert "earshot voices CASE --reject" in str(refused.value)
        assert "`" not in for_browser(str(refused.value))
        assert free.person_id == named.person_id


def test_cli_person_list_sorts_and_counts_like_the_persons_page(
    sample_case: Case, truth: dict[str, Any], run_cli: Cli
) -> None:
    import json

    with sample_case.session() as session:
        apply_voice_matches(session, truth_voice_matches(truth, call_ids(sample_case)))
        page = workbench.persons_overview(session, EDITOR, sort="calls", descending=True)
    listed = json.loads(
        run_cli("person", "list", sample_case.path, "--sort", "calls", "--desc", "--json").stdout
    )
    assert [r["id"] for r in listed] == [r.id for r in page]
    assert [(r["calls"], r["call_sides"], r["side_roles"]) for r in listed] == [
        (r.calls, r.call_sides, r.side_roles) for r in page
    ]
    table = run_cli("person", "list", sample_case.path).stdout
    assert "calls" in table and "caller" in table
