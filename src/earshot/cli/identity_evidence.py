"""Identity commands, continued: phones (`phone`), evidence files and notes (`evidence`),
and verification decisions (`verify-identity`).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from sqlalchemy.orm import Session

from .. import edits, workbench
from ..identity import (
    EVIDENCE_KINDS,
    STATUSES,
    EvidenceSubject,
    bring_up_to_date,
    evidence_dict,
    find_call,
    find_party,
    find_person,
    find_phone,
    list_evidence,
    list_phones,
    phone_dict,
)
from ..store.case import Case
from ._base import case_argument, cli, emit, json_option, out
from ._terminal import safe
from .identity import _date, _session, operator_option

# -------------------------------------------------------------------------- phone


@cli.group()
def phone() -> None:
    """Phone numbers: type, region and carrier, who uses each and when."""


@phone.command("show")
@case_argument
@click.argument("number")
@json_option
def phone_show(case: Path, number: str, as_json: bool) -> None:
    """Show NUMBER (any format, or its id): offline data, its users with periods, calls."""
    with _session(case) as (session, _actor, opened):
        bring_up_to_date(session)
        data = phone_dict(session, find_phone(session, number, region=opened.settings.region))
    if as_json:
        emit(data)
        return
    out.print(
        f"[bold]{safe(data['e164'])}[/] {safe(data['type'])} {safe(data['carrier'] or '')} "
        f"{safe(data['location'] or data['region'] or '')}; {data['calls']} call(s)"
    )
    for user in data["persons"]:
        out.print(
            f"  #{user['person_id']} {safe(user['name'])} ({safe(user['source'])}) "
            f"{(user['from'] or '?')[:10]} – {(user['to'] or '?')[:10]}"
        )


@phone.command("list")
@case_argument
@json_option
def phone_list(case: Path, as_json: bool) -> None:
    """List every phone number of CASE with its users."""
    with _session(case) as (session, _actor, _opened):
        bring_up_to_date(session)
        rows = list_phones(session)
    if as_json:
        emit(rows)
        return
    table = Table(title=f"{len(rows)} phones", title_justify="left")
    for column in ("number", "type", "carrier", "region", "calls", "persons"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            safe(row["e164"]),
            safe(row["type"] or ""),
            safe(row["carrier"] or ""),
            safe(row["location"] or row["region"] or ""),
            str(row["calls"]),
            safe(", ".join(f"#{u['person_id']} {u['name']}" for u in row["persons"])),
        )
    out.print(table)


# ----------------------------------------------------------------------- evidence


@cli.group()
def evidence() -> None:
    """Evidence about persons, phones and calls: interviews, profiles, documents."""


def _subject(
    session: Session, case: Case, person: str | None, number: str | None, call: str | None
) -> EvidenceSubject:
    return EvidenceSubject(
        person_id=find_person(session, person).id if person else None,
        phone_id=find_phone(session, number, region=case.settings.region).id if number else None,
        call_id=find_call(session, call).id if call else None,
    )


@evidence.command("add")
@case_argument
@click.option("--person", "person_ref", help="The person it is about.")
@click.option("--phone", "number", help="The phone number it is about.")
@click.option("--call", "call_ref", help="The call it is about (id or file name).")
@click.option("--kind", type=click.Choice(EVIDENCE_KINDS), required=True, help="What it is.")
@click.option("--summary", required=True, help="What it shows.")
@click.option("--url", help="Where it is (a web address).")
@click.option(
    "--file",
    "file_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A file to store in the case (kept under its SHA-256).",
)
@click.option("--collected-by", help="Who collected it (default: the operator).")
@click.option("--collected-at", help="When it was collected (YYYY-MM-DD).")
@operator_option
@json_option
def evidence_add(
    case: Path,
    person_ref: str | None,
    number: str | None,
    call_ref: str | None,
    kind: str,
    summary: str,
    url: str | None,
    file_path: Path | None,
    collected_by: str | None,
    collected_at: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Add an evidence item about a person, a phone or a call."""
    with _session(case, operator) as (session, actor, opened):
        subject = _subject(session, opened, person_ref, number, call_ref)
        item = workbench.add_evidence(
            session,
            actor,
            kind=kind,
            summary=summary,
            person_id=subject.person_id,
            call_id=subject.call_id,
            phone_id=subject.phone_id,
            url=url,
            upload=file_path,
            file_name=file_path.name if file_path else None,
            media=opened.media,
            max_bytes=opened.settings.max_file_bytes,
            collected_by=collected_by,
            collected_at=_date(collected_at, "--collected-at"),
        )
        data = item.as_dict()
    if as_json:
        emit(data)
    else:
        out.print(f"Added evidence #{data['id']}")


@evidence.command("list")
@case_argument
@click.option("--person", "person_ref", help="Only evidence about this person.")
@click.option("--phone", "number", help="Only evidence about this phone.")
@click.option("--call", "call_ref", help="Only evidence about this call.")
@json_option
def evidence_list(
    case: Path, person_ref: str | None, number: str | None, call_ref: str | None, as_json: bool
) -> None:
    """List evidence items, all or about one person, phone or call."""
    with _session(case) as (session, _actor, opened):
        if person_ref or number or call_ref:
            subject = _subject(session, opened, person_ref, number, call_ref)
            items = list_evidence(
                session,
                person_ids=[subject.person_id] if subject.person_id else [],
                phone_ids=[subject.phone_id] if subject.phone_id else [],
                call_ids=[subject.call_id] if subject.call_id else [],
            )
        else:
            items = list_evidence(session)
        rows = [evidence_dict(i) for i in items]
    if as_json:
        emit(rows)
        return
    table = Table(title=f"{len(rows)} evidence items", title_justify="left")
    for column in ("id", "about", "kind", "summary", "reference", "collected"):
        table.add_column(column, overflow="fold")
    for row in rows:
        about = (
            f"person #{row['person_id']}"
            if row["person_id"]
            else f"phone #{row['phone_id']}"
            if row["phone_id"]
            else f"call #{row['call_id']}"
        )
        table.add_row(
            str(row["id"]),
            about,
            safe(row["kind"]),
            safe(row["summary"]),
            safe(row["url"] or (row["sha256"] or "")[:16]),
            safe(f"{row['collected_by']} {(row['collected_at'] or '')[:10]}"),
        )
    out.print(table)


# ----------------------------------------------------------------- verify-identity


@cli.command("verify-identity")
@case_argument
@click.argument("subject", metavar="PERSON|CALL:PARTY")
@click.option(
    "--status",
    required=True,
    type=click.Choice(STATUSES),
    help="unverified, partly_verified, verified or disputed.",
)
@click.option("--reason", required=True, help="Why, in words (what the evidence shows).")
@click.option(
    "--evidence",
    "evidence_ids",
    type=int,
    multiple=True,
    help="Id of an evidence item the decision rests on (repeat).",
)
@operator_option
@json_option
def verify_identity(
    case: Path,
    subject: str,
    status: str,
    reason: str,
    evidence_ids: tuple[int, ...],
    operator: str | None,
    as_json: bool,
) -> None:
    """Set the verification status of a person or one call side, citing evidence.

    Every change is kept: `earshot person show` lists the whole history.
    """
    with _session(case, operator) as (session, actor, _opened):
        if ":" in subject:
            target: dict[str, int] = {"party_id": find_party(session, subject).id}
        else:
            target = {"person_id": find_person(session, subject).id}
        data = edits.verify(
            session,
            actor,
            status=status,
            reason=reason,
            evidence_ids=evidence_ids,
            **target,
        ).as_dict()
    if as_json:
        emit(data)
    else:
        out.print(f"{safe(subject)}: {data['status']} (event #{data['id']})")


__all__ = ["evidence", "phone", "verify_identity"]
