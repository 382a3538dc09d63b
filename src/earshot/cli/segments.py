"""`earshot segment`: split, merge, move and re-attribute segments of a call's
transcript, as the call page does (:mod:`earshot.workbench`, versioned and audited).

Segments are named by CALL and POSITION (0-based, in the call's current transcript);
the layout version defaults to the one now (give --layout-version to refuse a change
if someone changed the call meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from .. import workbench
from ..workbench import SegmentEditRecord
from ._base import case_argument, cli, emit, json_option, out
from ._terminal import safe
from .identity import _session, operator_option

F = TypeVar("F", bound=Callable[..., Any])


@cli.group()
def segment() -> None:
    """A call's transcript layout: split, merge, move boundaries, change the party."""


def _target(func: F) -> F:
    func = click.option(
        "--layout-version",
        type=int,
        default=None,
        help="The call's layout version you based this on (default: the one now).",
    )(func)
    func = click.argument("position", type=click.IntRange(min=0))(func)
    func = click.argument("call_id", metavar="CALL", type=click.IntRange(min=1))(func)
    return case_argument(func)


def _resolve(session: Session, call_id: int, position: int, version: int | None) -> tuple[int, int]:
    seg = workbench.segment_at(session, call_id, position)
    return seg, workbench.layout_version(session, call_id) if version is None else version


def _report(done: SegmentEditRecord, as_json: bool) -> None:
    if as_json:
        emit(done.as_dict())
        return
    out.print(f"call {done.call_id}: {done.kind} (layout version {done.version}, {done.actor})")
    for seg in done.after.get("segments", []):
        times = "" if seg["start"] is None else f"{seg['start']:.2f}–{seg['end']:.2f} s "
        out.print(f"  #{seg['idx']} {times}{seg['party'] or '?'}: {safe(seg['text'])}")


@segment.command("split")
@_target
@click.option(
    "--word", type=click.IntRange(min=1), required=True, help="Split before this word (0-based)."
)
@click.option(
    "--at", type=float, default=None, help="The split time in seconds (default: from the words)."
)
@operator_option
@json_option
def split_command(
    case: Path, call_id: int, position: int, layout_version: int | None, word: int,
    at: float | None, operator: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Split segment POSITION of CALL before a word."""
    with _session(case, operator) as (session, actor, _case):
        seg, version = _resolve(session, call_id, position, layout_version)
        done = workbench.split_segment(
            session, actor, call_id=call_id, segment_id=seg, word=word, at=at,
            expected_version=version,
        )  # fmt: skip
    _report(done, as_json)


@segment.command("merge")
@_target
@operator_option
@json_option
def merge_command(
    case: Path, call_id: int, position: int, layout_version: int | None,
    operator: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Merge segment POSITION of CALL with the next one (the same party's)."""
    with _session(case, operator) as (session, actor, _case):
        seg, version = _resolve(session, call_id, position, layout_version)
        done = workbench.merge_segments(
            session, actor, call_id=call_id, segment_id=seg, expected_version=version
        )
    _report(done, as_json)


@segment.command("move")
@_target
@click.option("--start", type=float, default=None, help="The new start (seconds).")
@click.option("--end", type=float, default=None, help="The new end (seconds).")
@operator_option
@json_option
def move_command(
    case: Path, call_id: int, position: int, layout_version: int | None,
    start: float | None, end: float | None, operator: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Move the start and/or end of segment POSITION of CALL."""
    if start is None and end is None:
        raise click.UsageError("give --start, --end or both")
    with _session(case, operator) as (session, actor, _case):
        seg, version = _resolve(session, call_id, position, layout_version)
        done = workbench.move_boundary(
            session, actor, call_id=call_id, segment_id=seg, start=start, end=end,
            expected_version=version,
        )  # fmt: skip
    _report(done, as_json)


@segment.command("party")
@_target
@click.argument("party")
@operator_option
@json_option
def party_command(
    case: Path, call_id: int, position: int, layout_version: int | None, party: str,
    operator: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Say which side (PARTY, e.g. A or B) speaks segment POSITION of CALL."""
    with _session(case, operator) as (session, actor, _case):
        seg, version = _resolve(session, call_id, position, layout_version)
        done = workbench.set_party(
            session, actor, call_id=call_id, segment_id=seg, party=party,
            expected_version=version,
        )  # fmt: skip
    _report(done, as_json)


@segment.command("history")
@case_argument
@click.argument("call_id", metavar="CALL", type=click.IntRange(min=1))
@operator_option
@json_option
def history_command(case: Path, call_id: int, operator: str | None, as_json: bool) -> None:
    """Every change to CALL's transcript layout, oldest first."""
    with _session(case, operator) as (session, actor, _case):
        rows = workbench.segment_edit_history(session, actor, call_id)
    if as_json:
        emit([r.as_dict() for r in rows])
        return
    for r in rows:
        out.print(f"v{r.version} {r.at[:19]} {safe(r.actor)}: {r.kind} segment {r.segment_id}")
