"""Search at scale: Earshot's search beside a bare tantivy index, on a synthetic case.

Builds a case of N segments whose words and lengths follow the sample corpus (word
frequencies and words-per-segment drawn from its transcripts), bulk-inserted with
plain SQL (no ORM events), then times the index build end to end (read the database,
lemmatize, write the tantivy index: ``earshot.search.reindex``) and a fixed query mix
through ``earshot.search.search``: single word, two words, phrase, word + facet, facet
only. In the same run it builds a *bare* tantivy index of the same lemma strings (one
whitespace-tokenized field, the strings given) and times the same single-word and
two-word queries on it (the words' lemma keys, top 20 by BM25 plus the hit count), and
reports each Earshot p95 as a multiple of bare tantivy's single-word p95. Each query
mix runs ``--rounds`` times over (5: the first with cold caches), for both, so a p95 is
taken over 200 samples rather than being the third-slowest of 40.

Usage: python bench/search.py [--segments 1000000] [--pg postgresql://host:5432/postgres]
                              [--encrypt] [--keep DIR]
Targets (issue 19), at 1M segments: every query type p95 within 3x of bare tantivy's
single-word p95 and at most 5 ms; index build >= 100k segments/s end to end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from itertools import pairwise
from pathlib import Path

import psycopg
import tantivy
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, text

import earshot.store.schema  # noqa: F401  (every layer's tables and the search events)
from earshot.language.morph import tokens
from earshot.search import TOTAL_CAP, SearchOptions, reindex, search
from earshot.search.text import index_text, word_keys
from earshot.security.crypto import KeySource, create_key_file
from earshot.store.case import Case
from earshot.store.models import Call, Original, Party, Phone, Segment, Transcript, utcnow

SEGMENTS_PER_CALL = 20
# Each query mix is run this many times over (the first round with cold caches, as a
# server's first searches are), so that a p95 is not one unlucky sample of 40; Earshot
# and bare tantivy alike.
ROUNDS = 5
ZONE = "Europe/Moscow"
PHONES = 400
console = Console()


def sample_corpus() -> tuple[list[str], list[int], list[tuple[str, str]]]:
    """Words (with repeats, i.e. their frequencies), segment lengths, and bigrams of the sample."""
    truth = json.loads((files("earshot.data") / "sample" / "truth.json").read_text("utf-8"))
    words: list[str] = []
    lengths: list[int] = []
    bigrams: list[tuple[str, str]] = []
    for call in truth["calls"]:
        for turn in call["turns"]:
            toks = [w for _s, _e, w in tokens(turn["text"])]
            words += toks
            lengths.append(max(1, len(toks)))
            bigrams += list(pairwise(toks))
    return words, lengths, bigrams


def build(case: Case, n: int, rng: random.Random) -> float:
    words, lengths, _ = sample_corpus()
    calls = (n + SEGMENTS_PER_CALL - 1) // SEGMENTS_PER_CALL
    if n == 0:
        return 0.0
    start = time.perf_counter()
    base = datetime(2022, 10, 1, tzinfo=UTC)
    with case.engine.begin() as conn:
        conn.execute(
            insert(Phone),
            [
                {"id": i + 1, "e164": f"+7915555{i:04d}", "created_at": utcnow()}
                for i in range(PHONES)
            ],
        )
        for first in range(0, calls, 5000):
            chunk = range(first, min(calls, first + 5000))
            shas = [hashlib.sha256(f"call{i}".encode()).hexdigest() for i in chunk]
            conn.execute(
                insert(Original),
                [
                    {
                        "sha256": s,
                        "kind": "audio",
                        "size": 1,
                        "stored_path": s,
                        "stored_at": utcnow(),
                    }
                    for s in shas
                ],
            )
            conn.execute(
                insert(Call),
                [
                    {
                        "id": i + 1,
                        "sha256": s,
                        "source_file": f"c{i}.wav",
                        "source_path": f"c{i}.wav",
                        "started_at": base + timedelta(seconds=i * 200 * 86400 // calls),
                        "duration": 60.0,
                        "channels": 1,
                        "sample_rate": 8000,
                        "codec": "pcm",
                        "attributes": {},
                        "status": "ingested",
                        "created_at": utcnow(),
                    }
                    for i, s in zip(chunk, shas, strict=True)
                ],
            )
            conn.execute(
                insert(Transcript),
                [
                    {
                        "id": i + 1,
                        "call_id": i + 1,
                        "source": "sidecar",
                        "kind": "verbatim",
                        "language": "ru",
                        "engine": {},
                        "created_at": utcnow(),
                    }
                    for i in chunk
                ],
            )
            conn.execute(
                insert(Party),
                [
                    {
                        "call_id": i + 1,
                        "label": label,
                        "role": role,
                        "phone_id": rng.randrange(PHONES) + 1,
                    }
                    for i in chunk
                    for label, role in (("A", "caller"), ("B", "callee"))
                ],
            )
        for first in range(0, n, 20000):
            rows = []
            for k in range(first, min(n, first + 20000)):
                call = k // SEGMENTS_PER_CALL
                length = rng.choice(lengths)
                body = " ".join(rng.choice(words) for _ in range(length)).capitalize() + "."
                rows.append(
                    {
                        "id": k + 1,
                        "transcript_id": call + 1,
                        "call_id": call + 1,
                        "idx": k % SEGMENTS_PER_CALL,
                        "start": 2.0 * (k % SEGMENTS_PER_CALL),
                        "end": 2.0 * (k % SEGMENTS_PER_CALL) + 1.8,
                        "party": "AB"[k % 2],
                        "text": body,
                        "words": [],
                    }
                )
            conn.execute(insert(Segment), rows)
    return time.perf_counter() - start


def settle(case: Case) -> None:
    """What a bulk load is followed by: planner statistics, and on PostgreSQL a VACUUM
    (the first reads of freshly inserted rows would otherwise write their hint bits,
    which autovacuum does in the background of a real case)."""
    if case.engine.dialect.name == "postgresql":
        with case.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with case.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def query_mix(rng: random.Random, count: int) -> dict[str, list[str]]:
    words, _lengths, bigrams = sample_corpus()
    freq = Counter(w.lower() for w in words if len(w) >= 5 and w.isalpha())
    content = [w for w, _c in freq.most_common()[10:400]]
    phrases = [b for b in bigrams if all(len(w) >= 4 and w.isalpha() for w in b)]
    mix: dict[str, list[str]] = {
        k: [] for k in ("word", "two words", "phrase", "word + facet", "facet only")
    }
    for _ in range(count):
        mix["word"].append(rng.choice(content))
        mix["two words"].append(f"{rng.choice(content)} {rng.choice(content)}")
        a, b = rng.choice(phrases)
        mix["phrase"].append(f'"{a} {b}"')
        month = rng.choice(["2022-11", "2023-01", "2023-03"])
        mix["word + facet"].append(f"{rng.choice(content)} from:{month} to:{month} party:A")
        mix["facet only"].append(
            f"phone:+7915555{rng.randrange(PHONES):04d} from:{month} to:{month}"
        )
    return mix


def bare_tantivy(case: Case, mix: dict[str, list[str]], rounds: int = ROUNDS) -> dict[str, object]:
    """A bare tantivy index of the case's lemma strings, and its query timings."""
    with case.engine.connect() as conn:
        bodies = [str(r[0]) for r in conn.execute(text("SELECT text FROM segments ORDER BY id"))]
    strings = [index_text(b, "ru") for b in bodies]
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("ru", tokenizer_name="whitespace", index_option="freq")
    schema = builder.build()
    index = tantivy.Index(schema)
    t0 = time.perf_counter()
    writer = index.writer(400_000_000, 2)
    for body in strings:
        writer.add_document(tantivy.Document(ru=body))
    writer.commit()
    writer.wait_merging_threads()
    build_s = time.perf_counter() - t0
    index.reload()
    searcher = index.searcher()
    q = tantivy.Query

    def word(w: str) -> tantivy.Query:
        keys = word_keys(w)["ru"]
        return q.boolean_query(
            [(tantivy.Occur.Should, q.term_query(schema, "ru", k)) for k in keys]
        )

    out: dict[str, object] = {"rate": len(strings) / build_s, "index_s": build_s}
    for kind in ("word", "two words"):
        times: list[float] = []
        totals: list[int] = []
        for text_ in mix[kind] * rounds:
            words = text_.split()
            query = (
                word(words[0])
                if len(words) == 1
                else q.boolean_query([(tantivy.Occur.Must, word(w)) for w in words])
            )
            t = time.perf_counter()
            result = searcher.search(query, limit=20, count=True)
            times.append((time.perf_counter() - t) * 1000)
            totals.append(int(result.count or 0))
        out[kind] = {
            "p50": pct(times, 50),
            "p95": pct(times, 95),
            "hits": statistics.median(totals),
        }
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(
    db: str | None,
    n: int,
    queries: int,
    seed: int,
    keep: Path | None = None,
    encrypt: bool = False,
    rounds: int = ROUNDS,
) -> dict[str, object]:
    rng = random.Random(seed)
    root = keep or Path(tempfile.mkdtemp(prefix="earshot-bench-search-"))
    reuse = keep is not None and (keep / "case" / "earshot.toml").exists()
    key_file = root / "case.key"
    if encrypt and not key_file.exists():
        root.mkdir(parents=True, exist_ok=True)
        create_key_file(key_file)
    key = KeySource(key_file=key_file) if encrypt else None
    try:
        if reuse:
            case = Case.open(root / "case", key=key)
            backend = case.engine.dialect.name
            with case.session() as session:
                n = int(session.execute(text("SELECT count(*) FROM segments")).scalar_one())
            console.print(f"[bold]{backend}[/]: reusing {n:,} segments in {root}")
            gen, build_s, indexed = 0.0, float("nan"), n
        else:
            # The case's own time zone: the synthetic calls are Russian, and the query
            # mix's dates are read in the same zone (SearchOptions below).
            case = Case.init(root / "case", db=db, encryption=key, case_settings={"timezone": ZONE})
            backend = case.engine.dialect.name
            console.print(f"[bold]{backend}[/]: generating {n:,} segments ...")
            gen = build(case, n, rng)
            settle(case)
            console.print(f"  generated in {gen:.1f} s; building the index ...")
            t0 = time.perf_counter()
            with case.session() as session:
                indexed = reindex(session)
            build_s = time.perf_counter() - t0
            console.print(f"  indexed {indexed:,} in {build_s:.1f} s ({indexed / build_s:,.0f}/s)")
        results: dict[str, dict[str, float]] = {}
        options = SearchOptions(limit=20, timezone=ZONE)
        mix = query_mix(random.Random(seed + 1), queries)
        console.print("  building the bare tantivy index of the same lemma strings ...")
        bare = bare_tantivy(case, mix, rounds)
        console.print(f"  bare tantivy: {bare['rate']:,.0f} segments/s, {bare['word']}")
        for kind, qs in mix.items():
            times: list[float] = []
            totals: list[int] = []
            with case.session() as session:
                search(session, qs[0], options)  # warm caches
                for q in qs * rounds:
                    t = time.perf_counter()
                    result = search(session, q, options)
                    times.append((time.perf_counter() - t) * 1000)
                    totals.append(result.total)
            results[kind] = {
                "p50": pct(times, 50),
                "p95": pct(times, 95),
                "p99": pct(times, 99),
                "hits": statistics.median(totals),
                # a total at the cap is a floor ("10000+"), see docs/search.md
                "hits_capped": statistics.median(totals) >= TOTAL_CAP,
            }
            console.print(
                f"  {kind}: p50 {results[kind]['p50']:.1f} ms, p95 {results[kind]['p95']:.1f} ms"
            )
        case.close()
        bare_p95 = float(bare["word"]["p95"])  # type: ignore[index]
        for r in results.values():
            r["ratio"] = r["p95"] / bare_p95
        return {
            "backend": backend + (" (SQLCipher)" if encrypt and db is None else ""),
            "segments": n,
            "generate_s": gen,
            "index_s": build_s,
            "rate": indexed / build_s,
            "queries": results,
            "bare": bare,
        }
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    name = f"earshot_bench_search_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def kept_database(server: str, keep: Path) -> str:
    """A database for a kept PostgreSQL case, named after its folder (made when new)."""
    name = "earshot_bench_keep_" + hashlib.sha256(str(keep.resolve()).encode()).hexdigest()[:8]
    with psycopg.connect(server, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--segments", type=int, default=1_000_000, help="segments in the synthetic case"
    )
    parser.add_argument(
        "--pg",
        metavar="URL",
        help="also run on PostgreSQL: a server URL (postgresql://host:5432/postgres); a "
        "scratch database is created there and dropped afterwards",
    )
    parser.add_argument("--queries", type=int, default=40, help="queries of each type")
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="times each query mix is run (p95 over all)"
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--skip-sqlite", action="store_true", help="only run on PostgreSQL")
    parser.add_argument(
        "--encrypt",
        action="store_true",
        help="an encrypted case: the SQLite database is SQLCipher (see docs/security.md)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the SQLite case in DIR, or time the queries on the one already there",
    )
    parser.add_argument(
        "--keep-pg",
        type=Path,
        metavar="DIR",
        help="with --pg: keep the PostgreSQL case (directory DIR, a database named after "
        "it), or time the queries on the one already there; drop the database yourself",
    )
    args = parser.parse_args()
    console.print(
        f"{platform.node()}: {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    reports = []
    if not args.skip_sqlite:
        reports.append(
            run(
                None,
                args.segments,
                args.queries,
                args.seed,
                args.keep,
                encrypt=args.encrypt,
                rounds=args.rounds,
            )
        )
    if args.pg and args.keep_pg:
        url = kept_database(args.pg, args.keep_pg)
        reports.append(
            run(url, args.segments, args.queries, args.seed, args.keep_pg, rounds=args.rounds)
        )
    elif args.pg:
        with scratch_database(args.pg) as url:
            reports.append(run(url, args.segments, args.queries, args.seed, rounds=args.rounds))
    for report in reports:
        build = (
            "index reused (--keep)"
            if report["index_s"] != report["index_s"]  # NaN: the kept case was not rebuilt
            else f"index build {report['rate']:,.0f} segments/s ({report['index_s']:.1f} s)"
        )
        table = Table(title=f"{report['backend']}: {report['segments']:,} segments, {build}")
        for col in ("query", "p50 ms", "p95 ms", "p99 ms", "median hits", "p95 / bare word p95"):
            table.add_column(col, justify="right" if col != "query" else "left")
        for kind, r in report["queries"].items():  # type: ignore[attr-defined]
            table.add_row(
                kind,
                f"{r['p50']:.1f}",
                f"{r['p95']:.1f}",
                f"{r['p99']:.1f}",
                f"{r['hits']:,.0f}" + ("+" if r.get("hits_capped") else ""),
                f"{r['ratio']:.1f}x",
            )
        bare = report["bare"]
        for kind in ("word", "two words"):
            b = bare[kind]  # type: ignore[index]
            table.add_row(
                f"bare tantivy: {kind}",
                f"{b['p50']:.2f}",
                f"{b['p95']:.2f}",
                "",
                f"{b['hits']:,.0f}",
                "",
            )
        console.print(table)
        console.print(
            f"bare tantivy build: {bare['rate']:,.0f} segments/s (lemma strings given)"  # type: ignore[index]
        )
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
