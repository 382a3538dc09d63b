"""`earshot models list|fetch|import|verify`: the speech models directory."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ..speech.models import fetch_model, import_model, list_models, verify_models
from ._base import EXIT_PROBLEMS, cli, emit, err, json_option, out, settings_from_env
from ._terminal import safe

__all__: list[str] = []


def _models_dir(value: str | None) -> str:
    return value or settings_from_env().models_dir


_dir_option = click.option(
    "--models-dir",
    metavar="DIR",
    help="Models folder (default: setting models_dir, EARSHOT_MODELS_DIR).",
)


@cli.group("models")
def models_group() -> None:
    """Speech models: what is known, what is installed, fetch / import / verify."""


@models_group.command("list")
@_dir_option
@json_option
def list_command(models_dir: str | None, as_json: bool) -> None:
    """Every known model: size, licence, languages, sample rate, the authors' published WER on
    telephone speech (with its source), and whether and where it is installed."""
    statuses = list_models(_models_dir(models_dir))
    if as_json:
        emit([s.as_dict() for s in statuses])
        return
    table = Table(title=f"speech models ({safe(_models_dir(models_dir))})", title_justify="left")
    for column in (
        "model",
        "engine",
        "licence",
        "languages",
        "kHz",
        "MB",
        "phone WER",
        "installed",
    ):
        table.add_column(column)
    for status in statuses:
        model = status.model
        wer = "; ".join(f"{w.wer:g} % {w.set}" for w in model.telephone_wer) or "-"
        languages = ", ".join(model.languages[:4]) + (" ..." if len(model.languages) > 4 else "")
        where = (
            safe(str(status.installed.path))
            + (f" ({status.installed.quantization})" if status.installed.quantization else "")
            if status.installed
            else f"[yellow]incomplete: {safe(', '.join(status.missing_files))}[/]"
            if status.missing_files
            else "no"
        )
        table.add_row(
            model.name,
            model.engine,
            model.licence,
            languages,
            f"{model.sample_rate // 1000}",
            f"~{model.size_mb}",
            wer,
            where,
        )
    out.print(table)
    out.print("WER: the authors' published figures (sources: `earshot models list --json`).")


@models_group.command("fetch")
@click.argument("name")
@_dir_option
@click.option("--hub-url", metavar="URL", help="Hub base URL (default: setting models_hub_url).")
@click.option("--replace", is_flag=True, help="Overwrite an installed copy.")
@click.option(
    "--quantization",
    type=click.Choice(["int8"]),
    help="Fetch the hub's int8 variant (about 4x smaller, faster on CPU) where it has one.",
)
@json_option
def fetch_command(
    name: str,
    models_dir: str | None,
    hub_url: str | None,
    replace: bool,
    quantization: str | None,
    as_json: bool,
) -> None:
    """Download model NAME from its hub repository (needs network; opt-in) and write its
    SHA-256 manifest, so the folder can be carried to an offline machine and imported."""
    base = hub_url or settings_from_env().models_hub_url
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def report(file_name: str, done: int, total: int | None) -> None:
        if file_name not in tasks:
            tasks[file_name] = progress.add_task(file_name, total=total)
        progress.update(tasks[file_name], completed=done)

    with progress:
        installed = fetch_model(
            name,
            _models_dir(models_dir),
            base_url=base,
            replace=replace,
            progress=report,
            quantization=quantization,
        )
    if as_json:
        emit(installed.as_dict())
    else:
        out.print(f"fetched {installed.name} into {safe(str(installed.path))}")


@models_group.command("import")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@_dir_option
@click.option("--name", metavar="MODEL", help="Model name, for a folder without a manifest.")
@click.option("--replace", is_flag=True, help="Overwrite an installed copy.")
@json_option
def import_command(
    folder: Path, models_dir: str | None, name: str | None, replace: bool, as_json: bool
) -> None:
    """Copy a model FOLDER (e.g. from removable media) into the models directory, checking
    every file against its SHA-256 manifest first."""
    installed = import_model(folder, _models_dir(models_dir), name=name, replace=replace)
    if as_json:
        emit(installed.as_dict())
    else:
        out.print(f"imported {installed.name} into {safe(str(installed.path))}")


@models_group.command("verify")
@click.argument("names", nargs=-1)
@_dir_option
@json_option
def verify_command(names: tuple[str, ...], models_dir: str | None, as_json: bool) -> None:
    """Re-hash installed models (all, or NAMES) against their manifests; exit 1 on a mismatch."""
    results = verify_models(_models_dir(models_dir), names)
    if as_json:
        emit([r.as_dict() for r in results])
    else:
        for result in results:
            colour = {"ok": "green", "mismatch": "red"}.get(result.status, "yellow")
            detail = f": {safe('; '.join(result.problems))}" if result.problems else ""
            out.print(f"[{colour}]{result.status}[/] {result.name}{detail}")
        if not results:
            out.print("no models installed")
    if any(r.status == "mismatch" for r in results):
        sys.exit(EXIT_PROBLEMS)
