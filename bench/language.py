"""Language layer benchmark: throughput of NER + linking + slang + themes, and accuracy.

    .venv/bin/python bench/language.py [--repeat 40]

Throughput: the sample corpus's segments (with two known persons in the directory),
repeated to make a few thousand segments, through LanguageAnalyzer.analyze_many in
batches of 16 calls, as the stage runs it (no database). Accuracy: precision and recall
of the slang decoder and of person-name detection on the labelled sets in
tests/language/data/.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from importlib.resources import files
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from earshot.language.analysis import LanguageAnalyzer
from earshot.language.entities import EntityExtractor
from earshot.language.names import KnownPerson, PersonDirectory
from earshot.language.slang import default_matcher

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


def name_accuracy(extractor: EntityExtractor) -> tuple[float, float, int]:
    rows = yaml.safe_load((DATA / "names_labelled.yaml").read_text("utf-8"))["sentences"]
    found_all = extractor.extract_many([r["text"] for r in rows])
    tp = fp = fn = 0
    for row, found in zip(rows, found_all, strict=True):
        got = {e.text for e in found if e.kind == "PER"}
        wanted = set(row["persons"])
        tp, fp, fn = tp + len(got & wanted), fp + len(got - wanted), fn + len(wanted - got)
    precision, recall = _prf(tp, fp, fn)
    return precision, recall, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=40, help="Corpus repetitions.")
    args = parser.parse_args()
    truth = json.loads((SAMPLE / "truth.json").read_text("utf-8"))
    calls = [[t["text"] for t in c["turns"]] for c in truth["calls"]] * args.repeat
    persons = [
        KnownPerson(str(i), names=(c["full_name"],), aliases=tuple(c["nicknames"]))
        for i, c in enumerate(truth["cast"][:2], 1)
    ]
    directory = PersonDirectory(persons)
    started = time.perf_counter()
    analyzer = LanguageAnalyzer()
    analyzer.analyze_many(calls[:1], directory, persons)  # warm up lazy loads
    load = time.perf_counter() - started
    segments = sum(len(c) for c in calls)
    started = time.perf_counter()
    for i in range(0, len(calls), 16):
        analyzer.analyze_many(calls[i : i + 16], directory, persons)
    elapsed = time.perf_counter() - started
    slang_p, slang_r, slang_n = slang_accuracy()
    name_p, name_r, name_n = name_accuracy(analyzer.extractor)

    table = Table(title=f"Language layer ({os.cpu_count()} CPUs)", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("models load (s)", f"{load:.1f}", "")
    table.add_row("segments", str(segments), "")
    table.add_row("segments / s (NER+link+slang+themes)", f"{segments / elapsed:.0f}", ">= 500")
    table.add_row(f"slang precision ({slang_n} sentences)", f"{slang_p:.3f}", ">= 0.9")
    table.add_row("slang recall", f"{slang_r:.3f}", ">= 0.9")
    table.add_row(f"person-name precision ({name_n} sentences)", f"{name_p:.3f}", ">= 0.9")
    table.add_row("person-name recall", f"{name_r:.3f}", ">= 0.9")
    Console().print(table)


if __name__ == "__main__":
    main()
