"""Sealed logs: the cost of one audit entry (a page view) and of verifying the log.

Every page view and API read appends one audit entry in its own transaction: lock,
read the head, hash (RFC 8785), MAC, insert, then the anchor file after commit. This
times that append on a log that already holds N entries, and a full `verify_audit`
(hashes, links, MACs, anchor) over it.

Usage: python bench/logs.py [--entries 20000] [--appends 300] [--pg postgresql://...]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from earshot.store.audit import audit, verify_audit
from earshot.store.case import Case


def _append(case: Case, i: int) -> None:
    with case.session() as session:
        audit(
            session,
            user=f"reporter{i % 7}",
            action="view_call",
            object_type="call",
            object_id=str(i % 5000),
            detail={"via": "page"},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20_000, help="log size before timing")
    parser.add_argument("--appends", type=int, default=300, help="appends timed")
    parser.add_argument("--pg", help="PostgreSQL server URL (a database is created there)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = None
        if args.pg:
            import psycopg

            name = f"earshot_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            db = args.pg.rsplit("/", 1)[0] + "/" + name
        case = Case.init(Path(tmp) / "case", db=db)
        start = time.perf_counter()
        for i in range(args.entries):
            _append(case, i)
        fill = time.perf_counter() - start
        times = []
        for i in range(args.appends):
            t0 = time.perf_counter()
            _append(case, args.entries + i)
            times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        with case.session() as session:
            report = verify_audit(session)
        verify_s = time.perf_counter() - t0
        assert report.ok, report.problems
        case.close()
        times.sort()
        print(f"machine: {platform.machine()}, {platform.python_version()}, "
              f"{'PostgreSQL' if db else 'SQLite'}")  # fmt: skip
        print(f"fill: {args.entries} appends in {fill:.1f} s ({args.entries / fill:.0f}/s)")
        print(
            f"append at {args.entries}: median {statistics.median(times):.2f} ms, "
            f"p95 {times[int(len(times) * 0.95) - 1]:.2f} ms"
        )
        print(
            f"verify {report.entries} entries: {verify_s:.2f} s "
            f"({report.entries / verify_s:.0f} entries/s)"
        )
        if args.pg:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
