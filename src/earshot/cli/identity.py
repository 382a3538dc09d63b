"""Identity commands: person, phone, evidence, verify-identity.

The CLI acts as an editor under the operator's name (``--operator`` or
EARSHOT_OPERATOR); the library refuses changes from any other role, so the web app
can pass its users' real roles through the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from ..identity import (
    BASES,
    EVIDENCE_KINDS,
    ROLES,
    STATUSES,
    Actor,
    EvidenceSubject,
    PersonDetails,
    PersonEdit,
    add_evidence,
    add_person,
    add_person_phone,
    bring_up_to_date,
    decide_proposal,
    edit_person,
    evidence_dict,
    find_call,
    find_party,
    find_person,
    find_phone,
    link_party,
    list_evidence,
    list_persons,
    list_phones,
    merge_persons,
    pending_proposals,
    person_report,
    phone_dict,
    propose_self_identifications,
    set_verification,
    split_calls,
    store_evidence_file,
    unmerge,
)
from ..identity.errors import IdentityError
from ..identity.verification import event_dict
from ..store.case import Case
from ..store.identity_models import PartyPersonLink
from ..store.models import Party, Person
from ._base import case_argument, cli, emit, json_option, out, progress_bar, settings_from_env

F = TypeVar("F", bound=Callable[..., Any])


def operator_option(func: F) -> F:
    return click.option(
        "--operator",
        metavar="NAME",
        help="Who is acting (default: EARSHOT_OPERATOR or the login name); recorded.",
    )(func)


@contextmanager
def _session(case: Path, operator: str | None = None) -> Iterator[tuple[Session, Actor, Case]]:
    settings = settings_from_env()
    if operator:  # the option wins over EARSHOT_OPERATOR
        settings = settings.merged({"operator": operator}, "--operator")
    with Case.open(case, settings=settings) as opened, opened.session() as session:
        yield session, Actor(name=settings.operator, role="editor"), opened


def _date(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise IdentityError(f"{what} {value!r} is not a date; write it as 2023-01-31") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _side(party: Party) -> str:
    return f"{party.call_id}:{party.label}"


# ------------------------------------------------------------------------- person


@cli.group()
def person() -> None:
    """Persons: who speaks in the calls, their phones, attributions and merges."""


@person.command("add")
@case_argument
@click.argument("name")
@click.option(
    "--alias", "aliases", multiple=True, help="An alias, nickname or diminutive (repeat)."
)
@click.option("--role", type=click.Choice(ROLES), default="other", help="soldier, relative, other.")
@click.option("--affiliation", help='Unit or status, e.g. "mobilized September 2022".')
@click.option("--home-region", help="Where the person is from.")
@click.option("--notes", help="Free-text notes.")
@click.option("--public", is_flag=True, help="A public figure: names may be published.")
@click.option("--phone", "phones", multiple=True, help="A number the person uses (repeat).")
@operator_option
@json_option
def person_add(
    case: Path,
    name: str,
    aliases: tuple[str, ...],
    role: str,
    affiliation: str | None,
    home_region: str | None,
    notes: str | None,
    public: bool,
    phones: tuple[str, ...],
    operator: str | None,
    as_json: bool,
) -> None:
    """Add a person NAME to CASE (protected unless --public)."""
    with _session(case, operator) as (session, actor, opened):
        added = add_person(
            session,
            actor,
            PersonDetails(name, aliases, role, affiliation, home_region, notes, not public),
        )
        for number in phones:
            add_person_phone(session, actor, added, number, region=opened.settings.region)
        data = person_report(session, added)
    if as_json:
        emit(data)
    else:
        out.print(f"Added person #{data['id']} {escape(data['name'])}")


def _print_person(data: dict[str, Any]) -> None:
    out.print(
        f"[bold]#{data['id']} {escape(data['name'])}[/]  {data['role']}  status: "
        f"[bold]{data['status']}[/]" + ("  (protected)" if data["protected"] else "  (public)")
    )
    if data["merged_into"]:
        out.print(f"merged into #{data['merged_into']}")
    for label in ("aliases", "affiliation", "home_region", "notes"):
        value = data[label]
        if value:
            text = ", ".join(value) if isinstance(value, list) else value
            out.print(f"{label.replace('_', ' ')}: {escape(text)}")
    table = Table(title="phones", title_justify="left")
    for column in ("number", "type", "carrier", "region", "source", "from", "to"):
        table.add_column(column)
    for p in data["phones"]:
        table.add_row(
            p["e164"],
            p["type"] or "",
            escape(p["carrier"] or ""),
            escape(p["location"] or p["region"] or ""),
            p["source"],
            (p["from"] or "")[:10],
            (p["to"] or "")[:10],
        )
    out.print(table)
    table = Table(title="calls", title_justify="left")
    for column in ("call", "date", "side", "phone", "basis", "status", "other side"):
        table.add_column(column, overflow="fold")
    for c in data["calls"]:
        other = c["other"] or {}
        table.add_row(
            f"{c['call_id']} {escape(c['file'])}",
            (c["started_at"] or "")[:10],
            c["party"],
            c["phone"] or "",
            c["basis"] or "",
            c["status"],
            escape(f"{other.get('phone') or '?'} {other.get('person') or ''}".strip()),
        )
    out.print(table)
    for title, rows in (
        (
            "proposals",
            [
                f"#{p['link_id']} {p['call_id']}:{p['party']} {p['basis']} {p['note'] or ''}"
                for p in data["proposals"]
            ],
        ),
        (
            "voice matches",
            [
                f"{m['call_a']}:{m['party_a']} ~ {m['call_b']}:{m['party_b']} "
                f"{m['status']} {m['score'] or ''}"
                for m in data["voice_matches"]
            ],
        ),
        ("evidence", [f"#{e['id']} {e['kind']}: {e['summary']}" for e in data["evidence"]]),
        (
            "status history",
            [
                f"{e['at'][:16]} {e['status']} by {e['actor']}: {e['reason']} "
                f"(evidence {e['evidence_ids']})"
                for e in data["status_history"]
            ],
        ),
    ):
        if rows:
            out.print(f"[bold]{title}[/]")
            for row in rows:
                out.print(f"  {escape(row)}")


@person.command("show")
@case_argument
@click.argument("person_ref", metavar="PERSON")
@json_option
def person_show(case: Path, person_ref: str, as_json: bool) -> None:
    """Everything known about PERSON (id or name): calls with dates, the other side and
    the basis of each attribution, phones, voice matches, evidence, status history.

    Attributions from call records and confirmed voice matches are brought up to date
    first.
    """
    with _session(case) as (session, _actor, _opened):
        bring_up_to_date(session)
        data = person_report(session, find_person(session, person_ref))
    if as_json:
        emit(data)
    else:
        _print_person(data)


@person.command("edit")
@case_argument
@click.argument("person_ref", metavar="PERSON")
@click.option("--name", help="A new name.")
@click.option("--role", type=click.Choice(ROLES), help="soldier, relative, other.")
@click.option("--affiliation", help="Unit or status; empty text clears it.")
@click.option("--home-region", help="Where the person is from; empty text clears it.")
@click.option("--notes", help="Free-text notes; empty text clears them.")
@click.option("--alias", "aliases", multiple=True, help="Add an alias or nickname (repeat).")
@click.option("--remove-alias", "remove", multiple=True, help="Remove an alias (repeat).")
@click.option("--protected/--public", default=None, help="Whether names may be published.")
@click.option("--phone", "phones", multiple=True, help="Add a number the person uses (repeat).")
@click.option("--phone-from", help="First date the --phone numbers were used (YYYY-MM-DD).")
@click.option("--phone-to", help="Last date the --phone numbers were used (YYYY-MM-DD).")
@click.option("--phone-note", help="Where the --phone numbers are known from.")
@operator_option
@json_option
def person_edit(
    case: Path,
    person_ref: str,
    name: str | None,
    role: str | None,
    affiliation: str | None,
    home_region: str | None,
    notes: str | None,
    aliases: tuple[str, ...],
    remove: tuple[str, ...],
    protected: bool | None,
    phones: tuple[str, ...],
    phone_from: str | None,
    phone_to: str | None,
    phone_note: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Change what is known about PERSON; every change goes to the custody log."""
    with _session(case, operator) as (session, actor, opened):
        target = find_person(session, person_ref)
        edit_person(
            session,
            actor,
            target,
            PersonEdit(name, role, affiliation, home_region, notes, protected, aliases, remove),
        )
        for number in phones:
            add_person_phone(
                session,
                actor,
                target,
                number,
                region=opened.settings.region,
                period_from=_date(phone_from, "--phone-from"),
                period_to=_date(phone_to, "--phone-to"),
                note=phone_note,
            )
        data = person_report(session, target)
    if as_json:
        emit(data)
    else:
        _print_person(data)


@person.command("merge")
@case_argument
@click.argument("keep_ref", metavar="PERSON")
@click.argument("other_ref", metavar="OTHER")
@click.option("--reason", help="Why they are one person (cite evidence).")
@operator_option
@json_option
def person_merge(
    case: Path,
    keep_ref: str,
    other_ref: str,
    reason: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Merge OTHER into PERSON: all links move, OTHER is kept as a pointer (never deleted)."""
    with _session(case, operator) as (session, actor, _opened):
        bring_up_to_date(session)
        keep = find_person(session, keep_ref)
        other = find_person(session, other_ref)
        record = merge_persons(session, actor, keep, other, reason=reason)
        data: dict[str, Any] = {
            "merge_id": record.id,
            "kept_id": keep.id,
            "merged_id": other.id,
            "moved": record.moved,
        }
    if as_json:
        emit(data)
    else:
        out.print(
            f"Merged #{data['merged_id']} into #{data['kept_id']} (merge #{data['merge_id']}, "
            f"{len(data['moved']['party_links'])} call side link(s) moved)"
        )


@person.command("split")
@case_argument
@click.argument("person_ref", metavar="PERSON")
@click.option("--merge", "merge_id", type=int, help="Undo this merge (default: the latest).")
@click.option(
    "--calls",
    "sides",
    multiple=True,
    metavar="CALL:PARTY",
    help="Move these call sides to a new person instead (repeat).",
)
@click.option("--name", help="Name of the new person (with --calls).")
@click.option("--reason", help="Why (with --calls).")
@operator_option
@json_option
def person_split(
    case: Path,
    person_ref: str,
    merge_id: int | None,
    sides: tuple[str, ...],
    name: str | None,
    reason: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Undo PERSON's latest merge exactly, or with --calls move some call sides to a new person."""
    with _session(case, operator) as (session, actor, _opened):
        target = find_person(session, person_ref)
        if sides:
            if not name:
                raise IdentityError("give the new person's name with --name")
            parties = [find_party(session, side) for side in sides]
            split = split_calls(session, actor, target, parties, new_name=name, reason=reason)
            data: dict[str, Any] = {
                "split_id": split.id,
                "from_id": split.from_id,
                "new_id": split.new_id,
                "parties": split.moved["parties"],
            }
            message = f"Moved {len(parties)} call side(s) to new person #{split.new_id}"
        else:
            record = unmerge(session, actor, target, merge_id=merge_id)
            data = {
                "merge_id": record.id,
                "kept_id": record.kept_id,
                "merged_id": record.merged_id,
                "restored": record.moved,
            }
            message = f"Undid merge #{record.id}: #{record.merged_id} is separate again"
    if as_json:
        emit(data)
    else:
        out.print(message)


@person.command("list")
@case_argument
@click.option("--all", "include_merged", is_flag=True, help="Include persons merged into others.")
@json_option
def person_list(case: Path, include_merged: bool, as_json: bool) -> None:
    """List the persons of CASE with status, phones and number of call sides."""
    with _session(case) as (session, _actor, _opened):
        bring_up_to_date(session)
        rows = list_persons(session, include_merged=include_merged)
    if as_json:
        emit(rows)
        return
    table = Table(title=f"{len(rows)} persons", title_justify="left")
    for column in ("id", "name", "aliases", "role", "status", "phones", "sides"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]) + (f"→{row['merged_into']}" if row["merged_into"] else ""),
            escape(row["name"]),
            escape(", ".join(row["aliases"])),
            row["role"],
            row["status"],
            " ".join(row["phones"]),
            str(row["call_sides"]),
        )
    out.print(table)


@person.command("link")
@case_argument
@click.argument("side", metavar="CALL:PARTY")
@click.argument("person_ref", metavar="PERSON")
@click.option(
    "--basis",
    type=click.Choice(BASES),
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
        link = link_party(session, actor, party, target, basis=basis, note=note)
        data = {
            "link_id": link.id,
            "call_id": party.call_id,
            "party": party.label,
            "person_id": target.id,
            "basis": basis,
        }
    if as_json:
        emit(data)
    else:
        out.print(f"{side} is now #{target.id} (basis {basis}, link #{data['link_id']})")


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
            escape(f"#{row['person_id']} {row['person']}"),
            row["basis"],
            f"{row['score']:.2f}" if row["score"] is not None else "",
            escape(row["note"] or ""),
        )
    out.print(table)


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
        f"[bold]{data['e164']}[/] {data['type']} {escape(data['carrier'] or '')} "
        f"{escape(data['location'] or data['region'] or '')}; {data['calls']} call(s)"
    )
    for user in data["persons"]:
        out.print(
            f"  #{user['person_id']} {escape(user['name'])} ({user['source']}) "
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
            row["e164"],
            row["type"] or "",
            escape(row["carrier"] or ""),
            escape(row["location"] or row["region"] or ""),
            str(row["calls"]),
            escape(", ".join(f"#{u['person_id']} {u['name']}" for u in row["persons"])),
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
        stored = (
            store_evidence_file(opened.media, file_path, max_bytes=opened.settings.max_file_bytes)
            if file_path
            else None
        )
        item = add_evidence(
            session,
            actor,
            subject,
            kind=kind,
            summary=summary,
            url=url,
            file=stored,
            media=opened.media,
            collected_by=collected_by,
            collected_at=_date(collected_at, "--collected-at"),
        )
        data = evidence_dict(item)
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
            row["kind"],
            escape(row["summary"]),
            escape(row["url"] or (row["sha256"] or "")[:16]),
            escape(f"{row['collected_by']} {(row['collected_at'] or '')[:10]}"),
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
            party = find_party(session, subject)
            event = set_verification(
                session,
                actor,
                status=status,
                reason=reason,
                evidence_ids=list(evidence_ids),
                party_id=party.id,
            )
        else:
            target = find_person(session, subject)
            event = set_verification(
                session,
                actor,
                status=status,
                reason=reason,
                evidence_ids=list(evidence_ids),
                person_id=target.id,
            )
        data = event_dict(event)
    if as_json:
        emit(data)
    else:
        out.print(f"{escape(subject)}: {data['status']} (event #{data['id']})")


__all__ = ["evidence", "person", "phone", "verify_identity"]
