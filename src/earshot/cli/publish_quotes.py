"""Publication commands for quotes: earshot quotes [list|add|show|export]."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..publish.policy import load_policy
from ..store.case import Case
from ._base import case_argument, cli, emit, json_option, out, settings_from_env
from ._publish_common import (
    allow_proposed_option,
    identifying_option,
    output_option,
    policy_option,
    publication_kind,
    redact_option,
    run_publication,
)
from ._terminal import safe
from .language import _parse_ids, calls_option, operator_option


class _ListByDefault(click.Group):
    """`earshot quotes CASE` is `earshot quotes list CASE`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@cli.group("quotes", cls=_ListByDefault)
def quotes_group() -> None:
    """Quotes that keep their provenance: call, seconds, original hash, translator, approver.

    `earshot quotes CASE` lists them; `add` makes one from a span of segments,
    `show` shows one with its diff against the verbatim translation, `export`
    writes the (redacted) quote sheet.
    """


def _quote_line(q: dict[str, Any]) -> str:
    flags = [f for f, on in (("unapproved", q["unapproved"]), ("rewritten", q["rewritten"]),
                             ("stale", q["stale"])) if on]  # fmt: skip
    marks = f" [red]{', '.join(flags)}[/]" if flags else ""
    return (
        f"#{q['id']} call {q['call_id']} {q['start_hms']}-{q['end_hms']} "
        f"segments {q['segments']}{marks}: {safe(q['text'])}"
    )


@quotes_group.command("list")
@case_argument
@calls_option
@json_option
def quotes_list(case: Path, calls_: str | None, as_json: bool) -> None:
    """List the case's quotes (identifying: for the team, not for publication)."""
    from ..publish.quotes import list_quotes, quote_dict

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        rows = [quote_dict(session, q) for q in list_quotes(session, _parse_ids(calls_))]
    if as_json:
        emit(rows)
        return
    for row in rows:
        out.print(_quote_line(row))
    if not rows:
        out.print("No quotes yet; add one with `earshot quotes add`")


def _segment_range(value: str) -> tuple[int, int]:
    first, sep, last = value.replace(" ", "").partition("-")
    try:
        return (int(first), int(last)) if sep else (int(first), int(first))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give FIRST-LAST, e.g. 12-15") from None


@quotes_group.command("add")
@case_argument
@click.option("--call", "call_id", type=int, required=True, help="Call id the quote is from.")
@click.option(
    "--segments",
    required=True,
    metavar="FIRST-LAST",
    help="Span of segments (positions in the call's transcript, from 0), e.g. 12-15.",
)
@click.option(
    "--text",
    required=True,
    help="The edited English: the verbatim translation, cut (cuts shown by …).",
)
@click.option(
    "--allow-rewrite",
    is_flag=True,
    help="Keep a text that adds words or hides cuts, marked as rewritten.",
)
@click.option(
    "--allow-unapproved",
    is_flag=True,
    help="Quote a translation an editor has not approved, marked as unapproved.",
)
@operator_option
@json_option
def quotes_add(
    case: Path,
    call_id: int,
    segments: str,
    text: str,
    allow_rewrite: bool,
    allow_unapproved: bool,
    operator: str | None,
    as_json: bool,
) -> None:
    """Make a quote from a span of segments, keeping the diff against the verbatim."""
    from .. import edits
    from ..security.roles import Actor, Role

    first, last = _segment_range(segments)
    settings = settings_from_env(operator)
    with Case.open(case, settings=settings) as opened, opened.session() as session:
        data = edits.create_quote(
            session,
            Actor(settings.operator, Role.EDITOR),
            call_id=call_id,
            first=first,
            last=last,
            text=text,
            allow_rewrite=allow_rewrite,
            allow_unapproved=allow_unapproved,
        )
    if as_json:
        emit(data)
        return
    out.print("Added " + _quote_line(data))


@quotes_group.command("show")
@case_argument
@click.argument("quote_id", type=int, metavar="ID")
@json_option
def quotes_show(case: Path, quote_id: int, as_json: bool) -> None:
    """Show a quote, its provenance and its diff against the verbatim translation."""
    from ..publish.quotes import get_quote, quote_dict

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        data = quote_dict(session, get_quote(session, quote_id))
    if as_json:
        emit(data)
        return
    out.print(_quote_line(data))
    out.print(f"verbatim: {safe(data['verbatim'])}")
    out.print(
        f"original {data['original_sha256']}; translated by {safe(str(data['translator']))}; "
        f"approved by {safe(str(data['approver'] or 'nobody (unapproved)'))}"
    )
    for op in data["diff"]:
        if op["op"] != "equal":
            out.print(f"  {op['op']}: {safe(op['verbatim'])!r} -> {safe(op['edited'])!r}")


@quotes_group.command("export")
@case_argument
@click.option(
    "--format",
    "format_",
    type=click.Choice(["md", "html", "pdf", "docx"]),
    default="md",
    show_default=True,
    help="Quote sheet format.",
)
@redact_option(
    "Redact the English and name speakers by pseudonym; the leak guard checks the sheet."
)
@identifying_option("Confirm a sheet WITHOUT redaction (editors only).")
@click.option("--quotes", "quote_ids", metavar="IDS", help="Only these quote ids (e.g. 1,3-5).")
@output_option()
@policy_option
@allow_proposed_option
@operator_option
@json_option
def quotes_export(
    case: Path,
    format_: str,
    redact: bool,
    identifying: bool,
    quote_ids: str | None,
    output: Path,
    policy: Path | None,
    allow_proposed: bool,
    operator: str | None,
    as_json: bool,
) -> None:
    """Write the quote sheet: each quote with call, timestamps, hash, translator, approver, diff."""
    from ..publish.quote_sheet import QuoteSheetOptions, export_quote_sheet

    settings = settings_from_env(operator)
    options = QuoteSheetOptions(
        fmt=format_,
        redact=redact,
        quote_ids=_parse_ids(quote_ids),
        policy=load_policy(policy) if policy else None,
        operator=settings.operator,
        identifying=identifying,
        allow_proposed=allow_proposed,
    )
    data = run_publication(
        case,
        settings,
        "quote sheet",
        format_,
        lambda opened: export_quote_sheet(opened, output, options),
    )
    if as_json:
        emit(data)
        return
    kind = publication_kind(redact)
    out.print(
        f"Wrote a {kind} quote sheet of {len(data['quotes'])} quote(s) to {safe(str(output))}"
    )
