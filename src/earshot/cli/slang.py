"""Slang commands: unknown jargon in a case, and the case lexicon (add/list/remove).

earshot slang candidates CASE [--json]
earshot slang add CASE TERM --form ... --gloss ... --category ...
earshot slang list CASE [--json]
earshot slang remove CASE TERM
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ..errors import ConfigError
from ..language.lexicon import CATEGORIES
from ..store.case import Case
from ._base import case_argument, cli, emit, json_option, out, settings_from_env


@cli.group()
def slang() -> None:
    """Jargon the lexicon does not know yet, and this case's own lexicon."""


@slang.command("candidates")
@case_argument
@click.option(
    "--min-count",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Fewest occurrences of a word or abbreviation (phrases need one more).",
)
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Most shown."
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["unknown_word", "abbreviation", "phrase"]),
    help="Only these kinds (repeat); default: all.",
)
@json_option
def candidates(
    case: Path, min_count: int, limit: int, kinds: tuple[str, ...], as_json: bool
) -> None:
    """Words, abbreviations and phrases that look like jargon the lexicon does not know."""
    from ..language.candidates import KINDS, find_candidates

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        found = find_candidates(session, min_count=min_count, limit=limit, kinds=kinds or KINDS)
    if as_json:
        emit({"candidates": [c.as_dict() for c in found]})
        return
    if not found:
        out.print("No candidates: every frequent unusual word is in a lexicon already.")
        return
    table = Table(title="Jargon candidates (add one with `earshot slang add`)")
    for column in ("kind", "candidate", "count", "segments", "example"):
        table.add_column(column, justify="right" if column in ("count", "segments") else "left")
    for c in found:
        example = c.examples[0] if c.examples else None
        table.add_row(
            c.kind,
            escape(c.text),
            str(c.count),
            str(c.segments),
            escape(f"#{example.segment_id}: {example.text}") if example else "",
        )
    out.print(table)


@slang.command("add")
@case_argument
@click.argument("term")
@click.option("--form", "forms", multiple=True, required=True, help="A form (repeat).")
@click.option("--gloss", required=True, help="What it means, in English.")
@click.option(
    "--category", required=True, type=click.Choice(sorted(CATEGORIES)), help="Lexicon category."
)
@click.option("--notes", default="", help="Usage notes.")
@click.option("--slur", is_flag=True, help="Flag it as a slur.")
@click.option("--coarse", is_flag=True, help="Mark it as coarse / obscene.")
@click.option("--operator", metavar="NAME", help="Who adds it (default: settings / login).")
@json_option
def add(
    case: Path,
    term: str,
    forms: tuple[str, ...],
    gloss: str,
    category: str,
    notes: str,
    slur: bool,
    coarse: bool,
    operator: str | None,
    as_json: bool,
) -> None:
    """Add (or replace) TERM in this case's lexicon and mark it in every segment at once."""
    from ..language.case_lexicon import add_case_entry

    settings = settings_from_env(operator)
    with Case.open(case, settings=settings) as opened:
        entry = add_case_entry(
            opened,
            term=term,
            forms=forms,
            gloss=gloss,
            category=category,
            notes=notes,
            slur=slur,
            coarse=coarse,
            actor=settings.operator,
        )
    if as_json:
        emit(entry.as_dict())
        return
    out.print(
        f"Added '{escape(entry.term)}' ({escape(entry.gloss)}): {entry.hits} hits in this case"
    )


@slang.command("list")
@case_argument
@json_option
def list_(case: Path, as_json: bool) -> None:
    """This case's lexicon: each entry, who added it, and its hits."""
    from ..language.case_lexicon import list_case_entries

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        entries = list_case_entries(session)
    if as_json:
        emit({"entries": [e.as_dict() for e in entries]})
        return
    table = Table(title="Case lexicon")
    for column in ("term", "forms", "gloss", "category", "added by", "hits"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            escape(e.term),
            escape(", ".join(e.forms)),
            escape(e.gloss),
            e.category,
            escape(e.actor or ""),
            str(e.hits),
        )
    out.print(table)


@slang.command("remove")
@case_argument
@click.argument("term")
@json_option
def remove(case: Path, term: str, as_json: bool) -> None:
    """Remove TERM from this case's lexicon (and its hits)."""
    from ..language.case_lexicon import remove_case_entry

    if not term.strip():
        raise ConfigError("give the term id to remove; see `earshot slang list`")
    with Case.open(case, settings=settings_from_env()) as opened:
        remove_case_entry(opened, term)
    if as_json:
        emit({"removed": term})
        return
    out.print(f"Removed '{escape(term)}' from the case lexicon")
