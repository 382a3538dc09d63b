"""The `earshot` command group and what every command shares.

Commands only parse arguments, call the library and render results.

Library errors (:class:`earshot.errors.EarshotError`) become one-line messages on
stderr and exit status 2; every command has ``--json`` for scripting, with the JSON
on stdout and progress on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..errors import EarshotError
from ..ingest.runner import FileResult
from ..settings import Settings
from ._terminal import SafeConsole, safe, safe_json

__all__ = [
    "EXIT_ERROR",
    "EXIT_PROBLEMS",
    "IngestBar",
    "RegistryChoice",
    "case_argument",
    "cli",
    "emit",
    "err",
    "json_option",
    "main",
    "out",
    "progress_bar",
    "safe",
    "settings_from_env",
]

F = TypeVar("F", bound=Callable[..., Any])
# Piped output keeps whole lines (tables are not squeezed to 80 columns).
# Every printed string passes SafeConsole (controls made visible); data values also go
# through `safe` where they are put into markup (see cli/_terminal.py).
out = SafeConsole(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True)

EXIT_PROBLEMS = 1
EXIT_ERROR = 2


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout."
    )(func)


def case_argument(func: F) -> F:
    return click.argument("case", type=click.Path(file_okay=False, path_type=Path), metavar="CASE")(
        func
    )


def emit(data: Any) -> None:
    click.echo(safe_json(data))


def settings_from_env(operator: str | None = None) -> Settings:
    """Settings from the environment, with an explicit --operator taking precedence."""
    return Settings().with_environment().merged({"operator": operator}, "--operator")


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


class IngestBar:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("ingest", total=None, current="")

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def advance(self, result: FileResult) -> None:
        self.progress.update(self.task, advance=1, current=safe(Path(result.path).name[-40:]))
        if result.status == "failed" and result.message and err.is_terminal:
            self.progress.console.print(f"[red]failed[/red] {safe(result.message)}")


class _UserError(click.ClickException):
    """A library error shown as one line, exit status 2."""

    exit_code = EXIT_ERROR

    def show(self, file: Any = None) -> None:
        err.print(f"[bold red]error:[/] {safe(self.message)}")


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


def main() -> None:
    try:
        cli.main(prog_name="earshot")
    except KeyboardInterrupt:
        err.print("Interrupted; run the same command again to finish.")
        sys.exit(130)


class RegistryChoice(click.Choice):  # type: ignore[type-arg,unused-ignore]
    """A ``click.Choice`` whose choices are read from a registry when the command runs,
    so a format or engine registered after import (an entry point, a test) is offered."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self._names = names
        super().__init__([])

    @property  # type: ignore[override,unused-ignore]
    def choices(self) -> Sequence[str]:
        return tuple(self._names())

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:  # click sets it in __init__
        pass
