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
from rich.table import Table
from sqlalchemy.orm import Session

from .. import workbench
from ..identity import (
    ROLES,
    Actor,
    PersonDetails,
    PersonEdit,
    add_person,
    add_person_phone,
    bring_up_to_date,
    edit_person,
    find_party,
    find_person,
    list_persons,
    person_report,
)
from ..identity.errors import IdentityError
from ..security.roles import Role
from ..store.case import Case
from ._base import case_argument, cli, emit, json_option, out, settings_from_env
from ._terminal import safe

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
        yield session, Actor(name=settings.operator, role=Role.EDITOR), opened


def _date(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise IdentityError(f"{what} {value!r} is not a date; write it as 2023-01-31") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
        data = person_report(session, added).as_dict()
    if as_json:
        emit(data)
    else:
        out.print(f"Added person #{data['id']} {safe(data['name'])}")


def _print_person(data: dict[str, Any]) -> None:
    out.print(
        f"[bold]#{data['id']} {safe(data['name'])}[/]  {safe(data['role'])}  status: "
        f"[bold]{data['status']}[/]" + ("  (protected)" if data["protected"] else "  (public)")
    )
    if data["merged_into"]:
        out.print(f"merged into #{data['merged_into']}")
    for label in ("aliases", "affiliation", "home_region", "notes"):
        value = data[label]
        if value:
            text = ", ".join(value) if isinstance(value, list) else value
            out.print(f"{label.replace('_', ' ')}: {safe(text)}")
    table = Table(title="phones", title_justify="left")
    for column in ("number", "type", "carrier", "region", "source", "from", "to"):
        table.add_column(column)
    for p in data["phones"]:
        table.add_row(
            safe(p["e164"]),
            safe(p["type"] or ""),
            safe(p["carrier"] or ""),
            safe(p["location"] or p["region"] or ""),
            safe(p["source"]),
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
            f"{c['call_id']} {safe(c['file'])}",
            (c["started_at"] or "")[:10],
            safe(c["party"]),
            safe(c["phone"] or ""),
            safe(c["basis"] or ""),
            safe(c["status"]),
            safe(f"{other.get('phone') or '?'} {other.get('person') or ''}".strip()),
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
                out.print(f"  {safe(row)}")


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
        data = person_report(session, find_person(session, person_ref)).as_dict()
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
        data = person_report(session, target).as_dict()
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
        keep = find_person(session, keep_ref)
        other = find_person(session, other_ref)
        record = workbench.merge(session, actor, keep_id=keep.id, other_id=other.id, reason=reason)
        data: dict[str, Any] = {
            "merge_id": record.merge_id,
            "kept_id": record.kept_id,
            "merged_id": record.merged_id,
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
            split = workbench.split(
                session,
                actor,
                person_id=target.id,
                sides=[(p.call_id, p.label) for p in parties],
                new_name=name,
                reason=reason,
            )
            data: dict[str, Any] = {
                "split_id": split.split_id,
                "from_id": split.from_id,
                "new_id": split.new_id,
                "parties": [p.id for p in parties],
            }
            message = f"Moved {len(parties)} call side(s) to new person #{split.new_id}"
        else:
            record = workbench.undo_merge(session, actor, person_id=target.id, merge_id=merge_id)
            data = {
                "merge_id": record.merge_id,
                "kept_id": record.kept_id,
                "merged_id": record.merged_id,
                "restored": record.moved,
            }
            message = f"Undid merge #{record.merge_id}: #{record.merged_id} is separate again"
    if as_json:
        emit(data)
    else:
        out.print(message)


@person.command("list")
@case_argument
@click.option("--all", "include_merged", is_flag=True, help="Include persons merged into others.")
@click.option(
    "--sort",
    type=click.Choice(workbench.PERSON_SORTS),
    default="name",
    help="Order by name, role, calls, sides or status (as the persons page).",
)
@click.option("--desc", is_flag=True, help="Largest (or last) first.")
@json_option
def person_list(case: Path, include_merged: bool, sort: str, desc: bool, as_json: bool) -> None:
    """List the persons of CASE with status, phones, calls and call sides."""
    with _session(case) as (session, actor, _opened):
        order = workbench.persons_overview(
            session, actor, sort=sort, descending=desc, include_merged=include_merged
        )
        by_id = {r["id"]: r for r in list_persons(session, include_merged=include_merged)}
        rows = [by_id[row.id] for row in order]
    if as_json:
        emit(rows)
        return
    table = Table(title=f"{len(rows)} persons", title_justify="left")
    for column in ("id", "name", "aliases", "role", "status", "phones", "calls", "sides"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]) + (f"→{row['merged_into']}" if row["merged_into"] else ""),
            safe(row["name"]),
            safe(", ".join(row["aliases"])),
            safe(row["role"]),
            safe(row["status"]),
            safe(" ".join(row["phones"])),
            str(row["calls"]),
            str(row["call_sides"])
            + "".join(f" {n} {role}" for role, n in row["side_roles"].items()),
        )
    out.print(table)


__all__ = ["operator_option", "person"]
