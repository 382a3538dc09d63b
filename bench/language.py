"""Language layer benchmark: throughput of the `language` stage, and accuracy.

    .venv/bin/python bench/language.py [--repeat 60] [--workers 2]

Throughput runs the real path: a SQLite case in a temporary folder holding the sample
corpus's transcripts `--repeat` times over (one call per copy of each sample call, two
known persons), analysed by :func:`earshot.language.analysis.analyze_case` -- reading
transcripts, NER, person/place linking, slang, themes and writing every row -- once
in-process (`workers=1`) and once with `--workers` worker processes (the fork server's
cold start, which loads the models once for all workers, is timed on its own and
shown both apart and included). The segment texts repeat, so the
per-word caches are warm as they are after the first calls of a real case. Accuracy:
precision and recall of the slang decoder and of person-name detection on the labelled
sets in tests/language/data/, and -- on the development set (dev_set.yaml, issue 14) --
jargon and theme precision and recall per category, with the context rules' measured effect.

    .venv/bin/python bench/language.py --accuracy-only   # the dev-set tables alone
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete

from earshot.language.analysis import AnalysisOptions, analyze_case
from earshot.language.entities import EntityExtractor
from earshot.language.evaluation import (
    Score,
    context_rule_effects,
    load_labelled,
    score_slang,
    score_themes,
)
from earshot.language.lexicon import load_slang_lexicon
from earshot.language.pool import AnalysisPool, available_cores
from earshot.language.slang import default_matcher
from earshot.language.themes import default_tagger
from earshot.store.case import Case
from earshot.store.language_models import CallTheme, SegmentEntity, SegmentSlang, SegmentTheme
from earshot.store.models import Call, Original, Person, Segment, Transcript

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path(str(files("earshot") / "data" / "sample"))
DATA = ROOT / "tests" / "language" / "data"


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float]:
    return (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0)


def slang_accuracy() -> tuple[float, float, int]:
    rows = yaml.safe_load((DATA / "slang_labelled.yaml").read_text("utf-8"))["sentences"]
    matcher = default_matcher()
    tp = fp = fn = 0
    for row in rows:
        found = {h.term for h in matcher.find(row["text"])}
        wanted = set(row["terms"])
        tp, fp, fn = tp + len(found & wanted), fp + len(found - wanted), fn + len(wanted - found)
    precision, recall = _prf(tp, fp, fn)
    return precision, recall, len(rows)


def _score_table(title: str, total: Score, per: dict[str, Score], target: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("category", "precision", "recall", "tp", "fp", "fn"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for name, score in per.items():
        table.add_row(
            name,
            f"{score.precision:.3f}",
            f"{score.recall:.3f}",
            *map(str, (score.tp, score.fp, score.fn)),
        )
    table.add_row(
        f"ALL (target {target})",
        f"{total.precision:.3f}",
        f"{total.recall:.3f}",
        *map(str, (total.tp, total.fp, total.fn)),
    )
    return table


def dev_set_report(console: Console) -> None:
    """Per-category jargon and theme scores on the development set, and the context rules."""
    rows = load_labelled(DATA / "dev_set.yaml")
    matcher = default_matcher()
    total, per = score_slang(matcher, rows)
    console.print(
        _score_table(
            f"Jargon on the development set ({len(rows)} sentences)",
            total,
            per,
            "P >= 0.95, R >= 0.9",
        )
    )
    total, per = score_themes(default_tagger(), rows)
    console.print(_score_table("Themes on the development set", total, per, "P >= 0.9, R >= 0.8"))
    effects = context_rule_effects(load_slang_lexicon(), rows, matcher)
    kept = sum(e.kept for e in effects)
    removed = sum(e.false_positives_removed for e in effects)
    lost = sum(e.true_hits_lost for e in effects)
    console.print(
        f"Context rules: {len(effects)} measured, {kept} remove more false positives than "
        f"true hits; together they remove {removed} false positives and cost {lost} true hits."
    )
    texts = [row.text for row in rows] * 20
    started = time.perf_counter()
    tagger = default_tagger()
    for text in texts:
        tagger.tag(text, matcher.find(text))
    elapsed = time.perf_counter() - started
    console.print(f"Slang + themes alone: {len(texts) / elapsed:.0f} segments/s, 1 process.")


def name_accuracy() -> tuple[float, float, int]:
    rows = yaml.safe_load((DATA / "names_labelled.yaml").read_text("utf-8"))["sentences"]
    found_all = EntityExtractor().extract_many([r["text"] for r in rows])
    tp = fp = fn = 0
    for row, found in zip(rows, found_all, strict=True):
        got = {e.text for e in found if e.kind == "PER"}
        wanted = set(row["persons"])
        tp, fp, fn = tp + len(got & wanted), fp + len(got - wanted), fn + len(wanted - got)
    precision, recall = _prf(tp, fp, fn)
    return precision, recall, len(rows)


def build_case(path: Path, repeat: int) -> int:
    """A case holding the sample transcripts `repeat` times over; returns its segments."""
    truth: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text("utf-8"))
    case = Case.init(path)
    segments = 0
    with case.session() as session:
        for person in truth["cast"][:2]:
            session.add(
                Person(
                    name=person["full_name"],
                    name_key=person["person_id"],
                    aliases=list(person["nicknames"]),
                )
            )
        for copy in range(repeat):
            for call in truth["calls"]:
                sha = hashlib.sha256(f"{copy}/{call['file']}".encode()).hexdigest()
                session.add(Original(sha256=sha, kind="audio", size=0, stored_path=sha))
                session.flush()
                row = Call(
                    sha256=sha,
                    source_file=f"{copy:04d}-{call['file']}",
                    source_path=call["file"],
                    duration=60.0,
                    channels=1,
                    sample_rate=8000,
                    codec="gsm",
                )
                session.add(row)
                session.flush()
                transcript = Transcript(call_id=row.id, source="sidecar", language="ru")
                session.add(transcript)
                session.flush()
                for idx, turn in enumerate(call["turns"]):
                    session.add(
                        Segment(
                            transcript_id=transcript.id,
                            call_id=row.id,
                            idx=idx,
                            text=turn["text"],
                        )
                    )
                    segments += 1
    case.close()
    return segments


def _clear(case: Case) -> None:
    with case.session() as session:
        for table in (SegmentEntity, SegmentSlang, SegmentTheme, CallTheme):
            session.execute(delete(table))


def timed_run(case: Case, workers: int) -> tuple[float, float, float, dict[str, int]]:
    """(wall s, CPU s of the analysis, CPU s of this process, row counts)."""
    _clear(case)
    options = AnalysisOptions(workers=workers, pool_min_segments=0)
    started, cpu = time.perf_counter(), time.process_time()
    report = analyze_case(case, options=options)
    assert report.workers == workers
    wall, main_cpu = time.perf_counter() - started, time.process_time() - cpu
    return (
        wall,
        report.analysis_cpu_s,
        main_cpu,
        {
            "calls": report.calls,
            "entities": sum(report.entities.values()),
            "slang": report.slang,
            "themes": sum(report.themes.values()),
        },
    )


def pool_startup(workers: int) -> float:
    started = time.perf_counter()
    with AnalysisPool(workers, AnalysisOptions()) as pool:
        list(pool.map([([["Алло."]], ())] * workers))
    return time.perf_counter() - started


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=60, help="Copies of the sample corpus.")
    parser.add_argument(
        "--workers", type=int, default=available_cores(), help="Processes for the pool run."
    )
    parser.add_argument(
        "--accuracy-only", action="store_true", help="Only the development-set tables."
    )
    args = parser.parse_args()
    if args.accuracy_only:
        dev_set_report(Console())
        return
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        segments = build_case(Path(tmp) / "case", args.repeat)
        with Case.open(Path(tmp) / "case") as case:
            started = time.perf_counter()
            analyze_case(case, call_ids=[1], options=AnalysisOptions(workers=1))  # loads
            load_s = time.perf_counter() - started
            single_s, _, single_cpu, single = timed_run(case, 1)
            startup_s = pool_startup(args.workers)  # the fork server loads the models
            pool_s, workers_cpu, main_cpu, pooled = timed_run(case, args.workers)
    if single != pooled:
        raise SystemExit(f"pool and in-process results differ: {single} vs {pooled}")
    slang_p, slang_r, slang_n = slang_accuracy()
    name_p, name_r, name_n = name_accuracy()

    table = Table(
        title=f"Language stage, analyze_case on SQLite ({available_cores()} cores; "
        f"load average before {load_before}, after {_load()})",
        title_justify="left",
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("models load, in-process (s)", f"{load_s:.1f}", "")
    table.add_row(f"pool cold start-up, {args.workers} workers (s)", f"{startup_s:.1f}", "")
    table.add_row("calls / segments", f"{single['calls']} / {segments}", "")
    table.add_row("rows written (entities, slang, themes)", str(single), "")
    table.add_row("segments / s, 1 process", f"{segments / single_s:.0f}", "")
    table.add_row("segments / CPU-s, 1 process (all of it)", f"{segments / single_cpu:.0f}", "")
    table.add_row(f"segments / s, {args.workers} workers", f"{segments / pool_s:.0f}", ">= 500")
    table.add_row(
        f"segments / s, {args.workers} workers, cold start-up included",
        f"{segments / (pool_s + startup_s):.0f}",
        "",
    )
    table.add_row(
        "segments / CPU-s: workers together / main process (reads, writes)",
        f"{segments / workers_cpu:.0f} / {segments / main_cpu:.0f}",
        "",
    )
    cores = available_cores()
    idle = segments / max((workers_cpu + main_cpu) / cores, main_cpu)
    table.add_row(f"CPU bound on {cores} idle cores, {args.workers} workers", f"{idle:.0f}", "")
    table.add_row(f"slang precision ({slang_n} sentences)", f"{slang_p:.3f}", ">= 0.9")
    table.add_row("slang recall", f"{slang_r:.3f}", ">= 0.9")
    table.add_row(f"person-name precision ({name_n} sentences)", f"{name_p:.3f}", ">= 0.9")
    table.add_row("person-name recall", f"{name_r:.3f}", ">= 0.9")
    console = Console()
    console.print(table)
    dev_set_report(console)


if __name__ == "__main__":
    main()
