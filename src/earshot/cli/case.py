"""Case commands: init, ingest, calls, verify, failures, custody, settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..ingest.rebuild import RebuildReport
from ..ingest.rebuild import rebuild_working as rebuild_working_copies
from ..ingest.runner import IngestOptions, IngestReport, ingest
from ..security.private import make_private
from ..settings import Settings
from ..store.case import Case
from ..store.custody import verify_chain
from ..store.failures import list_failures
from ..store.models import CustodyEntry
from ..store.queries import list_calls
from ..store.verify import private_extras, verify_case
from ._base import (
    EXIT_PROBLEMS,
    IngestBar,
    case_argument,
    cli,
    emit,
    err,
    json_option,
    out,
    progress_bar,
    settings_from_env,
)
from ._terminal import safe, visible
from .intake import intake_ingest_options, intake_options, print_intake_notes, run_intake_mode


@cli.command()
@case_argument
@click.option(
    "--db",
    metavar="URL",
    help="Keep the case metadata in this database (postgresql://...); default: SQLite "
    "inside the case. Use env:VAR to read the URL from an environment variable.",
)
@click.option("--region", metavar="CC", help="Default region for phone numbers (default RU).")
@click.option("--timezone", metavar="ZONE", help="Time zone for call times without one.")
@click.option(
    "--encrypt",
    is_flag=True,
    help="Encrypt originals and working copies (AES-256-GCM) and the SQLite database "
    "(SQLCipher); the key comes from --key-file, else EARSHOT_PASSPHRASE, else a prompt.",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --encrypt: key file (32 bytes, raw or hex); created with a random key if "
    "missing. Keep it away from the case.",
)
@json_option
def init(
    case: Path,
    db: str | None,
    region: str | None,
    timezone: str | None,
    encrypt: bool,
    key_file: Path | None,
    as_json: bool,
) -> None:
    """Create a new, empty case directory (optionally encrypted: media and database)."""
    from ..security.crypto import KeySource, create_key_file

    settings = settings_from_env().merged({"region": region, "timezone": timezone}, "option")
    zone_note = _default_zone(settings, timezone)
    if zone_note:
        settings = settings.merged({"timezone": zone_note[0]}, "region")
    source: KeySource | None = None
    created_key = False
    if key_file is not None and not encrypt:
        raise click.UsageError("--key-file needs --encrypt")
    if encrypt and key_file is not None:
        if not key_file.exists():
            create_key_file(key_file)
            created_key = True
        source = KeySource(key_file=key_file)
    elif encrypt:
        source = KeySource.from_environment(settings.key_file) or KeySource(
            passphrase=click.prompt(
                "Passphrase for the case key", hide_input=True, confirmation_prompt=True, err=True
            )
        )
    with Case.init(case, db=db, settings=settings, encryption=source) as opened:
        data = {
            "case": str(opened.path),
            "id": opened.case_id,
            "backend": opened.engine.dialect.name,
            "encrypted": encrypt,
            "key_file_created": str(key_file) if created_key else None,
            "timezone": settings.timezone,
            "timezone_basis": zone_note[1] if zone_note else "given",
        }
    if as_json:
        emit(data)
    else:
        out.print(
            f"Created case {safe(str(data['case']))} ({data['backend']}, id {data['id']}"
            f"{', encrypted' if encrypt else ''})"
        )
        if zone_note:
            out.print(f"Time zone {settings.timezone} ({safe(zone_note[1])})")
        if created_key:
            out.print(
                f"Wrote a new random key to {safe(str(key_file))}: back it up; "
                "without it the media cannot be read"
            )


def _default_zone(settings: Settings, given: str | None) -> tuple[str, str] | None:
    """(zone, why) when init was not told a zone: the region's, else UTC said aloud."""
    from ..ingest.zones import zone_for_region

    if given or "timezone" in settings.explicit():
        return None
    zone = zone_for_region(settings.region)
    if zone is None:
        return (
            "UTC",
            f"region {settings.region} spans several zones or is not listed; "
            "set one with `earshot init --timezone` or EARSHOT_TIMEZONE",
        )
    return zone, f"from region {settings.region}; change it with --timezone"


def _print_ingest(report: IngestReport) -> None:
    counts = report.as_dict()["counts"]
    out.print(
        f"Batch {report.batch_id}: {counts['new']} new, {counts['duplicate']} duplicate, "
        f"{counts['unchanged']} unchanged, {counts['failed']} failed, {counts['skipped']} skipped; "
        f"call records {report.records.applied} applied, {report.records.unchanged} unchanged, "
        f"{report.records.failed} failed"
    )
    print_intake_notes(report)
    if report.errors:
        err.print(f"[bold red]{len(report.errors)} problem(s)[/]; see `earshot failures`:")
        for message in report.errors:
            err.print(f"  [red]✗[/] {safe(message)}")


@cli.command("ingest")
@case_argument
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="PATH..."
)
@click.option(
    "--metadata",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Call records CSV (file,started_at,caller,callee[,caller_name,callee_name,...]).",
)
@click.option("--source", metavar="TEXT", help="Where this material came from (provenance).")
@click.option("--operator", metavar="NAME", help="Who is ingesting (default: login name).")
@click.option("--workers", type=click.IntRange(1, 64), help="Parallel decode processes.")
@click.option("--strict", is_flag=True, help="Exit with status 1 if anything failed.")
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Follow links to files that stay inside the folder being ingested "
    "(by default every link is a failure, unread).",
)
@intake_options
@json_option
def ingest_command(
    case: Path,
    paths: tuple[Path, ...],
    metadata: Path | None,
    source: str | None,
    operator: str | None,
    workers: int | None,
    strict: bool,
    follow_symlinks: bool,
    as_json: bool,
    **intake: Any,
) -> None:
    """Take audio files, folders and zip archives into CASE.

    Originals are stored untouched under their SHA-256 with a custody entry each;
    sidecar transcripts (NAME.vtt/.srt/.json/.txt beside NAME.wav) are imported.
    Bad files are reported and recorded while the rest goes in; re-running the
    same ingest changes nothing. Call records may be any telco export (CSV in any
    Cyrillic encoding, .xlsx, .ods); rows without a recording become calls without
    audio. --dry-run shows how they would be read; --watch keeps taking new files.
    """
    options = intake_ingest_options(
        IngestOptions(
            source=source, metadata=metadata, workers=workers, follow_symlinks=follow_symlinks
        ),
        intake,
    )
    if run_intake_mode(case, list(paths), options, intake, operator, strict, as_json):
        return
    with (
        Case.open(case, settings=settings_from_env(operator)) as opened,
        progress_bar("ingest") as bar,
    ):
        report = ingest(
            opened,
            list(paths),
            options,
            IngestBar(bar),
        )
    if as_json:
        emit(report.as_dict())
    else:
        _print_ingest(report)
    if strict and report.errors:
        sys.exit(EXIT_PROBLEMS)


@cli.command("call")
@case_argument
@click.argument("call_id", type=int, metavar="CALL")
@json_option
def call_command(case: Path, call_id: int, as_json: bool) -> None:
    """One call of CASE in detail: its parties, the current transcript segment by
    segment with entities, slang and themes, and each segment's English.

    --json is the record the web API answers for the same call.
    """
    from ..analysis.call_detail import call_detail
    from ..errors import CaseError

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        detail = call_detail(session, call_id)
        if detail is None:
            raise CaseError(f"no call #{call_id} in {case}; `earshot calls {case}` lists them")
        data = detail.as_dict()
    if as_json:
        emit(data)
        return
    call = data["call"]
    out.print(f"[bold]call #{call['id']}[/] {safe(call.get('source_file', ''))}")
    for key in ("started_at", "caller", "callee", "caller_person", "callee_person"):
        if call.get(key):
            out.print(f"  {key}: {safe(str(call[key]))}")
    if data["themes"]:
        out.print(f"  themes: {safe(', '.join(data['themes']))}")
    for seg in data["segments"]:
        start = seg["start"] if seg["start"] is not None else 0.0
        out.print(f"[dim]{start:7.1f}s[/] {safe(seg['speaker'])}: {safe(seg['text'])}")
        if seg["translation"]:
            out.print(f"          [italic]{safe(seg['translation']['text'])}[/]")


@cli.command()
@case_argument
@json_option
def calls(case: Path, as_json: bool) -> None:
    """List the calls of CASE: file, time, duration, numbers, persons, transcript."""
    from ..ingest.fingerprint import twins_of

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        rows = [c.as_dict() for c in list_calls(session)]
        twins = twins_of(session)
    for row in rows:  # the same conversation in another codec: linked, never merged
        row["probable_duplicates"] = [
            {"call": twin, "similarity": similarity}
            for twin, similarity in twins.get(row["id"], [])
        ]
    if as_json:
        emit(rows)
        return
    table = Table(title=f"{len(rows)} calls", title_justify="left")
    for column in (
        "id",
        "file",
        "started (UTC)",
        "dur",
        "ch",
        "caller",
        "callee",
        "persons",
        "transcript",
        "note",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        persons = safe(" / ".join(p or "?" for p in (row["caller_person"], row["callee_person"])))
        table.add_row(
            str(row["id"]),
            safe(row["source_file"]),
            (row["started_at"] or "")[:16],
            f"{row['duration']:.1f}s",
            str(row["channels"]),
            safe(row["caller"] or ""),
            safe(row["callee"] or ""),
            persons,
            safe(row["transcript_source"] or ""),
            _call_note(row),
        )
    out.print(table)


def _call_note(row: dict[str, object]) -> str:
    """No audio yet, or a probable duplicate of another call (never merged)."""
    notes = ["no audio"] if row.get("status") == "no-audio" else []
    twins = row.get("probable_duplicates") or []
    assert isinstance(twins, list)
    notes += [f"probable duplicate of {t['call']} ({t['similarity']:.2f})" for t in twins]
    return "; ".join(notes)


@cli.command()
@case_argument
@click.option(
    "--rebuild-working",
    is_flag=True,
    help="First remake altered, missing or unhashed working copies from their originals.",
)
@click.option(
    "--fix-permissions",
    is_flag=True,
    help="First make every case file owner-only (folders 0700, files 0600/0400).",
)
@json_option
def verify(case: Path, rebuild_working: bool, fix_permissions: bool, as_json: bool) -> None:
    """Re-hash every original and working copy, check the custody log and file
    permissions; exit 1 if anything is wrong."""
    rebuilt = None
    with Case.open(case, settings=settings_from_env()) as opened, progress_bar("verify") as bar:
        task = bar.add_task("verify", total=None, current="")
        if fix_permissions:
            make_private(opened.path, extra=private_extras(opened.settings.accounts))
        if rebuild_working:
            with opened.exclusive("verify --rebuild-working"):
                rebuilt = rebuild_working_copies(
                    opened, on_file=lambda sha: bar.update(task, current=f"rebuild {sha[:12]}")
                )
        report = verify_case(
            opened, on_file=lambda sha: bar.update(task, advance=1, current=sha[:12])
        )
    if as_json:
        emit(
            {
                "ok": report.ok,
                "checked": report.checked,
                "problems": [
                    {
                        "sha256": p.sha256,
                        "problem": p.problem,
                        "stored_path": p.stored_path,
                        "received_as": list(p.received_as),
                    }
                    for p in report.problems
                ],
                "custody_entries": report.custody_entries,
                "custody_problems": report.custody_problems,
                "working_checked": report.working_checked,
                "working_problems": [p.as_dict() for p in report.working_problems],
                "permission_problems": report.permission_problems,
                "rebuilt": rebuilt.as_dict() if rebuilt is not None else None,
            }
        )
    else:
        _print_rebuilt(rebuilt)
        for problem in report.problems:
            err.print(f"[red]{safe(problem.message)}[/]")
        for message in report.custody_problems:
            err.print(f"[red]CUSTODY  {safe(message)}[/]")
        for working in report.working_problems:
            colour = "red" if working.problem == "altered" else "yellow"
            err.print(f"[{colour}]{safe(working.message)}[/]")
        for message in report.permission_problems:
            err.print(f"[red]{safe(message)}[/]")
        if report.ok:
            out.print(
                f"OK: {report.checked} originals and {report.working_checked} working copies "
                f"intact; custody log of {report.custody_entries} entries unbroken; "
                "case files private"
            )
        else:
            err.print(
                f"FAILED: {len(report.problems)} of {report.checked} originals missing or "
                f"altered; {len(report.working_altered)} of {report.working_checked} working "
                f"copies altered; {len(report.custody_problems)} custody problem(s); "
                f"{len(report.permission_problems)} file(s) open to other users"
            )
    if not report.ok:
        sys.exit(EXIT_PROBLEMS)


def _print_rebuilt(rebuilt: RebuildReport | None) -> None:
    if rebuilt is None:
        return
    for problem in rebuilt.rebuilt:
        out.print(
            f"REBUILT  working copy media/{safe(problem.path)} ({problem.problem}) "
            "from its original"
        )
    for problem, message in rebuilt.failed:
        err.print(f"[red]NOT REBUILT  media/{safe(problem.path)}: {safe(message)}[/]")


@cli.command()
@case_argument
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved failures.")
@json_option
def failures(case: Path, include_resolved: bool, as_json: bool) -> None:
    """List what could not be ingested or processed, with the reason."""
    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        rows = [
            {
                "id": f.id,
                "stage": f.stage,
                "path": f.path,
                "row": f.row,
                "message": f.message,
                "first_seen": f.first_seen.isoformat(),
                "last_seen": f.last_seen.isoformat(),
                "count": f.count,
                "resolved_at": f.resolved_at.isoformat() if f.resolved_at else None,
            }
            for f in list_failures(session, include_resolved=include_resolved)
        ]
    if as_json:
        emit(rows)
        return
    if not rows:
        out.print("No failures.")
    for row in rows:
        state = " (resolved)" if row["resolved_at"] else ""
        out.print(f"[{row['stage']}] {visible(str(row['message']))}{state}", markup=False)


@cli.command()
@case_argument
@click.option("--limit", type=click.IntRange(1), help="Show only the last N entries.")
@json_option
def custody(case: Path, limit: int | None, as_json: bool) -> None:
    """Show the chain-of-custody log (append-only, hash-chained)."""
    from sqlalchemy import select

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        entries = list(session.execute(select(CustodyEntry).order_by(CustodyEntry.id)).scalars())
        _, problems = verify_chain(session)
    if limit:
        entries = entries[-limit:]
    rows = [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "operator": e.operator,
            "action": e.action,
            "sha256": e.sha256,
            "path": e.path,
            "detail": e.detail,
            "hash": e.entry_hash,
        }
        for e in entries
    ]
    if as_json:
        emit({"entries": rows, "chain_ok": not problems})
        return
    for e in entries:
        out.print(
            f"{e.id:>6} {e.at.isoformat()[:19]} {visible(e.operator):<12} {e.action:<20} "
            f"{(e.sha256 or '')[:12]:<12} {visible(e.path or '')}",
            markup=False,
        )
    out.print("chain intact" if not problems else f"CHAIN BROKEN: {len(problems)} problem(s)")


@cli.command()
@json_option
def settings(as_json: bool) -> None:
    """List every setting with its default and EARSHOT_ environment variable."""
    rows = [
        {"name": s.name, "env": s.env, "default": s.default, "help": s.help}
        for s in Settings.declared()
    ]
    if as_json:
        emit(rows)
        return
    table = Table("setting", "environment", "default", "meaning")
    for row in rows:
        table.add_row(row["name"], row["env"], str(row["default"]), row["help"])
    out.print(table)
