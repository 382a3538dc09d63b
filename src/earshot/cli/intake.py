"""Intake options of `earshot ingest` (mapping, encodings, zones, dry run, watch) and `jobs`."""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Table

from ..ingest.encodings import supported_encoding
from ..ingest.preview import IngestPreview, preview_ingest
from ..ingest.runner import IngestOptions, IngestReport
from ..ingest.watch import list_jobs, watch_folder
from ..store.case import Case
from ._base import EXIT_PROBLEMS, case_argument, cli, emit, err, json_option, out, settings_from_env
from ._terminal import safe

__all__ = ["intake_ingest_options", "intake_options", "print_intake_notes", "run_intake_mode"]

F = TypeVar("F", bound=Callable[..., Any])


def _encoding(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        supported_encoding(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def intake_options(func: F) -> F:
    """The intake options, added to `earshot ingest`."""
    options = [
        click.option(
            "--mapping",
            type=click.Path(dir_okay=False, path_type=Path),
            help="YAML file saying which column of the call records is which "
            "(see docs/call-records.md).",
        ),
        click.option(
            "--encoding",
            metavar="NAME",
            callback=_encoding,
            help="Encoding of the call records (utf-8, utf-16, cp1251, koi8-r, cp866); "
            "default: detected.",
        ),
        click.option("--sheet", metavar="NAME", help="Sheet of an .xlsx/.ods (default: first)."),
        click.option(
            "--timezone",
            metavar="ZONE",
            help="Time zone of this batch's times without an offset (default: the case's).",
        ),
        click.option(
            "--name-patterns",
            type=click.Path(dir_okay=False, path_type=Path),
            help="YAML file of your own recorder file-name patterns, tried first.",
        ),
        click.option(
            "--tolerance",
            type=click.FloatRange(0, 3600),
            default=120.0,
            show_default=True,
            help="Seconds between a record's time and its recording's, when matched by numbers.",
        ),
        click.option(
            "--no-fingerprints",
            is_flag=True,
            help="Do not look for the same recording in another codec (Chromaprint).",
        ),
        click.option(
            "--dry-run",
            is_flag=True,
            help="Show how columns map and which rows match which files; write nothing.",
        ),
        click.option(
            "--watch",
            is_flag=True,
            help="Keep watching the folder and take in files as they arrive (Ctrl-C stops).",
        ),
        click.option(
            "--settle",
            type=click.FloatRange(0.0),
            default=5.0,
            show_default=True,
            help="With --watch: seconds a file's size must stand still before it is taken.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def intake_ingest_options(base: IngestOptions, intake: dict[str, Any]) -> IngestOptions:
    return dataclasses.replace(
        base,
        mapping=intake.get("mapping"),
        encoding=intake.get("encoding"),
        sheet=intake.get("sheet"),
        timezone=intake.get("timezone"),
        name_patterns=intake.get("name_patterns"),
        tolerance=float(intake.get("tolerance") or 120.0),
        fingerprints=not intake.get("no_fingerprints"),
    )


def print_intake_notes(report: IngestReport) -> None:
    records = report.records
    if records.without_audio or records.matched_by_time:
        out.print(
            f"  {records.matched_by_time} record(s) matched to recordings by numbers and time; "
            f"{records.without_audio} call(s) without audio"
        )
    for note in report.notes:
        out.print(f"  [cyan]•[/] {safe(note)}")
    for dup in report.near_duplicates:
        out.print(
            f"  [yellow]≈[/] call {dup['call']} is a probable duplicate of call {dup['twin']} "
            f"(similarity {dup['similarity']:.2f}); both kept"
        )


def run_intake_mode(
    case: Path,
    paths: list[Path],
    options: IngestOptions,
    intake: dict[str, Any],
    operator: str | None,
    strict: bool,
    as_json: bool,
) -> bool:
    """Run --dry-run or --watch if asked (True), else leave the ordinary ingest to run."""
    if intake.get("dry_run") and intake.get("watch"):
        raise click.UsageError("--dry-run and --watch do not go together")
    if intake.get("dry_run"):
        with Case.open(case, settings=settings_from_env(operator)) as opened:
            preview = preview_ingest(opened, paths, options)
        if as_json:
            emit(preview.as_dict())
        else:
            _print_preview(preview)
        if strict and (preview.errors or preview.problems):
            sys.exit(EXIT_PROBLEMS)
        return True
    if intake.get("watch"):
        if len(paths) != 1 or not paths[0].is_dir():
            raise click.UsageError("--watch takes exactly one folder to watch")
        _watch(case, paths[0], options, float(intake.get("settle") or 0.0), operator, as_json)
        return True
    return False


def _print_preview(preview: IngestPreview) -> None:
    data = preview.as_dict()
    if preview.records_file:
        out.print(
            f"Call records {safe(preview.records_file)}: encoding {preview.encoding or 'sheet'}, "
            f"times without an offset read in {preview.timezone} ({preview.naive_times} rows)"
        )
        columns = Table(title="Columns", title_justify="left")
        for name in ("column", "field", "basis"):
            columns.add_column(name)
        for column in preview.columns:
            columns.add_row(safe(column["column"]), column["field"], column["basis"])
        out.print(columns)
        rows = Table(title="Rows", title_justify="left")
        for name in ("line", "started (UTC)", "caller", "callee", "recording", "basis"):
            rows.add_column(name, overflow="fold")
        for row in preview.rows:
            rows.add_row(
                str(row.row),
                row.started_at[:19],
                row.caller,
                row.callee,
                safe(row.file or "—"),
                row.basis,
            )
        out.print(rows)
    files = Table(title="Files", title_justify="left")
    for name in ("file", "record line", "from its name"):
        files.add_column(name, overflow="fold")
    for entry in preview.files:
        facts = entry["file_name"]
        said = (
            ", ".join(
                f"{k} {v}"
                for k, v in facts.items()
                if v and k in ("pattern", "number", "name", "direction", "started_at")
            )
            if facts
            else "—"
        )
        files.add_row(safe(entry["name"]), str(entry["record_row"] or "—"), safe(said))
    out.print(files)
    counts = data["counts"]
    out.print(
        f"Dry run: {counts['rows']} rows ({counts['rows_with_recording']} with a recording, "
        f"{counts['rows_without_recording']} to become calls without audio), "
        f"{counts['files']} files ({counts['files_without_record']} without a record). "
        "Nothing was written."
    )
    for message in preview.problems + preview.errors:
        err.print(f"  [red]✗[/] {safe(message)}")


def _watch(
    case: Path,
    folder: Path,
    options: IngestOptions,
    settle: float,
    operator: str | None,
    as_json: bool,
) -> None:
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def _batch(report: IngestReport) -> None:
        counts = report.as_dict()["counts"]
        if not as_json:
            out.print(
                f"Batch {report.batch_id}: {counts['new']} new, {counts['failed']} failed, "
                f"{counts['unchanged']} unchanged"
            )
            print_intake_notes(report)
            for message in report.errors:
                err.print(f"  [red]✗[/] {safe(message)}")

    try:
        with Case.open(case, settings=settings_from_env(operator)) as opened:
            if not as_json:
                err.print(f"Watching {safe(str(folder))}; Ctrl-C or SIGTERM stops (resumable)")
            summary = watch_folder(
                opened, folder, options, settle=settle, stop=stop, on_batch=_batch
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if as_json:
        emit(summary.as_dict())
    else:
        out.print(
            f"Stopped watching (job {summary.job_id}): {len(summary.batches)} batch(es) this run"
        )


@cli.command()
@case_argument
@click.option("--cancel", "cancel", type=int, metavar="ID", help="Cancel a queued or running job.")
@click.option(
    "--retry",
    "retry",
    type=int,
    metavar="ID",
    help="Queue a failed, cancelled or interrupted job again (what it finished before is kept).",
)
@click.option(
    "--work",
    is_flag=True,
    help="Run the queued background jobs here, in the foreground, until none is left "
    "(requeues jobs whose worker was killed first).",
)
@json_option
def jobs(case: Path, cancel: int | None, retry: int | None, work: bool, as_json: bool) -> None:
    """List the case's jobs (drop-folder watches, background ingest and processing) and
    their state; cancel, retry, or run the queued ones."""
    from .. import jobs as background
    from ..security.roles import Actor, Role

    settings = settings_from_env()
    actor = Actor(settings.operator, Role.EDITOR)
    with Case.open(case, settings=settings) as opened:
        if cancel is not None or retry is not None:
            changed = (
                background.cancel_job(opened, actor, cancel)
                if cancel is not None
                else background.retry_job(opened, actor, retry or 0)
            )
            if as_json:
                emit(changed.as_dict())
            else:
                out.print(f"Job {changed.id}: {changed.status.value}", markup=False)
            return
        if work:
            requeued = background.recover_jobs(opened)
            ran = background.work(opened, idle_seconds=0.5)
            if as_json:
                emit({"requeued": requeued, "ran": [{"id": i, "status": s} for i, s in ran]})
            else:
                for job_id, status in ran:
                    out.print(f"Job {job_id}: {status.value}", markup=False)
                if not ran:
                    out.print("No queued jobs.")
            return
        rows = [job.as_dict() for job in list_jobs(opened)]
    if as_json:
        emit(rows)
        return
    if not rows:
        out.print("No jobs.")
    for row in rows:
        if row["kind"] == "watch":
            detail = f"{row['files_taken']:>5} files {row['batches']:>4} batches"
        else:
            progress = row["progress"]
            detail = f"{progress.get('done', 0):>5}/{progress.get('total', 0):<5} " + (
                f"{len(row['failures'])} failed" if row["failures"] else "ok"
            )
        out.print(
            f"{row['id']:>4} {row['kind']:<7} {row['status']:<11} {detail}  {row['target']}",
            markup=False,
        )
        if row["message"] and row["kind"] != "watch":
            out.print(f"       {row['message']}", markup=False)
