"""Where the search index build's time goes, on a case kept by ``bench/search.py --keep``.

The build (``earshot.search.reindex``) is two workers: the Python side reads the rows
and the facets, lemmatises and assembles each document; tantivy's indexing thread
writes it. This times, over the first N segments of the case, into a scratch in-memory
index (the case's own index is not touched):

* ``python``: the Python side alone (documents made, then dropped);
* ``tantivy``: tantivy alone, handed the same documents already made (1 and 2 indexing
  threads);
* ``together``: both, as the rebuild runs them (each document added as it is made).

Wall time and this process's CPU time per segment (CPU counts tantivy's threads too), so
that one can see whether the two sides overlap on the machine at hand.

Usage: python bench/search_build.py CASE_DIR [--segments 300000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import tantivy
from rich.console import Console
from rich.table import Table

from earshot.search.facets import FacetReader
from earshot.search.index import SegmentText, read_segments
from earshot.search.tindex import CaseIndex, make_document
from earshot.store.case import Case

console = Console()
_BATCH = 5000
_HEAP = 400_000_000


def documents(case: Case, limit: int) -> Iterator[tantivy.Document]:
    """The case's first `limit` documents, made as the rebuild makes them."""
    with case.engine.connect() as conn:
        reader = FacetReader(conn)
        last, done = 0, 0
        while done < limit:
            segs: list[SegmentText] = read_segments(
                conn, "s.id > ? ORDER BY s.id LIMIT ?", [last, min(_BATCH, limit - done)]
            )
            if not segs:
                return
            facets = reader.segments({s.segment_id: s.call_id for s in segs})
            for seg in segs:
                yield make_document(seg, "UTC", facets.get(seg.segment_id))
            done += len(segs)
            last = segs[-1].segment_id


def timed(label: str, n: int, work: Callable[[], object]) -> dict[str, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "stage": label,
        "wall_us": wall / n * 1e6,
        "cpu_us": cpu / n * 1e6,
        "rate": n / wall,
    }


def write(docs: Iterator[tantivy.Document] | list[tantivy.Document], threads: int) -> None:
    index = CaseIndex(None).index
    writer = index.writer(_HEAP, threads)
    for doc in docs:
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()


def tantivy_alone(made: list[tantivy.Document]) -> list[dict[str, object]]:
    """tantivy's share: the documents handed over already made, 1 and 2 threads."""
    return [
        timed(f"tantivy, {t} thread{'s' if t > 1 else ''}", len(made), partial(write, made, t))
        for t in (1, 2)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "case", type=Path, help="a case directory (of bench/search.py --keep DIR: DIR/case)"
    )
    parser.add_argument("--segments", type=int, default=300_000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    case = Case.open(args.case)
    n = args.segments
    # Warm the word caches and the morphology, as a rebuild has them after its first batch.
    for _doc in documents(case, 20_000):
        pass
    rows: list[dict[str, object]] = []
    rows.append(timed("python", n, lambda: sum(1 for _d in documents(case, n))))
    rows += tantivy_alone(list(documents(case, n)))
    rows.append(timed("together (the rebuild)", n, lambda: write(documents(case, n), 1)))
    case.close()
    table = Table(title=f"{platform.node()}: index build of {n:,} segments, per segment")
    for column in ("stage", "wall µs", "CPU µs", "segments/s"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for row in rows:
        table.add_row(
            str(row["stage"]),
            f"{row['wall_us']:.1f}",
            f"{row['cpu_us']:.1f}",
            f"{row['rate']:,.0f}",
        )
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps({"segments": n, "stages": rows}, indent=2), "utf-8")


if __name__ == "__main__":
    main()
