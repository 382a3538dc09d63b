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
from ._base import err, out, progress_bar

__all__ = [
    "allow_proposed_option",
    "identifying_option",
    "output_option",
    "phone_groups_option",
    "policy_option",
    "print_redaction_report",
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


allow_proposed_option = click.option(
    "--allow-proposed",
    is_flag=True,
    help="Publish call sides whose attribution is only proposed (self-identification, "
    'voice) under the proposed pseudonym, marked "(proposed)"; recorded in the audit '
    "log. Without it such an export is refused until an editor decides the proposals.",
)

phone_groups_option = click.option(
    "--phone-groups",
    is_flag=True,
    help='Say whose number an unattributed side calls from ("Unknown speaker 1 (on the '
    'number of Soldier 2)"): a fact about the phone, never an attribution.',
)


def print_redaction_report(data: dict[str, Any]) -> None:
    """The redaction report of a redacted publication: what was replaced where, and every
    attribution it relies on, with basis and verification status."""
    from ._terminal import safe

    withheld = ", ".join(f"{k} {v}" for k, v in data.get("withheld", {}).items()) or "nothing"
    out.print(f"Withheld: {safe(withheld)}")
    where = ", ".join(f"{k} {v}" for k, v in data.get("replaced_in", {}).items())
    if where:
        out.print(f"Replaced in: {safe(where)}")
    for row in data.get("attributions", []):
        basis = row["basis"] or "no attribution"
        status = row["side_verification"]
        if row["person_verification"]:
            status += f"; person {row['person_verification']}"
        out.print(
            f"  call {row['call']} side {row['side']}: {safe(row['published_as'])} "
            f"({row['state']}, {safe(basis)}, {status})"
        )
