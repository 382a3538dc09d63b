"""Search and analysis commands: search, graph, timeline."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ..analysis import GRAPH_FORMATS, TimelineOptions, timeline
from ..analysis.timeline import PERIODS
from ..search import SearchOptions, reindex, search
from ..store.case import Case
from ._base import case_argument, cli, emit, json_option, out, progress_bar, settings_from_env
from ._terminal import safe, safe_json_text, visible


def _highlighted(snippet: str) -> str:
    """Rich markup for a snippet: hits (between [ and ]) in bold, everything else escaped."""
    parts: list[str] = []
    rest = snippet
    while "[" in rest and "]" in rest[rest.index("[") :]:
        start = rest.index("[")
        end = rest.index("]", start)
        parts += [safe(rest[:start]), "[bold yellow]", safe(rest[start + 1 : end]), "[/]"]
        rest = rest[end + 1 :]
    parts.append(safe(rest))
    return "".join(parts)


@cli.command("search")
@case_argument
@click.argument("query", required=False, metavar="QUERY")
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(0), help="Most hits to show."
)
@click.option("--offset", default=0, type=click.IntRange(0), help="Skip this many hits (paging).")
@click.option(
    "--reindex",
    "rebuild",
    is_flag=True,
    help="Rebuild the search index from every transcript first.",
)
@json_option
def search_command(
    case: Path, query: str | None, limit: int, offset: int, rebuild: bool, as_json: bool
) -> None:
    """Search every transcript and translation of the case.

    Words and "quoted phrases" match in any inflection; combine with AND, OR, NOT (or
    -word) and parentheses; English words search the translations. Filters:
    term:ID theme:ID person:ID|NAME phone:NUMBER place:NAME party:A|B
    from:YYYY-MM-DD to:YYYY-MM-DD call:ID. See docs/search.md.
    """
    with Case.open(case) as opened:
        indexed = None
        if rebuild:
            with progress_bar("reindex") as progress, opened.exclusive("search --reindex"):
                task = progress.add_task("reindex", total=None, current="")
                with opened.session() as session:
                    indexed = reindex(
                        session,
                        lambda done, total: progress.update(task, completed=done, total=total),
                    )
        if query is None:
            if indexed is None:
                raise click.UsageError("give a QUERY, or --reindex")
            if as_json:
                emit({"reindexed": indexed})
            else:
                out.print(f"Re-indexed {indexed} segments")
            return
        options = SearchOptions(
            limit=limit,
            offset=offset,
            region=opened.settings.region,
            timezone=opened.settings.timezone,
        )
        with opened.session() as session:
            result = search(session, query, options)
    if as_json:
        data = result.as_dict()
        if indexed is not None:
            data["reindexed"] = indexed
        emit(data)
        return
    # Past the count cap the total is a floor: "10000+" (see docs/search.md, Results).
    shown_total = f"{result.total}+" if result.total_is_estimate else str(result.total)
    table = Table(
        title=f"{shown_total} hit(s)"
        + (f", showing {len(result.hits)}" if result.total > len(result.hits) else "")
    )
    for col in ("call", "seg", "time", "party", "text", "score"):
        table.add_column(col, justify="right" if col in ("call", "seg", "score") else "left")
    for hit in result.hits:
        when = (
            f"{hit.start:.1f}–{hit.end:.1f}"
            if hit.start is not None and hit.end is not None
            else ""
        )
        table.add_row(
            str(hit.call),
            str(hit.segment),
            when,
            safe(hit.party or ""),
            _highlighted(hit.snippet),
            f"{hit.score:.3f}",
        )
    out.print(table)


@cli.command("graph")
@case_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(GRAPH_FORMATS),
    default="json",
    show_default=True,
    help="GraphML or GEXF (for Gephi, yEd...) or node-link JSON.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (mode 0600) instead of stdout.",
)
@click.option(
    "--redact",
    is_flag=True,
    help='Persons under the pseudonyms every export uses, phones as "Phone N"; the leak '
    "guard checks the graph. One of --redact or --identifying is required.",
)
@click.option(
    "--identifying",
    is_flag=True,
    help="Ask explicitly for the full graph with names and numbers (editors only; audited).",
)
@click.option(
    "--operator", metavar="NAME", help="Who is doing this (default: settings / login name)."
)
@json_option
def graph_command(
    case: Path,
    fmt: str,
    output: Path | None,
    redact: bool,
    identifying: bool,
    operator: str | None,
    as_json: bool,
) -> None:
    """The call graph: phones and persons as nodes, calls as edges with weight and dates.

    It names every person and number, so it is gated like every export: --redact for
    the pseudonymised graph, --identifying to ask explicitly for the full one.
    """
    from ..publish.graph_export import GraphOptions, export_graph

    if redact == identifying:
        raise click.UsageError(
            "the call graph names people and numbers: add --redact for the pseudonymised "
            "graph, or --identifying to ask explicitly for the full one (not both)"
        )
    settings = settings_from_env(operator)
    options = GraphOptions(
        fmt="json" if as_json and output is None else fmt,
        redact=redact,
        identifying=identifying,
        operator=settings.operator,
    )
    with Case.open(case, settings=settings) as opened:
        result, body = export_graph(opened, output, options)
    if output is None:
        # Names in the graph come from the material: no control character reaches the
        # terminal (JSON keeps its values through escapes; XML 1.0 cannot hold them raw).
        click.echo(safe_json_text(body) if options.fmt == "json" else visible(body, lines=True))
        return
    summary = result.as_dict()
    if as_json:
        emit(summary)
    else:
        where = safe(str(output))
        kind = "redacted" if redact else "IDENTIFYING"
        out.print(
            f"Wrote a {kind} graph of {result.nodes} nodes and {result.edges} edges to {where}"
        )


@cli.command("timeline")
@case_argument
@click.option(
    "--by",
    "period",
    type=click.Choice(PERIODS),
    default="month",
    show_default=True,
    help="Count calls per day, ISO week or month.",
)
@click.option("--person", metavar="ID|NAME", help="Only calls where this person is a party.")
@click.option("--phone", metavar="NUMBER", help="Only calls to or from this number (any format).")
@click.option("--theme", metavar="ID", help="Only calls tagged with this theme.")
@click.option("--term", metavar="ID", help="Only calls where this slang term was found.")
@json_option
def timeline_command(
    case: Path,
    period: str,
    person: str | None,
    phone: str | None,
    theme: str | None,
    term: str | None,
    as_json: bool,
) -> None:
    """Calls per day, week or month, optionally for one person, phone, theme or slang term."""
    with Case.open(case) as opened, opened.session() as session:
        options = TimelineOptions(
            period=period,
            person=person,
            phone=phone,
            theme=theme,
            term=term,
            timezone=opened.settings.timezone,
            region=opened.settings.region,
        )
        data = timeline(session, options)
    if as_json:
        emit(data)
        return
    table = Table(
        title=f"calls per {period}: {data['total']}"
        + (f" (+{data['undated']} undated)" if data["undated"] else "")
    )
    table.add_column(period)
    table.add_column("calls", justify="right")
    table.add_column("")
    top = max((b["calls"] for b in data["buckets"]), default=1)
    for bucket in data["buckets"]:
        table.add_row(
            bucket["period"], str(bucket["calls"]), "█" * max(1, round(30 * bucket["calls"] / top))
        )
    out.print(table)
