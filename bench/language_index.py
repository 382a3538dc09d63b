"""How much of the language stage goes to keeping the search index current.

The language stage writes a chunk of calls per transaction (``calls_per_batch``); each
commit puts the analysed segments in the search outbox, and the same process applies it
right after (:func:`earshot.search.indexer.apply_outbox`): it reads the segments and
their facets again, rewrites their documents and commits the index. This runs the
stage in-process on the sample corpus repeated ``--repeat`` times (as
``bench/language.py`` builds it) and times that share by wrapping ``apply_outbox`` and
``write_segments`` for the run.

Usage: python bench/language_index.py [--repeat 60] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from earshot.language.analysis import AnalysisOptions, analyze_case
from earshot.search import indexer, search
from earshot.store.case import Case

sys.path.insert(0, str(Path(__file__).parent))
from language import build_case  # the same case as bench/language.py

console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=60, help="copies of the sample corpus")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    spent = {"apply_s": 0.0, "applies": 0, "write_s": 0.0, "rewritten": 0}
    apply, write = indexer.apply_outbox, indexer.write_segments

    def timed_apply(engine: Any, idx: Any, **kw: Any) -> int:
        started = time.perf_counter()
        try:
            return apply(engine, idx, **kw)
        finally:
            spent["apply_s"] += time.perf_counter() - started
            spent["applies"] += 1

    def timed_write(idx: Any, conn: Any, ids: list[int]) -> None:
        started = time.perf_counter()
        try:
            write(idx, conn, ids)
        finally:
            spent["write_s"] += time.perf_counter() - started
            spent["rewritten"] += len(ids)

    indexer.apply_outbox = timed_apply  # type: ignore[assignment]
    indexer.write_segments = timed_write  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="earshot-bench-language-index-") as tmp:
        segments = build_case(Path(tmp) / "case", args.repeat)
        case = Case.open(Path(tmp) / "case")
        with case.session() as session:
            search(session, "мама")  # the index is built before the timed run
        analyze_case(case, call_ids=[1], options=AnalysisOptions(workers=1))  # models loaded
        for key in spent:
            spent[key] = 0
        started = time.perf_counter()
        analyze_case(case, options=AnalysisOptions(workers=1))
        wall = time.perf_counter() - started
        case.close()
    share = spent["apply_s"] / wall
    console.print(
        f"{segments:,} segments analysed in {wall:.1f} s; the search outbox applied "
        f"{spent['applies']} times in {spent['apply_s']:.2f} s ({share:.0%} of the run): "
        f"{spent['rewritten']:,} documents rewritten in {spent['write_s']:.2f} s "
        f"({spent['write_s'] / max(1, spent['rewritten']) * 1e6:,.0f} µs each, "
        "reading, making, and the index commits)"
    )
    if args.json:
        report = {"machine": platform.platform(), "segments": segments, "wall_s": wall, **spent}
        args.json.write_text(json.dumps(report, indent=2), "utf-8")


if __name__ == "__main__":
    main()
