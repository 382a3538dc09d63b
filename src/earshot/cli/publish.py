"""Publication commands: export (redacted or identifying), pseudonym."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from ..publish.formats import FORMATS
from ..publish.policy import load_policy
from ..store.case import Case
from ._base import case_argument, cli, emit, err, json_option, out, progress_bar, settings_from_env
from .language import _parse_ids, calls_option, operator_option

policy_option = click.option(
    "--policy",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Redaction policy YAML (default: the shipped earshot/publish/data/redaction_policy.yaml).",
)


# The language layer's `export` (full JSON only) is replaced by this one, which adds
# --redact, the leak guard and every publication format.
@cli.command("export")
@case_argument
@click.option(
    "--format",
    "format_",
    type=click.Choice(sorted(FORMATS)),
    default="json",
    show_default=True,
    help="Export format: json, md, html, pdf, docx, vtt, srt, or ftm (FollowTheMoney for Aleph).",
)
@click.option(
    "--redact/--no-redact",
    default=True,
    show_default=True,
    help="Replace names by pseudonyms and withhold phones, units, addresses, dates of "
    "birth and home towns; the leak guard refuses the export if anything survives.",
)
@click.option(
    "--identifying",
    is_flag=True,
    help="Confirm an export WITHOUT redaction (it identifies people; editors only).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write.",
)
@calls_option
@policy_option
@operator_option
@json_option
def export_command(
    case: Path,
    format_: str,
    redact: bool,
    identifying: bool,
    output: Path,
    calls_: str | None,
    policy: Path | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Export calls, transcripts, translations and analysis (redacted by default).

    A redacted export replaces every name by the person's pseudonym and withholds
    phone numbers, unit numbers, addresses, dates of birth and home towns; it is
    scanned for every known name and phone before it is written and refused if
    anything survives. Without redaction the export identifies people: it needs
    --identifying and says so on its first line.
    """
    from ..publish.export import ExportOptions, export_case

    settings = settings_from_env(operator)
    options = ExportOptions(
        fmt=format_,
        redact=redact,
        call_ids=_parse_ids(calls_),
        policy=load_policy(policy) if policy else None,
        operator=settings.operator,
        identifying=identifying,
    )
    with Case.open(case, settings=settings) as opened, progress_bar("export") as bar:
        task = bar.add_task("export", total=None, current=format_)
        result = export_case(opened, output, options)
        bar.update(task, total=1, completed=1)
    data = result.as_dict()
    if as_json:
        emit(data)
        return
    kind = "redacted" if result.redacted else "IDENTIFYING"
    out.print(f"Wrote a {kind} {format_} export of {result.calls} call(s) to {escape(str(output))}")
    if result.redacted:
        withheld = ", ".join(f"{k} {v}" for k, v in data["withheld"].items()) or "nothing"
        out.print(f"Withheld: {withheld}")
    else:
        err.print("[yellow]warning:[/] this export identifies people; it is not redacted")


@cli.group()
def pseudonym() -> None:
    """Stable published names of the case's persons ("Soldier 1", or an editorial one)."""


@pseudonym.command("list")
@case_argument
@operator_option
@json_option
def pseudonym_list(case: Path, operator: str | None, as_json: bool) -> None:
    """List every person's pseudonym (assigning defaults to persons without one)."""
    from ..publish.pseudonyms import assign_pseudonyms
    from ..store.publish_models import Pseudonym

    settings = settings_from_env(operator)
    with Case.open(case, settings=settings) as opened, opened.session() as session:
        assign_pseudonyms(session, operator=settings.operator)
        rows: list[dict[str, str | int]] = [
            {"person_id": p.person_id, "pseudonym": p.pseudonym, "kind": p.kind, "set_by": p.set_by}
            for p in session.query(Pseudonym).order_by(Pseudonym.person_id)
        ]
    if as_json:
        emit(rows)
        return
    table = Table("person", "pseudonym", "kind", "set by")
    for row in rows:
        table.add_row(
            str(row["person_id"]),
            escape(str(row["pseudonym"])),
            str(row["kind"]),
            escape(str(row["set_by"])),
        )
    out.print(table)


@pseudonym.command("set")
@case_argument
@click.argument("person_id", type=int)
@click.argument("name")
@operator_option
@json_option
def pseudonym_set(
    case: Path, person_id: int, name: str, operator: str | None, as_json: bool
) -> None:
    """Give a person an editorial pseudonym (e.g. "THE PROFESSOR"), used in every export."""
    from ..publish.pseudonyms import set_pseudonym

    settings = settings_from_env(operator)
    with Case.open(case, settings=settings) as opened, opened.session() as session:
        row = set_pseudonym(session, person_id, name, operator=settings.operator)
        data = {"person_id": row.person_id, "pseudonym": row.pseudonym, "kind": row.kind}
        published = row.pseudonym
    if as_json:
        emit(data)
    else:
        out.print(f"Person {person_id} is now published as {escape(published)}")


@cli.command("clip")
@case_argument
@click.argument("call_id", type=int, metavar="CALL")
@click.option(
    "--start", type=float, required=True, help="Start of the clip, seconds into the call."
)
@click.option("--end", type=float, required=True, help="End of the clip, seconds into the call.")
@click.option(
    "--redact/--no-redact",
    default=True,
    show_default=True,
    help="Cover every redacted word (names, phones, units, addresses, dates of birth, "
    "home towns) found by the redactor in the call's transcript.",
)
@click.option(
    "--identifying",
    is_flag=True,
    help="Confirm a clip WITHOUT redaction (it identifies people; editors only).",
)
@click.option(
    "--mode",
    type=click.Choice(["bleep", "silence"]),
    default="bleep",
    show_default=True,
    help="Cover redacted words with a 1 kHz tone at -12 dBFS, or with silence.",
)
@click.option(
    "--disguise",
    is_flag=True,
    help="Disguise the voices: shift pitch and formants (WORLD vocoder). Not anonymisation.",
)
@click.option(
    "--pitch",
    type=float,
    default=-4.0,
    show_default=True,
    help="With --disguise: pitch shift in semitones (-12 to 12).",
)
@click.option(
    "--formant",
    type=float,
    default=1.12,
    show_default=True,
    help="With --disguise: formant (spectral envelope) scale factor (0.7 to 1.4).",
)
@click.option(
    "--stereo", is_flag=True, help="Keep a stereo call's two channels (default: mix to mono)."
)
@click.option(
    "--margin",
    type=float,
    default=0.05,
    show_default=True,
    help="Seconds covered on each side of a redacted word or segment.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Audio file to write: .wav, .flac, .mp3 or .ogg (the format follows the suffix); "
    "the provenance goes beside it as OUTPUT.json.",
)
@policy_option
@operator_option
@json_option
def clip_command(
    case: Path,
    call_id: int,
    start: float,
    end: float,
    redact: bool,
    identifying: bool,
    mode: str,
    disguise: bool,
    pitch: float,
    formant: float,
    stereo: bool,
    margin: float,
    output: Path,
    policy: Path | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Cut a stretch of a call for publication, with identifying words bleeped or silenced.

    The redacted words are located with the transcript's word timestamps, or the
    whole segment is covered when there are none; what stays audible is checked by
    the leak guard. A provenance sidecar (OUTPUT.json) records the call, the hashes
    of the original and working copies, the window, the covered intervals with
    their categories, the disguise, the operator and the time.
    """
    from ..publish.clip import ClipOptions, clip_call
    from ..publish.clip_audio import Disguise

    settings = settings_from_env(operator)
    options = ClipOptions(
        start=start,
        end=end,
        redact=redact,
        mode=mode,
        disguise=Disguise(pitch, formant) if disguise else None,
        stereo=stereo,
        margin=margin,
        policy=load_policy(policy) if policy else None,
        operator=settings.operator,
        identifying=identifying,
    )
    with Case.open(case, settings=settings) as opened, progress_bar("clip") as bar:
        task = bar.add_task("clip", total=None, current=f"call {call_id}")
        result = clip_call(opened, call_id, output, options)
        bar.update(task, total=1, completed=1)
    data = result.as_dict()
    if as_json:
        emit(data)
        return
    kind = "redacted" if redact else "IDENTIFYING"
    out.print(
        f"Wrote a {kind} clip of call {call_id} ({data['start']}-{data['end']} s) to "
        f"{escape(str(output))}; provenance in {escape(str(result.sidecar))}"
    )
    if redact:
        out.print(f"Covered {len(data['redactions'])} interval(s)")
    else:
        err.print("[yellow]warning:[/] this clip identifies people; it is not redacted")


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
        f"segments {q['segments']}{marks}: {escape(q['text'])}"
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
    from ..publish.quotes import create_quote, quote_dict

    first, last = _segment_range(segments)
    settings = settings_from_env(operator)
    with Case.open(case, settings=settings) as opened, opened.session() as session:
        quote = create_quote(
            session,
            call_id,
            first,
            last,
            text,
            actor=settings.operator,
            allow_rewrite=allow_rewrite,
            allow_unapproved=allow_unapproved,
        )
        data = quote_dict(session, quote)
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
    out.print(f"verbatim: {escape(data['verbatim'])}")
    out.print(
        f"original {data['original_sha256']}; translated by {escape(str(data['translator']))}; "
        f"approved by {escape(str(data['approver'] or 'nobody (unapproved)'))}"
    )
    for op in data["diff"]:
        if op["op"] != "equal":
            out.print(f"  {op['op']}: {escape(op['verbatim'])!r} -> {escape(op['edited'])!r}")


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
@click.option(
    "--redact/--no-redact",
    default=True,
    show_default=True,
    help="Redact the English and name speakers by pseudonym; the leak guard checks the sheet.",
)
@click.option(
    "--identifying", is_flag=True, help="Confirm a sheet WITHOUT redaction (editors only)."
)
@click.option("--quotes", "quote_ids", metavar="IDS", help="Only these quote ids (e.g. 1,3-5).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write.",
)
@policy_option
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
    )
    with Case.open(case, settings=settings) as opened, progress_bar("quote sheet") as bar:
        task = bar.add_task("quote sheet", total=None, current=format_)
        data = export_quote_sheet(opened, output, options)
        bar.update(task, total=1, completed=1)
    if as_json:
        emit(data)
        return
    kind = "redacted" if redact else "IDENTIFYING"
    out.print(
        f"Wrote a {kind} quote sheet of {len(data['quotes'])} quote(s) to {escape(str(output))}"
    )


@cli.command("dossier")
@case_argument
@click.option(
    "--format",
    "format_",
    type=click.Choice(["html", "pdf", "docx"]),
    default="html",
    show_default=True,
    help="Dossier format (PDF is typeset from the HTML by WeasyPrint).",
)
@click.option(
    "--by",
    type=click.Choice(["day", "week", "month"]),
    default="month",
    show_default=True,
    help="Period of the theme trend charts.",
)
@click.option(
    "--redact/--no-redact",
    default=True,
    show_default=True,
    help="Name people by pseudonym and redact quotes; the leak guard checks the dossier.",
)
@click.option(
    "--identifying", is_flag=True, help="Confirm a dossier WITHOUT redaction (editors only)."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write.",
)
@policy_option
@operator_option
@json_option
def dossier_command(
    case: Path,
    format_: str,
    by: str,
    redact: bool,
    identifying: bool,
    output: Path,
    policy: Path | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Write the takeaways dossier: a section per person and per theme (with trend chart).

    Each person appears under the pseudonym with role, calls, how the call sides
    were attributed, the verification status with the kinds of evidence cited, and
    key quotes with timestamps; each theme with its share of calls per period and
    95% Wilson intervals.
    """
    from ..publish.dossier import DossierOptions, export_dossier

    settings = settings_from_env(operator)
    options = DossierOptions(
        fmt=format_,
        redact=redact,
        by=by,
        policy=load_policy(policy) if policy else None,
        operator=settings.operator,
        identifying=identifying,
    )
    with Case.open(case, settings=settings) as opened, progress_bar("dossier") as bar:
        task = bar.add_task("dossier", total=None, current=format_)
        data = export_dossier(opened, output, options)
        bar.update(task, total=1, completed=1)
    if as_json:
        emit(data)
        return
    kind = "redacted" if redact else "IDENTIFYING"
    out.print(
        f"Wrote a {kind} {format_} dossier ({data['persons']} people, "
        f"{len(data['themes'])} themes) to {escape(str(output))}"
    )
