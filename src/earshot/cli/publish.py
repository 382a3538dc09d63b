"""Publication commands: export (redacted or identifying), pseudonym."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ..publish.formats import export_format_names
from ..publish.policy import load_policy
from ..store.case import Case
from ._base import RegistryChoice, case_argument, cli, emit, json_option, out, settings_from_env
from ._publish_common import (
    allow_proposed_option,
    identifying_option,
    output_option,
    phone_groups_option,
    policy_option,
    print_redaction_report,
    publication_kind,
    redact_option,
    run_publication,
    warn_identifying,
)
from ._terminal import safe
from .language import _parse_ids, calls_option, operator_option


# The language layer's `export` (full JSON only) is replaced by this one, which adds
# --redact, the leak guard and every publication format.
@cli.command("export")
@case_argument
@click.option(
    "--format",
    "format_",
    type=RegistryChoice(export_format_names),
    default="json",
    show_default=True,
    help="Export format, from the registry (`earshot formats` lists them with their files, "
    "media types and what the leak guard reads).",
)
@click.option(
    "--redact/--no-redact",
    default=None,
    help="Replace names by pseudonyms and withhold phones, units, addresses, dates of "
    "birth and home towns; the leak guard refuses the export if anything survives. "
    "One of --redact or --identifying is required.",
)
@identifying_option(
    "Ask explicitly for the full export WITHOUT redaction (it identifies people; "
    "editors only); its first line says so."
)
@output_option()
@calls_option
@policy_option
@allow_proposed_option
@phone_groups_option
@operator_option
@json_option
def export_command(
    case: Path,
    format_: str,
    redact: bool | None,
    identifying: bool,
    output: Path,
    calls_: str | None,
    policy: Path | None,
    allow_proposed: bool,
    phone_groups: bool,
    operator: str | None,
    as_json: bool,
) -> None:
    """Export calls, transcripts, translations and analysis, redacted or in full.

    With --redact every name is replaced by the person's pseudonym and phone numbers,
    unit numbers, addresses, dates of birth and home towns are withheld; the export is
    scanned for every known name and phone before it is written and refused if
    anything survives. Without --redact the export identifies people, so it is
    refused unless asked for explicitly with --identifying (editors only); such an
    export says so on its first line.
    """
    from ..publish.export import ExportOptions, export_case

    if redact is None:
        if not identifying:
            raise click.UsageError(
                "this export would identify people: add --redact for a publishable "
                "export, or --identifying to ask explicitly for the full one"
            )
        redact = False

    settings = settings_from_env(operator)
    options = ExportOptions(
        fmt=format_,
        redact=redact,
        call_ids=_parse_ids(calls_),
        policy=load_policy(policy) if policy else None,
        operator=settings.operator,
        identifying=identifying,
        allow_proposed=allow_proposed,
        phone_groups=phone_groups,
    )
    result = run_publication(
        case, settings, "export", format_, lambda opened: export_case(opened, output, options)
    )
    data = result.as_dict()
    if as_json:
        emit(data)
        return
    kind = publication_kind(result.redacted)
    out.print(f"Wrote a {kind} {format_} export of {result.calls} call(s) to {safe(str(output))}")
    if result.redacted:
        print_redaction_report(data)
    else:
        warn_identifying("export")


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
            safe(str(row["pseudonym"])),
            str(row["kind"]),
            safe(str(row["set_by"])),
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
    from .. import edits
    from ..security.roles import Actor, Role

    settings = settings_from_env(operator)
    with Case.open(case, settings=settings) as opened, opened.session() as session:
        record = edits.set_pseudonym(
            session, Actor(settings.operator, Role.EDITOR), person_id=person_id, pseudonym=name
        )
        data = record.as_dict()
        published = record.pseudonym
    if as_json:
        emit(data)
    else:
        out.print(f"Person {person_id} is now published as {safe(published)}")


@cli.command("formats")
@click.option("--markdown", is_flag=True, help="Print the table of docs/publication.md.")
@json_option
def formats_command(markdown: bool, as_json: bool) -> None:
    """List the export formats (the registry): file suffix, media type, what the leak
    guard reads. A package adds one under the `earshot.export_formats` entry points."""
    from ..publish.formats import export_formats, formats_table

    specs = list(export_formats().values())
    if as_json:
        emit([spec.as_dict() for spec in specs])
        return
    if markdown:
        click.echo(formats_table(), nl=False)
        return
    table = Table(title=f"{len(specs)} export formats", title_justify="left")
    for column in ("format", "file", "media type", "leak guard reads", "what it is"):
        table.add_column(column)
    for spec in specs:
        table.add_row(
            spec.name, f".{spec.suffix}", spec.media_type, spec.guard_reads.value, spec.description
        )
    out.print(table)


@cli.command("clip")
@case_argument
@click.argument("call_id", type=int, metavar="CALL")
@click.option(
    "--start", type=float, required=True, help="Start of the clip, seconds into the call."
)
@click.option("--end", type=float, required=True, help="End of the clip, seconds into the call.")
@redact_option(
    "Cover every redacted word (names, phones, units, addresses, dates of birth, "
    "home towns) found by the redactor in the call's transcript."
)
@identifying_option("Confirm a clip WITHOUT redaction (it identifies people; editors only).")
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
@output_option(
    "Audio file to write: .wav, .flac, .mp3 or .ogg (the format follows the suffix); "
    "the provenance is internal and goes elsewhere (see --provenance-dir)."
)
@click.option(
    "--provenance-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the clip's internal provenance file (default: the case's "
    "internal/clips); never the clip's own folder.",
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
    provenance_dir: Path | None,
    policy: Path | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Cut a stretch of a call for publication, with identifying words bleeped or silenced.

    The redacted words are located with the transcript's word timestamps, or the
    whole segment is covered when there are none; what stays audible is checked by
    the leak guard. An internal provenance file (NAME.INTERNAL-provenance.json, in the
    case's internal/clips folder or --provenance-dir, never beside the clip) records the
    call, the hashes
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
        provenance_dir=provenance_dir,
    )
    result = run_publication(
        case,
        settings,
        "clip",
        f"call {call_id}",
        lambda opened: clip_call(opened, call_id, output, options),
    )
    data = result.as_dict()
    if as_json:
        emit(data)
        return
    kind = publication_kind(redact)
    out.print(
        f"Wrote a {kind} clip of call {call_id} ({data['start']}-{data['end']} s) to "
        f"{safe(str(output))}; provenance in {safe(str(result.sidecar))}"
    )
    if redact:
        out.print(f"Covered {len(data['redactions'])} interval(s)")
    else:
        warn_identifying("clip")


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
@redact_option("Name people by pseudonym and redact quotes; the leak guard checks the dossier.")
@identifying_option("Confirm a dossier WITHOUT redaction (editors only).")
@output_option()
@policy_option
@allow_proposed_option
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
    allow_proposed: bool,
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
        allow_proposed=allow_proposed,
    )
    data = run_publication(
        case, settings, "dossier", format_, lambda opened: export_dossier(opened, output, options)
    )
    if as_json:
        emit(data)
        return
    kind = publication_kind(redact)
    out.print(
        f"Wrote a {kind} {format_} dossier ({data['persons']} people, "
        f"{len(data['themes'])} themes) to {safe(str(output))}"
    )


# The quotes group lives in its own module (registered on import).
from . import publish_nicknames as _publish_nicknames  # noqa: E402, F401
from . import publish_quotes as _publish_quotes  # noqa: E402, F401
