"""`earshot asr-eval` (engines scored on the case's own calls) and `earshot transcribe` (loose
files, no case)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..errors import EarshotError, ModelMissingError
from ..pipeline.asr_eval import MIX, EvalRow, evaluate_case
from ..pipeline.transcribe_files import FORMATS, output_path, render, transcribe_file
from ..speech.asr import get_engine
from ..speech.models import choose_default_asr
from ..store.case import Case
from ._asr_choice import resolve_asr
from ._base import (
    EXIT_PROBLEMS,
    case_argument,
    cli,
    emit,
    err,
    json_option,
    out,
    progress_bar,
    settings_from_env,
)
from ._terminal import safe
from .process import _asr_options

__all__: list[str] = []


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _cell(row: EvalRow | None) -> str:
    if row is None:
        return ""
    rtf = "" if row.rtf is None else f" x{row.rtf:.3f}"
    return f"{_percent(row.words.rate)} / {_percent(row.chars.rate)}{rtf}"


@cli.command("asr-eval")
@case_argument
@click.option(
    "--engine",
    "engines",
    metavar="SPEC",
    multiple=True,
    help="Engine to run and score (repeatable), e.g. gigaam-v3-rnnt or onnx-asr:t-one:DIR; "
    "default: score the ASR transcripts already in the case.",
)
@click.option(
    "--engine-option",
    "engine_option",
    metavar="KEY=VALUE",
    multiple=True,
    help="Option for every engine run, e.g. device=cpu or batch_size=16 (repeatable).",
)
@click.option("--language", default="ru", show_default=True, help="Language code or auto.")
@click.option("--call", "calls", type=int, multiple=True, help="Only this call id (repeatable).")
@json_option
def asr_eval_command(
    case: Path,
    engines: tuple[str, ...],
    engine_option: tuple[str, ...],
    language: str,
    calls: tuple[int, ...],
    as_json: bool,
) -> None:
    """WER, CER and real-time factor of each engine against the calls' reference transcripts
    (human-corrected, else sidecar), per call, per channel and in total, side by side.

    Text is normalised for Russian first: case, punctuation, ё/е, numbers as digits or words.
    """
    with Case.open(case) as opened:
        specs = [resolve_asr(e, opened.settings.models_dir) for e in engines]
        with progress_bar("asr-eval") as bar:
            task = bar.add_task("asr-eval", total=None, current="")
            report = evaluate_case(
                opened,
                specs,
                language=None if language == "auto" else language,
                call_ids=calls or None,
                engine_options=_asr_options(engine_option),
                progress=lambda name: bar.update(task, advance=1, current=name),
            )
    if as_json:
        emit(report.as_dict())
        return
    table = Table(title="WER % / CER % x real-time factor (lower is better)", title_justify="left")
    table.add_column("call")
    table.add_column("channel")
    for label in report.engines:
        table.add_column(safe(label.rsplit("/", 1)[-1]))
    keys = sorted({(r.call_id, r.call, r.channel) for r in report.rows})
    index = {(r.call_id, r.channel, r.engine): r for r in report.rows}
    for call_id, name, channel in keys:
        cells = [_cell(index.get((call_id, channel, e))) for e in report.engines]
        table.add_row(safe(f"{call_id} {name}"), channel, *cells)
    totals = {r.engine: r for r in report.totals}
    table.add_row("total", MIX, *[_cell(totals.get(e)) for e in report.engines], style="bold")
    out.print(table)
    for skip in report.skipped:
        err.print(
            f"[yellow]skipped[/] call {skip['call_id']} {safe(skip['call'])}: {skip['reason']}"
        )


@cli.command("transcribe")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--asr",
    metavar="SPEC",
    help="Engine (default: the best installed model, see `earshot models list`).",
)
@click.option(
    "--asr-option",
    "asr_option",
    metavar="KEY=VALUE",
    multiple=True,
    help="Engine option, e.g. device=cuda or batch_size=16 (repeatable).",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="txt",
    show_default=True,
    help="Transcript format.",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one file per input here (default: print).",
)
@click.option("--language", default="ru", show_default=True, help="Language code or auto.")
@click.option(
    "--speakers",
    type=click.IntRange(1, 10),
    default=2,
    show_default=True,
    help="Parties of a mono recording (1 = no separation).",
)
@json_option
def transcribe_command(
    files: tuple[Path, ...],
    asr: str | None,
    asr_option: tuple[str, ...],
    fmt: str,
    out_dir: Path | None,
    language: str,
    speakers: int,
    as_json: bool,
) -> None:
    """Transcribe recordings without a case: decode, find speech, separate the parties,
    recognise; print or write txt, json, srt or vtt. Nothing is kept."""
    models_dir = settings_from_env().models_dir
    if asr:
        spec = resolve_asr(asr, models_dir)
    else:
        choice = choose_default_asr(models_dir)
        if choice.spec is None:
            raise ModelMissingError(f"no --asr given and {choice.reason}")
        err.print(f"[dim]using {safe(choice.spec)} ({safe(choice.reason)})[/]")
        spec = choice.spec
    engine = get_engine(spec, **_asr_options(asr_option))
    code = None if language == "auto" else language
    results: list[dict[str, Any]] = []
    written: list[Path] = []
    failed = 0
    with progress_bar("transcribe") as bar:
        task = bar.add_task("transcribe", total=len(files), current="")
        for path in files:
            bar.update(task, current=path.name[-40:])
            try:
                transcript = transcribe_file(path, engine, language=code, speakers=speakers)
            except EarshotError as error:
                failed += 1
                results.append({"path": str(path), "error": str(error)})
                err.print(f"[red]failed[/] {safe(str(error))}")
                bar.update(task, advance=1)
                continue
            text = render(transcript, fmt)
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                target = output_path(path, out_dir, fmt, written)
                target.write_text(text, "utf-8")
                written.append(target)
                results.append({**transcript.as_dict(), "output": str(target)})
            else:
                results.append(transcript.as_dict())
                if not as_json:
                    if len(files) > 1:
                        out.print(f"[bold]{safe(str(path))}[/]")
                    click.echo(text, nl=False)
            bar.update(task, advance=1)
    if as_json:
        emit(results)
    elif out_dir is not None:
        out.print(f"{len(written)} transcripts written to {safe(str(out_dir))}")
    if failed:
        sys.exit(EXIT_PROBLEMS)
