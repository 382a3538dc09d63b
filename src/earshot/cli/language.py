"""Language commands: analyze, translate, translation (edit/review/...), trends.

`earshot export` lives in the publication layer (cli/publish.py); its full JSON is
:func:`earshot.publish.export_json.build_export`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..errors import ConfigError
from ..store.case import Case
from ._base import case_argument, cli, emit, err, json_option, out, progress_bar, settings_from_env
from ._terminal import safe


def _parse_ids(value: str | None) -> list[int] | None:
    if value is None:
        return None
    ids: list[int] = []
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        low, sep, high = part.partition("-")
        try:
            ids.extend(range(int(low), int(high) + 1) if sep else [int(part)])
        except ValueError:
            raise ConfigError(f"--calls {value!r}: give call ids like 1,4,7-9") from None
    return ids


calls_option = click.option(
    "--calls", "calls_", metavar="IDS", help="Only these call ids (e.g. 1,4,7-9); default: all."
)
operator_option = click.option(
    "--operator", metavar="NAME", help="Who is doing this (default: settings / login name)."
)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int, int], None]]:
    with progress_bar(label) as bar:
        task = bar.add_task(label, total=None, current="")

        def advance(call_id: int, done: int, total: int) -> None:
            bar.update(task, total=total, completed=done, current=f"call {call_id}")

        yield advance


# ---------------------------------------------------------------- analyze


@cli.command()
@case_argument
@calls_option
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Analysis processes for large runs (0: one per core; used from 20,000 segments on).",
)
@json_option
def analyze(case: Path, calls_: str | None, workers: int, as_json: bool) -> None:
    """Find entities, persons, places, slang and themes in the calls' transcripts.

    Reads each call's current verbatim transcript and replaces its previous
    analysis; running it again on unchanged transcripts gives the same result.
    """
    from ..language.analysis import AnalysisOptions, analyze_case

    with (
        Case.open(case, settings=settings_from_env()) as opened,
        opened.exclusive("analyze"),
        _progress("analyze") as tick,
    ):
        report = analyze_case(
            opened,
            call_ids=_parse_ids(calls_),
            progress=tick,
            options=AnalysisOptions(workers=workers),
        )
    data = report.as_dict()
    if as_json:
        emit(data)
        return
    entities = ", ".join(f"{k} {v}" for k, v in data["entities"].items()) or "none"
    themes = ", ".join(f"{k} {v}" for k, v in data["themes"].items()) or "none"
    out.print(f"Analysed {data['calls']} calls, {data['segments']} segments")
    out.print(f"  entities: {safe(entities)}")
    out.print(f"  slang hits: {data['slang']}; call themes: {safe(themes)}")
    if data["without_transcript"]:
        err.print(f"No transcript yet for calls {data['without_transcript']}")


# ---------------------------------------------------------------- translate


@cli.command()
@case_argument
@click.option(
    "--mt",
    "engine_spec",
    metavar="ENGINE[:MODEL]",
    default="none",
    show_default=True,
    help="Machine translation: ctranslate2:MODEL_DIR, argos[:ru-en], http:URL "
    "(LibreTranslate-compatible; key from $EARSHOT_MT_API_KEY), none, or reference.",
)
@click.option(
    "--from-reference",
    is_flag=True,
    help="Draft from imported reference translations (NAME.en.vtt beside the audio), "
    "aligned to segments by time (same as --mt reference).",
)
@calls_option
@operator_option
@json_option
def translate(
    case: Path,
    engine_spec: str,
    from_reference: bool,
    calls_: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Make draft English translations of the calls' segments.

    Never overwrites a translation a person has edited, reviewed or approved;
    untouched drafts are re-drafted when the engine changes. Slang in a segment
    is attached to its draft as translator's notes with the gloss.
    """
    from ..language.translation import draft_from_reference, draft_translations, get_engine

    settings = settings_from_env(operator)
    reference = from_reference or engine_spec.split(":", 1)[0].lower() == "reference"
    ids = _parse_ids(calls_)
    with (
        Case.open(case, settings=settings) as opened,
        opened.exclusive("translate"),
        _progress("translate") as tick,
        opened.session() as session,
    ):
        if reference:
            report = draft_from_reference(
                session, actor=settings.operator, call_ids=ids, progress=tick
            )
        else:
            report = draft_translations(
                session,
                get_engine(engine_spec),
                actor=settings.operator,
                call_ids=ids,
                progress=tick,
            )
    data = report.as_dict()
    if as_json:
        emit(data)
        return
    out.print(
        f"{safe(str(data['engine'].get('engine')))}: {data['created']} new drafts, "
        f"{data['redrafted']} re-drafted, {data['kept']} kept"
    )
    if data["without_transcript"]:
        err.print(f"No transcript yet for calls {data['without_transcript']}")
    if data["without_reference"]:
        err.print(f"No reference translation for calls {data['without_reference']}")


# ---------------------------------------------------------------- translation workflow


@cli.group()
def translation() -> None:
    """Edit, review and approve a segment's translation; show its history.

    Each change needs --expected-version (the version you last saw) so that two
    people never overwrite each other: a stale version is refused.
    """


def _show(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(data)
    else:
        out.print(
            f"segment {data['segment_id']}: {data['status']} v{data['version']}: "
            f"{safe(data['text'])}"
        )


segment_argument = click.argument("segment_id", type=int, metavar="SEGMENT_ID")
version_option = click.option(
    "--expected-version",
    type=int,
    required=True,
    help="The translation version you last saw (0 if it has none yet); a stale one is refused.",
)
note_option = click.option("--note", metavar="TEXT", help="A note kept in the history.")


def _step(
    case: Path,
    operator: str | None,
    as_json: bool,
    status: str,
    segment_id: int,
    *,
    text: str | None,
    expected_version: int,
    note: str | None,
) -> None:
    """Move one translation to `status` as the operator (an editor) through the library's
    ``earshot.edits.save_translation``, the same call the web makes, and show the result.

    Review and approval follow the case's four-eyes setting (``translation_four_eyes``).
    """
    from .. import edits
    from ..security.roles import Actor, Role

    settings = settings_from_env(operator)
    with Case.open(case, settings=settings) as opened, opened.session() as session:
        record = edits.save_translation(
            session,
            Actor(settings.operator, Role.EDITOR),
            segment_id=segment_id,
            text=text,
            status=status,
            expected_version=expected_version,
            four_eyes=opened.settings.translation_four_eyes,
            note=note,
        )
        data = record.as_dict()
    _show(data, as_json)


@translation.command("edit")
@case_argument
@segment_argument
@click.option("--text", required=True, help="The translated text.")
@version_option
@note_option
@operator_option
@json_option
def translation_edit(
    case: Path,
    segment_id: int,
    text: str,
    expected_version: int,
    note: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Write or correct the translation of one segment (status becomes edited)."""
    _step(
        case,
        operator,
        as_json,
        "edited",
        segment_id,
        text=text,
        expected_version=expected_version,
        note=note,
    )


@translation.command("review")
@case_argument
@segment_argument
@click.option("--text", help="Corrected text (default: keep the translator's).")
@version_option
@note_option
@operator_option
@json_option
def translation_review(
    case: Path,
    segment_id: int,
    text: str | None,
    expected_version: int,
    note: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Mark an edited translation (or a draft accepted as is) reviewed, optionally correcting it.

    Under the four-eyes rule the reviewer must not be the translator.
    """
    _step(
        case,
        operator,
        as_json,
        "reviewed",
        segment_id,
        text=text,
        expected_version=expected_version,
        note=note,
    )


@translation.command("approve")
@case_argument
@segment_argument
@version_option
@note_option
@operator_option
@json_option
def translation_approve(
    case: Path,
    segment_id: int,
    expected_version: int,
    note: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Approve a reviewed translation for publication (four-eyes: not by its reviewer)."""
    _step(
        case,
        operator,
        as_json,
        "approved",
        segment_id,
        text=None,
        expected_version=expected_version,
        note=note,
    )


@translation.command("history")
@case_argument
@segment_argument
@json_option
def translation_history_command(case: Path, segment_id: int, as_json: bool) -> None:
    """Show every recorded state of a segment's translation, oldest first."""
    from ..language.translation import translation_history

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "version": h.version,
                "status": h.status,
                "action": h.action,
                "actor": h.actor,
                "at": h.at.isoformat(),
                "text": h.text,
                "note": h.note,
            }
            for h in translation_history(session, segment_id)
        ]
    if as_json:
        emit(rows)
        return
    table = Table(title=f"segment {segment_id}: {len(rows)} changes", title_justify="left")
    for column in ("v", "status", "action", "actor", "at", "text"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["version"]),
            safe(r["status"]),
            safe(r["action"]),
            safe(r["actor"]),
            r["at"][:19],
            safe(r["text"]),
        )
    out.print(table)


# ---------------------------------------------------------------- trends


@cli.command()
@case_argument
@click.option("--theme", required=True, metavar="THEME", help="Theme id from themes.yaml.")
@click.option(
    "--by",
    type=click.Choice(["day", "week", "month"]),
    default="month",
    show_default=True,
    help="Period to group calls by.",
)
@click.option("--timezone", metavar="ZONE", help="Zone for periods (default: the case's).")
@json_option
def trends(case: Path, theme: str, by: str, timezone: str | None, as_json: bool) -> None:
    """Calls per period and the share that carry THEME, with a 95% Wilson interval."""
    from ..language.trends import theme_trend

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        zone = timezone or getattr(opened.settings, "timezone", None) or "UTC"
        trend = theme_trend(session, theme, by=by, tz=zone)
    data = trend.as_dict()
    if as_json:
        emit(data)
        return
    table = Table(title=f"{safe(theme)} by {by} ({safe(zone)})", title_justify="left")
    for column in ("period", "calls", "with theme", "share", "95% CI"):
        table.add_column(column, justify="right")
    for row in [*data["periods"], *([data["undated"]] if data["undated"]["calls"] else [])]:
        share = "-" if row["share"] is None else f"{row['share']:.0%}"
        low, high = row["ci95"]
        table.add_row(
            row["period"], str(row["calls"]), str(row["with_theme"]), share, f"{low:.0%}–{high:.0%}"
        )
    out.print(table)
