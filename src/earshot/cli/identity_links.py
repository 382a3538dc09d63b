"""Identity commands, continued: who is on which side of a call (`person link`) and the
proposals to attribute sides to persons (`person proposals`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table
from sqlalchemy.orm import Session

from .. import workbench
from ..identity import (
    BASES,
    bring_up_to_date,
    decide_proposal,
    find_party,
    find_person,
    link_party,
    pending_proposals,
    propose_self_identifications,
)
from ..store.identity_models import PartyPersonLink
from ..store.models import Party, Person
from ._base import case_argument, emit, json_option, out, progress_bar
from ._terminal import safe
from .identity import _session, operator_option, person


@person.command("link")
@case_argument
@click.argument("side", metavar="CALL:PARTY")
@click.argument("person_ref", metavar="PERSON")
@click.option(
    "--basis",
    type=click.Choice([b.value for b in BASES]),
    default="editor",
    help="What the attribution rests on (default: editor).",
)
@click.option("--note", help="Why (cite evidence).")
@operator_option
@json_option
def person_link(
    case: Path,
    side: str,
    person_ref: str,
    basis: str,
    note: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Attribute one side of a call (e.g. 12:A or call03.wav:B) to PERSON."""
    with _session(case, operator) as (session, actor, _opened):
        party = find_party(session, side)
        target = find_person(session, person_ref)
        if basis == "editor":  # by hand: the same decision as the web's, audited alike
            done = workbench.link_side(
                session,
                actor,
                call_id=party.call_id,
                party=party.label,
                person_id=target.id,
                note=note,
            )
            link_id = done.link_id
        else:
            link_id = link_party(session, actor, party, target, basis=basis, note=note).id
        data = {
            "link_id": link_id,
            "call_id": party.call_id,
            "party": party.label,
            "person_id": target.id,
            "basis": basis,
        }
    if as_json:
        emit(data)
    else:
        out.print(f"{side} is now #{target.id} (basis {basis}, link #{data['link_id']})")


@person.command("unlink")
@case_argument
@click.argument("side", metavar="CALL:PARTY")
@click.option("--note", help="Why the attribution is withdrawn.")
@operator_option
@json_option
def person_unlink(
    case: Path, side: str, note: str | None, operator: str | None, as_json: bool
) -> None:
    """Withdraw the attribution of one side of a call (kept in the history)."""
    with _session(case, operator) as (session, actor, _opened):
        party = find_party(session, side)
        done = workbench.unlink_side(
            session, actor, call_id=party.call_id, party=party.label, note=note
        )
    if as_json:
        emit(done.as_dict())
    else:
        out.print(f"{side} is linked to nobody now (was #{done.previous_person_id})")


def _proposal_row(session: Session, link: PartyPersonLink) -> dict[str, Any]:
    party = session.get(Party, link.party_id)
    target = session.get(Person, link.person_id)
    return {
        "id": link.id,
        "call_id": party.call_id if party else None,
        "party": party.label if party else None,
        "person_id": link.person_id,
        "person": target.name if target else None,
        "current_person_id": party.person_id if party else None,
        "basis": link.basis,
        "score": link.score,
        "segment_id": link.segment_id,
        "note": link.note,
        "at": link.at.isoformat(),
    }


@person.command("proposals")
@case_argument
@click.option("--scan", is_flag=True, help="First look for new self-identifications.")
@click.option("--accept", "accepted", type=int, multiple=True, help="Accept proposal ID.")
@click.option("--reject", "rejected", type=int, multiple=True, help="Reject proposal ID.")
@click.option("--note", help="Why (recorded with each decision).")
@operator_option
@json_option
def person_proposals(
    case: Path,
    scan: bool,
    accepted: tuple[int, ...],
    rejected: tuple[int, ...],
    note: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """List open attribution proposals (self-identification, voice), accept or reject them."""
    with _session(case, operator) as (session, actor, _opened), progress_bar("proposals") as bar:
        task = bar.add_task("proposals", total=None, current="")
        bring_up_to_date(session)
        if scan:
            propose_self_identifications(session)
        decisions = [
            decide_proposal(session, actor, link_id, accept=True, note=note) for link_id in accepted
        ] + [
            decide_proposal(session, actor, link_id, accept=False, note=note)
            for link_id in rejected
        ]
        rows = [_proposal_row(session, link) for link in pending_proposals(session)]
        bar.update(task, total=1, completed=1)
        data = {"decided": [d.__dict__ for d in decisions], "open": rows}
    if as_json:
        emit(data)
        return
    for d in decisions:
        out.print(f"#{d.link_id} {d.status}")
    table = Table(title=f"{len(rows)} open proposals", title_justify="left")
    for column in ("id", "side", "person", "basis", "score", "note"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]),
            f"{row['call_id']}:{row['party']}",
            safe(f"#{row['person_id']} {row['person']}"),
            safe(row["basis"]),
            f"{row['score']:.2f}" if row["score"] is not None else "",
            safe(row["note"] or ""),
        )
    out.print(table)


__all__: list[str] = []  # its commands join the `person` group of identity.py
