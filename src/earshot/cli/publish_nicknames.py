"""`earshot nickname`: terms of address that may be nicknames, and editors' decisions."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ..store.case import Case
from ._base import case_argument, cli, emit, json_option, out, settings_from_env
from ._terminal import safe
from .language import _parse_ids, calls_option, operator_option


@cli.group()
def nickname() -> None:
    """Terms of address that may be nicknames («Малой, ты где?»): review before publishing.

    A redacted publication is refused while such a word in it is undecided; decide
    each once for the case with `earshot nickname decide`.
    """


@nickname.command("list")
@case_argument
@calls_option
@json_option
def nickname_list(case: Path, calls_: str | None, as_json: bool) -> None:
    """List the flagged words (with where they were heard) and the decisions taken."""
    from ..publish.nicknames import decisions, find_nickname_candidates

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        found = find_nickname_candidates(session, _parse_ids(calls_))
        decided = decisions(session)
        data = {
            "pending": [c.as_dict() for c in found if c.word not in decided],
            "decisions": [
                {
                    "word": d.surface,
                    "decision": d.decision,
                    "person_id": d.person_id,
                    "decided_by": d.decided_by,
                    "at": d.at.isoformat(),
                }
                for d in decided.values()
            ],
        }
    if as_json:
        emit(data)
        return
    table = Table("word", "call", "segment", "status", title="terms of address")
    for row in data["pending"]:
        table.add_row(safe(row["surface"]), str(row["call"]), str(row["segment"]), "REVIEW")
    for row in data["decisions"]:
        who = f" (person {row['person_id']})" if row["person_id"] else ""
        table.add_row(safe(row["word"]), "", "", f"{row['decision']}{who}")
    out.print(table)


@nickname.command("decide")
@case_argument
@click.argument("word")
@click.option(
    "--nickname",
    "decision",
    flag_value="nickname",
    help="It is a person's nickname: redact it everywhere in the case.",
)
@click.option(
    "--ordinary", "decision", flag_value="ordinary", help="It is an ordinary word: publish it."
)
@click.option("--person", "person_id", type=int, help="Whose nickname it is (a person id).")
@click.option("--note", help="Why (kept with the decision).")
@operator_option
@json_option
def nickname_decide(
    case: Path,
    word: str,
    decision: str | None,
    person_id: int | None,
    note: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Decide whether WORD, used to address someone, is a nickname or an ordinary word."""
    from ..identity.actor import Actor
    from ..publish.nicknames import decide_nickname

    if decision is None:
        raise click.UsageError("say what WORD is: --nickname (with --person ID) or --ordinary")
    settings = settings_from_env(operator)
    with Case.open(case, settings=settings) as opened, opened.session() as session:
        row = decide_nickname(
            session,
            word,
            decision,
            actor=Actor(settings.operator),
            person_id=person_id,
            note=note,
        )
        row_word = row.surface
        data = {
            "word": row.surface,
            "decision": row.decision,
            "person_id": row.person_id,
            "decided_by": row.decided_by,
        }
    if as_json:
        emit(data)
    else:
        out.print(f"{safe(row_word)}: {data['decision']}")
