"""The `earshot` command. It only parses arguments, calls the library and renders results.

Library errors (:class:`earshot.errors.EarshotError`) become one-line messages on
stderr and exit status 2; every command has ``--json`` for scripting, with the JSON
on stdout and progress on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .errors import EarshotError
from .ingest.runner import FileResult, IngestOptions, IngestReport, ingest
from .settings import Settings
from .store.case import Case
from .store.custody import verify_chain
from .store.failures import list_failures
from .store.models import CustodyEntry
from .store.queries import list_calls
from .store.verify import verify_case

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])
# Piped output keeps whole lines (tables are not squeezed to 80 columns).
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_PROBLEMS = 1
EXIT_ERROR = 2


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout."
    )(func)


def case_argument(func: F) -> F:
    return click.argument(
        "case", type=click.Path(file_okay=False, path_type=Path), metavar="CASE"
    )(func)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _settings(operator: str | None = None) -> Settings:
    return Settings().merged({"operator": operator}, "--operator").with_environment() if operator \
        else Settings().with_environment()


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
        console=err,
        disable=not err.is_terminal,
        transient=False,
    )
    with progress:
        yield progress


class _IngestBar:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("ingest", total=None, current="")

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def advance(self, result: FileResult) -> None:
        self.progress.update(self.task, advance=1, current=Path(result.path).name[-40:])
        if result.status == "failed" and result.message and err.is_terminal:
            self.progress.console.print(f"[red]failed[/red] {escape(result.message)}")


class _UserError(click.ClickException):
    """A library error shown as one line, exit status 2."""

    exit_code = EXIT_ERROR

    def show(self, file: Any = None) -> None:
        err.print(f"[bold red]error:[/] {escape(self.message)}")


class _EarshotGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EarshotError as exc:
            raise _UserError(str(exc)) from None


@click.group(
    cls=_EarshotGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="earshot")
def cli() -> None:
    """Earshot: investigate recorded phone calls with chain of custody.

    A CASE is a directory holding one investigation: its database, the original
    recordings exactly as received, and everything derived from them.
    """


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
@json_option
def init(case: Path, db: str | None, region: str | None, timezone: str | None,
         as_json: bool) -> None:
    """Create a new, empty case directory."""
    settings = _settings().merged({"region": region, "timezone": timezone}, "option")
    with Case.init(case, db=db, settings=settings) as opened:
        data = {
            "case": str(opened.path),
            "id": opened.case_id,
            "backend": opened.engine.dialect.name,
        }
    if as_json:
        emit(data)
    else:
        out.print(f"Created case {data['case']} ({data['backend']}, id {data['id']})")


def _print_ingest(report: IngestReport) -> None:
    counts = report.as_dict()["counts"]
    out.print(
        f"Batch {report.batch_id}: {counts['new']} new, {counts['duplicate']} duplicate, "
        f"{counts['unchanged']} unchanged, {counts['failed']} failed, {counts['skipped']} skipped; "
        f"call records {report.records.applied} applied, {report.records.unchanged} unchanged, "
        f"{report.records.failed} failed"
    )
    if report.errors:
        err.print(f"[bold red]{len(report.errors)} problem(s)[/]; see `earshot failures`:")
        for message in report.errors:
            err.print(f"  [red]✗[/] {escape(message)}")


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
@json_option
def ingest_command(
    case: Path,
    paths: tuple[Path, ...],
    metadata: Path | None,
    source: str | None,
    operator: str | None,
    workers: int | None,
    strict: bool,
    as_json: bool,
) -> None:
    """Take audio files, folders and zip archives into CASE.

    Originals are stored untouched under their SHA-256 with a custody entry each;
    sidecar transcripts (NAME.vtt/.srt/.json/.txt beside NAME.wav) are imported.
    Bad files are reported and recorded while the rest goes in; re-running the
    same ingest changes nothing.
    """
    with Case.open(case, settings=_settings(operator)) as opened, progress_bar("ingest") as bar:
        report = ingest(
            opened,
            list(paths),
            IngestOptions(source=source, metadata=metadata, workers=workers),
            _IngestBar(bar),
        )
    if as_json:
        emit(report.as_dict())
    else:
        _print_ingest(report)
    if strict and report.errors:
        sys.exit(EXIT_PROBLEMS)


@cli.command()
@case_argument
@json_option
def calls(case: Path, as_json: bool) -> None:
    """List the calls of CASE: file, time, duration, numbers, persons, transcript."""
    with Case.open(case, settings=_settings()) as opened, opened.session() as session:
        rows = [c.as_dict() for c in list_calls(session)]
    if as_json:
        emit(rows)
        return
    table = Table(title=f"{len(rows)} calls", title_justify="left")
    for column in ("id", "file", "started (UTC)", "dur", "ch", "caller", "callee",
                   "persons", "transcript"):
        table.add_column(column, overflow="fold")
    for row in rows:
        persons = escape(" / ".join(p or "?" for p in (row["caller_person"], row["callee_person"])))
        table.add_row(
            str(row["id"]), escape(row["source_file"]), (row["started_at"] or "")[:16],
            f"{row['duration']:.1f}s", str(row["channels"]), row["caller"] or "",
            row["callee"] or "", persons, row["transcript_source"] or "",
        )
    out.print(table)


@cli.command()
@case_argument
@json_option
def verify(case: Path, as_json: bool) -> None:
    """Re-hash every stored original and check the custody log; exit 1 if anything is wrong."""
    with Case.open(case, settings=_settings()) as opened, progress_bar("verify") as bar:
        task = bar.add_task("verify", total=None, current="")
        report = verify_case(opened, on_file=lambda sha: bar.update(task, advance=1,
                                                                     current=sha[:12]))
    if as_json:
        emit(
            {
                "ok": report.ok,
                "checked": report.checked,
                "problems": [
                    {"sha256": p.sha256, "problem": p.problem, "stored_path": p.stored_path,
                     "received_as": list(p.received_as)}
                    for p in report.problems
                ],
                "custody_entries": report.custody_entries,
                "custody_problems": report.custody_problems,
            }
        )
    else:
        for problem in report.problems:
            err.print(f"[red]{escape(problem.message)}[/]")
        for message in report.custody_problems:
            err.print(f"[red]CUSTODY  {escape(message)}[/]")
        if report.ok:
            out.print(f"OK: {report.checked} originals intact; custody log of "
                      f"{report.custody_entries} entries unbroken")
        else:
            err.print(f"FAILED: {len(report.problems)} of {report.checked} originals missing or "
                      f"altered; {len(report.custody_problems)} custody problem(s)")
    if not report.ok:
        sys.exit(EXIT_PROBLEMS)


@cli.command()
@case_argument
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved failures.")
@json_option
def failures(case: Path, include_resolved: bool, as_json: bool) -> None:
    """List what could not be ingested or processed, with the reason."""
    with Case.open(case, settings=_settings()) as opened, opened.session() as session:
        rows = [
            {
                "id": f.id, "stage": f.stage, "path": f.path, "row": f.row,
                "message": f.message, "first_seen": f.first_seen.isoformat(),
                "last_seen": f.last_seen.isoformat(), "count": f.count,
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
        out.print(f"[{row['stage']}] {row['message']}{state}", markup=False)


@cli.command()
@case_argument
@click.option("--limit", type=click.IntRange(1), help="Show only the last N entries.")
@json_option
def custody(case: Path, limit: int | None, as_json: bool) -> None:
    """Show the chain-of-custody log (append-only, hash-chained)."""
    from sqlalchemy import select

    with Case.open(case, settings=_settings()) as opened, opened.session() as session:
        entries = list(session.execute(select(CustodyEntry).order_by(CustodyEntry.id)).scalars())
        _, problems = verify_chain(session)
    if limit:
        entries = entries[-limit:]
    rows = [
        {"id": e.id, "at": e.at.isoformat(), "operator": e.operator, "action": e.action,
         "sha256": e.sha256, "path": e.path, "detail": e.detail, "hash": e.entry_hash}
        for e in entries
    ]
    if as_json:
        emit({"entries": rows, "chain_ok": not problems})
        return
    for row in rows:
        out.print(f"{row['id']:>6} {row['at'][:19]} {row['operator']:<12} {row['action']:<20} "
                  f"{(row['sha256'] or '')[:12]:<12} {row['path'] or ''}", markup=False)
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


@cli.command()
@click.option(
    "--case", "case_dir", type=click.Path(file_okay=False, path_type=Path),
    default=Path("earshot-demo"), show_default=True, help="Where to build the demo case.",
)
@json_option
def demo(case_dir: Path, as_json: bool) -> None:
    """Build a demo case from the bundled fictional sample corpus and list its calls."""
    sample = files("earshot") / "data" / "sample"
    with as_file(sample) as sample_dir:
        if not (case_dir / "earshot.toml").exists():
            Case.init(case_dir, settings=_settings()).close()
        with Case.open(case_dir, settings=_settings()) as opened, \
                progress_bar("ingest") as bar:
            report = ingest(
                opened,
                [sample_dir / "calls"],
                IngestOptions(
                    source="Earshot sample corpus (fictional)",
                    metadata=sample_dir / "calls.csv",
                ),
                _IngestBar(bar),
            )
    if as_json:
        emit(report.as_dict())
        return
    _print_ingest(report)
    click.get_current_context().invoke(calls, case=case_dir, as_json=False)


def main() -> None:
    try:
        cli.main(prog_name="earshot")
    except KeyboardInterrupt:
        err.print("Interrupted; run the same command again to finish.")
        sys.exit(130)
