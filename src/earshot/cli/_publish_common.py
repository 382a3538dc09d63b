"""Options and steps shared by the publication commands (export, dossier, clip, quotes export).

Every publication is either redacted (the default, leak-guarded) or explicitly identifying,
goes to one output file, runs under one progress bar and says which of the two it wrote.
Declaring those options and steps once keeps the commands from drifting apart on the very
switches that decide whether a file names people.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..settings import Settings
from ..store.case import Case
from ._base import err, progress_bar

__all__ = [
    "identifying_option",
    "output_option",
    "policy_option",
    "publication_kind",
    "redact_option",
    "run_publication",
    "warn_identifying",
]

T = TypeVar("T")
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

policy_option = click.option(
    "--policy",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Redaction policy YAML (default: the shipped earshot/publish/data/redaction_policy.yaml).",
)


def output_option(help: str = "File to write.") -> Decorator:
    """The required ``-o/--output`` file."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        help=help,
    )


def redact_option(help: str) -> Decorator:
    """``--redact/--no-redact``, redacted unless asked otherwise."""
    return click.option("--redact/--no-redact", default=True, show_default=True, help=help)


def identifying_option(help: str) -> Decorator:
    """``--identifying``: the explicit confirmation an unredacted publication needs."""
    return click.option("--identifying", is_flag=True, help=help)


def run_publication(
    case: Path, settings: Settings, label: str, current: str, write: Callable[[Case], T]
) -> T:
    """Open the case and run `write` on it under a progress bar named `label`."""
    with Case.open(case, settings=settings) as opened, progress_bar(label) as bar:
        task = bar.add_task(label, total=None, current=current)
        result = write(opened)
        bar.update(task, total=1, completed=1)
    return result


def publication_kind(redacted: bool) -> str:
    """The word the commands print for what they wrote."""
    return "redacted" if redacted else "IDENTIFYING"


def warn_identifying(what: str) -> None:
    """Warn on stderr that `what` (e.g. "export") names people."""
    err.print(f"[yellow]warning:[/] this {what} identifies people; it is not redacted")
