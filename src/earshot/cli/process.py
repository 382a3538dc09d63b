"""Processing commands: `earshot process` (speech stages) and `earshot voices`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress
from rich.table import Table

from .. import edits
from ..errors import ConfigError
from ..identity.voice_links import DEFAULT_MIN_SCORE, voice_matches
from ..pipeline.runner import ProcessOptions, ProcessReport, process
from ..security.roles import Actor, Role
from ..store.case import Case
from ._asr_choice import asr_stage_options
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

__all__: list[str] = []


class _Bar:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("process", total=None, current="")

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def advance(self, label: str) -> None:
        self.progress.update(self.task, advance=1, current=label)


def _names(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    return tuple(n.strip() for n in value.split(",") if n.strip())


def _asr_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--asr-option {pair!r}: write KEY=VALUE, e.g. beam_size=1")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def _print_report(report: ProcessReport) -> None:
    counts = report.counts()
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"
    out.print(f"{report.calls} calls, stages {', '.join(report.stages)}: {summary}")
    for result in report.results:
        if result.status in ("failed", "skipped", "blocked"):
            colour = "red" if result.status == "failed" else "yellow"
            out.print(
                f"  [{colour}]{result.status}[/] call {result.call_id} {result.stage}: "
                f"{safe(result.message or '')}"
            )


@cli.command("process")
@case_argument
@click.option("--only", metavar="STAGE,...", help="Run only these stages (comma-separated).")
@click.option("--redo", metavar="STAGE", multiple=True, help="Run this stage again everywhere.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, help="Parallel workers.")
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    help="Run in-process (local) or as Ray tasks on a cluster (ray).",
)
@click.option("--address", metavar="ADDR", help="Ray cluster address (default: start locally).")
@click.option(
    "--asr",
    metavar="ENGINE[:MODEL]",
    help="Speech recognition: onnx-asr:MODEL:DIR, an installed model's name (gigaam-v3-rnnt, "
    "see `earshot models list`), faster-whisper:MODEL_OR_DIR, vosk:DIR or sidecar (default: "
    "label the sidecar transcript where a call has one, else the best installed model).",
)
@click.option(
    "--asr-option",
    "asr_option",
    metavar="KEY=VALUE",
    multiple=True,
    help="Engine option, e.g. beam_size=1 or device=cuda (repeatable).",
)
@click.option("--language", default="ru", show_default=True, help="Language code or auto.")
@click.option(
    "--speakers",
    type=click.IntRange(1, 10),
    default=2,
    show_default=True,
    help="Parties per mono call for speaker separation.",
)
@click.option("--call", "calls", type=int, multiple=True, help="Only this call id (repeatable).")
@json_option
def process_command(
    case: Path,
    only: str | None,
    redo: tuple[str, ...],
    workers: int,
    backend: str,
    address: str | None,
    asr: str | None,
    asr_option: tuple[str, ...],
    language: str,
    speakers: int,
    calls: tuple[int, ...],
    as_json: bool,
) -> None:
    """Run every processing stage each call of CASE still needs.

    Stages (decode, vad, separate, transcript, voiceprint and any installed ones) run in
    dependency order; a stage whose engine, options and inputs are unchanged is not run
    again, so an interrupted run is finished by running the same command. A failing call
    is recorded (see `earshot failures`) and the others go on.
    """
    redo_names = tuple(n for value in redo for n in (_names(value) or ()))
    with Case.open(case) as opened:
        transcript = asr_stage_options(asr, opened.settings.models_dir, only=_names(only))
        options = ProcessOptions(
            only=_names(only),
            redo=redo_names,
            workers=workers,
            backend=backend,
            address=address,
            stage_options={
                "separate": {"speakers": speakers},
                **(
                    {"voiceprint": {"engine": opened.settings.voiceprint_engine}}
                    if opened.settings.voiceprint_engine != "resemblyzer"
                    else {}
                ),
                "transcript": {
                    **transcript,
                    "language": language,
                    "asr_options": _asr_options(asr_option),
                },
            },
            call_ids=calls or None,
        )
        with progress_bar("process") as bar:
            report = process(opened, options, _Bar(bar))
    if as_json:
        chosen = transcript.get("default_asr")
        default = (
            {"asr_default": {"spec": chosen, "reason": transcript.get("default_reason")}}
            if chosen
            else {}
        )
        emit({**report.as_dict(), **default})
    else:
        _print_report(report)
    if report.failed:
        sys.exit(EXIT_PROBLEMS)


def _party_ref(value: str) -> tuple[int, str]:
    call, sep, party = value.partition(":")
    if not sep or not call.isdigit() or not party:
        raise ConfigError(f"{value!r}: write CALL_ID:PARTY, e.g. 12:A")
    return int(call), party.upper()


@cli.command("engines")
@json_option
def engines_command(as_json: bool) -> None:
    """List the speech-recognition engines (entry points of `earshot.asr_engines`) with
    their version and whether they need a GPU, without loading any model."""
    from ..speech.asr import available_engines, describe_engine

    described = [describe_engine(name).as_dict() for name in available_engines()]
    if as_json:
        emit(described)
        return
    table = Table(title=f"{len(described)} ASR engines", title_justify="left")
    for column in ("engine", "version", "needs GPU", "what it is"):
        table.add_column(column)
    for row in described:
        table.add_row(
            str(row["name"]),
            str(row["version"]),
            "yes" if row["needs_gpu"] else "no",
            safe(str(row["description"])),
        )
    out.print(table)


@cli.command("voices")
@case_argument
@click.option(
    "--min-score",
    type=click.FloatRange(-1.0, 1.0),
    default=DEFAULT_MIN_SCORE,
    show_default=True,
    help="Lowest cosine similarity shown (default calibrated on the sample corpus).",
)
@click.option(
    "--confirm",
    nargs=2,
    metavar="CALL:PARTY CALL:PARTY",
    help="Record that these two parties are the same voice (links them to one person).",
)
@click.option(
    "--reject", nargs=2, metavar="CALL:PARTY CALL:PARTY", help="Record that they are not."
)
@click.option("--note", metavar="TEXT", help="Why (kept with the decision).")
@click.option("--operator", metavar="NAME", help="Who decides (default: login name).")
@click.option("--all", "show_all", is_flag=True, help="Also list rejected pairs.")
@json_option
def voices_command(
    case: Path,
    min_score: float,
    confirm: tuple[str, str] | None,
    reject: tuple[str, str] | None,
    note: str | None,
    operator: str | None,
    show_all: bool,
    as_json: bool,
) -> None:
    """List likely same-voice pairs of parties across calls, or record a decision on one."""
    if confirm and reject:
        raise ConfigError("give either --confirm or --reject, not both")
    decision = confirm or reject
    with Case.open(case, settings=settings_from_env(operator)) as opened:
        if decision:
            with opened.session() as session:
                record = edits.decide_voice_link(
                    session,
                    Actor(opened.settings.operator, Role.EDITOR),
                    sides=(_party_ref(decision[0]), _party_ref(decision[1])),
                    confirm=bool(confirm),
                    note=note,
                )
                data: Any = record.as_dict()
            if as_json:
                emit(data)
            else:
                out.print(
                    f"{data['status']}: call {data['call_a']} {data['party_a']} ~ "
                    f"call {data['call_b']} {data['party_b']}"
                )
                if data["note"]:
                    err.print(f"[yellow]{safe(data['note'])}[/]")
            return
        with opened.session() as session:
            matches = [
                m.as_dict()
                for m in voice_matches(session, min_score=min_score, include_rejected=show_all)
            ]
    if as_json:
        emit(matches)
        return
    table = Table(title=f"{len(matches)} likely same-voice pairs", title_justify="left")
    for column in ("call a", "party", "call b", "party", "score", "decision"):
        table.add_column(column)
    for m in matches:
        table.add_row(
            str(m["call_a"]),
            safe(m["party_a"]),
            str(m["call_b"]),
            safe(m["party_b"]),
            f"{m['score']:.3f}",
            safe(m["status"] or ""),
        )
    out.print(table)
