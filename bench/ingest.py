"""Ingest throughput: audio-hours per minute and MB/s, against a plain SHA-256 + PyAV ceiling.

Generates N hours of telephone audio (8 kHz; a mix of mono mu-law WAV, stereo PCM WAV,
AMR-NB and MP3, a few minutes per call), then times

* the ceiling: SHA-256 of every file plus a plain PyAV decode of every frame, one
  process, nothing written, and
* `earshot ingest` of the same folder into a fresh case (hashing, copying into the
  content-addressed store, decoding to 16 kHz working copies, the database and custody).

Usage: python bench/ingest.py [--hours 2] [--workers 2] [--db postgresql://...] [--encrypt]
Target (issue 2): >= 10 audio-hours per minute on 2 cores, within 2x of the ceiling.

Intake (issue 16): `python bench/ingest.py --intake [--rows 100000] [--fp-hours 1]` times
reading a cp1251 telco export of N rows through a --mapping file (split date and time,
direction deciding caller and callee, h:mm:ss durations; target >= 20,000 rows/s), and
Chromaprint fingerprinting of telephone audio (seconds per audio-hour, fpcalc included).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from rich.console import Console
from rich.table import Table

from earshot.ingest.runner import IngestOptions, ingest
from earshot.security.crypto import KeySource, create_key_file
from earshot.store.case import Case

MIX = [  # (suffix, container, codec, channels, share of the hours)
    ("wav", "wav", "pcm_mulaw", 1, 0.5),
    ("wav", "wav", "pcm_s16le", 2, 0.2),
    ("amr", "amr", "libopencore_amrnb", 1, 0.15),
    ("mp3", "mp3", "mp3", 1, 0.15),
]


def _speechlike(rate: int, seconds: float, channels: int, seed: int) -> np.ndarray:
    """Band-limited noise bursts with pauses: cheap to make, realistic for codecs."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    out = np.zeros((channels, n), dtype=np.float32)
    for ch in range(channels):
        noise = rng.standard_normal(n).astype(np.float32)
        kernel = np.ones(4, dtype=np.float32) / 4
        voiced = np.convolve(noise, kernel, mode="same")
        envelope = (rng.random(n // rate + 1) > 0.4).repeat(rate)[:n]
        if channels == 2:  # turn-taking on stereo calls
            envelope = envelope & ((np.arange(n) // (rate * 3)) % 2 == ch)
        out[ch] = 0.25 * voiced * envelope
    return out


def _write(
    path: Path, container: str, codec: str, channels: int, seconds: float, seed: int
) -> None:
    rate = 8000
    layout = "mono" if channels == 1 else "stereo"
    signal = _speechlike(rate, seconds, channels, seed)
    pcm = (np.clip(signal, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        step = rate * 10
        for start in range(0, pcm.shape[1], step):
            chunk = pcm[:, start : start + step]
            frame = av.AudioFrame.from_ndarray(
                chunk.T.reshape(1, -1).copy(), format="s16", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def generate(folder: Path, hours: float, call_minutes: float = 4.0) -> tuple[int, float]:
    folder.mkdir(parents=True, exist_ok=True)
    files = 0
    total = 0.0
    for suffix, container, codec, channels, share in MIX:
        seconds_left = hours * 3600 * share
        while seconds_left > 1:
            seconds = min(call_minutes * 60, seconds_left)
            _write(
                folder / f"call-{files:05d}.{suffix}", container, codec, channels, seconds, files
            )
            files += 1
            total += seconds
            seconds_left -= seconds
    return files, total


def _hash_and_decode(path: Path) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    with av.open(str(path)) as container:
        for _frame in container.decode(audio=0):
            pass


def ceiling(folder: Path, processes: int = 1) -> float:
    """SHA-256 + plain decode of every file, in `processes` processes, nothing written."""
    files = sorted(folder.iterdir())
    started = time.perf_counter()
    if processes <= 1:
        for path in files:
            _hash_and_decode(path)
    else:
        context = multiprocessing.get_context("forkserver")
        with context.Pool(processes) as pool:
            pool.map(_hash_and_decode, files, chunksize=1)
    return time.perf_counter() - started


def run_ingest(
    folder: Path, case_dir: Path, workers: int, db: str | None, key: Path | None = None
) -> float:
    """Seconds to ingest `folder` into a new case (encrypted under `key` if given)."""
    encryption = KeySource(key_file=key) if key is not None else None
    case = Case.init(case_dir, db=db, encryption=encryption)
    try:
        started = time.perf_counter()
        report = ingest(case, [folder], IngestOptions(workers=workers))
        elapsed = time.perf_counter() - started
    finally:
        case.close()
    assert report.count("new") == len(list(folder.iterdir())), report.errors
    return elapsed


def bench_records(work: Path, rows: int, repeat: int) -> tuple[float, float, int]:
    """(best wall seconds, best CPU seconds, records read) for a cp1251 telco export of
    `rows` rows with a mapping. CPU time is what to compare on a shared, loaded machine."""
    from earshot.ingest.mapping import load_mapping
    from earshot.ingest.records import read_record_table

    rng = np.random.default_rng(16)
    contacts = [f"+7916{n:07d}" for n in rng.integers(0, 10_000_000, 2000)]
    lines = ["Дата;Время;Абонент;Собеседник;Тип вызова;Длительность;БС;IMEI"]
    for i in range(rows):
        day, second = 1 + (i // 3000) % 28, (i * 7) % 86400
        kind = "Исходящий вызов" if i % 3 else "Входящий вызов"
        lines.append(
            f"{day:02d}.03.2023;{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d};"
            f"+79160000001;{contacts[i % len(contacts)]};{kind};"
            f"0:{(i % 50):02d}:{(i * 13) % 60:02d};7701-{i % 900};35693803564{i % 10000:04d}"
        )
    export = work / "export.csv"
    export.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    mapping = work / "mapping.yaml"
    mapping.write_text(
        "columns:\n  subscriber: Абонент\n  other: Собеседник\n  call_type: Тип вызова\n"
        "  cell: БС\n",
        encoding="utf-8",
    )
    user = load_mapping(mapping)
    best, best_cpu, count = float("inf"), float("inf"), 0
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        table = read_record_table(export, timezone="Europe/Moscow", mapping=user)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        count = len(table.records)
        assert not table.problems, table.problems[:3]
    return best, best_cpu, count


def bench_fingerprints(work: Path, hours: float) -> tuple[float, float]:
    """(seconds, audio seconds) to fingerprint `hours` of 16 kHz telephone-like audio."""
    from earshot.ingest.fingerprint import fingerprint_pcm, fpcalc_path

    fpcalc = fpcalc_path()
    if fpcalc is None:
        raise SystemExit("fpcalc not installed: apt-get install libchromaprint-tools")
    calls = max(1, int(hours * 60 / 4))  # four-minute calls
    audio = 0.0
    spent = 0.0
    for i in range(calls):
        pcm = (_speechlike(16000, 240.0, 1, seed=i)[0] * 32767).astype(np.int16)
        start = time.perf_counter()
        found = fingerprint_pcm(pcm, fpcalc)
        spent += time.perf_counter() - start
        assert found is not None
        audio += 240.0
    return spent, audio


def intake_main(args: argparse.Namespace, console: Console) -> None:
    work = Path(tempfile.mkdtemp(prefix="earshot-intake-"))
    try:
        with console.status(f"reading {args.rows:,} call-record rows"):
            seconds, cpu, count = bench_records(work, args.rows, args.repeat)
        with console.status(f"fingerprinting {args.fp_hours} audio-hours"):
            spent, audio = bench_fingerprints(work, args.fp_hours)
        table = Table(
            title=f"Intake — {platform.machine()}, {os.cpu_count()} CPUs, "
            f"load {os.getloadavg()[0]:.1f}, best of {args.repeat}"
        )
        for column in ("measure", "result"):
            table.add_column(column, justify="right")
        table.add_row(f"{count:,} call records with a mapping", f"{seconds:.2f} s")
        table.add_row("rows per second, wall clock (target >= 20,000)", f"{count / seconds:,.0f}")
        table.add_row("rows per CPU-second (this process alone)", f"{count / cpu:,.0f}")
        table.add_row(f"fingerprint {audio / 3600:.2f} audio-hours", f"{spent:.1f} s")
        table.add_row("seconds per audio-hour", f"{spent / (audio / 3600):.1f}")
        console.print(table)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0, help="audio-hours to generate")
    parser.add_argument("--workers", type=int, default=2, help="ingest decode workers")
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite in the case)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated audio here")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement; the fastest counts"
    )
    parser.add_argument(
        "--encrypt",
        action="store_true",
        help="also time encrypted cases (AES-256-GCM media, SQLCipher database)",
    )
    parser.add_argument("--intake", action="store_true", help="time call records and fingerprints")
    parser.add_argument("--rows", type=int, default=100_000, help="with --intake: record rows")
    parser.add_argument("--fp-hours", type=float, default=1.0, help="with --intake: audio-hours")
    args = parser.parse_args()
    console = Console()
    if args.intake:
        intake_main(args, console)
        return
    work = Path(tempfile.mkdtemp(prefix="earshot-bench-"))
    try:
        audio = args.keep or work / "audio"
        with console.status(f"generating {args.hours} h of telephone audio"):
            files, seconds = generate(audio, args.hours)
        size_mb = sum(p.stat().st_size for p in audio.iterdir()) / 1e6
        ceiling(audio)  # warm the page cache so every run reads from memory
        runs: list[tuple[str, float, float]] = []  # (name, seconds, ceiling seconds)
        with console.status("ceiling: SHA-256 + plain PyAV decode"):
            c1 = min(ceiling(audio) for _ in range(args.repeat))
            cn = min(ceiling(audio, args.workers) for _ in range(args.repeat))
        runs.append(("SHA-256 + PyAV decode, 1 process (ceiling)", c1, c1))
        runs.append((f"SHA-256 + PyAV decode, {args.workers} processes (ceiling)", cn, cn))
        for workers, ceil in ((1, c1), (args.workers, cn)):
            with console.status(f"earshot ingest, {workers} worker(s)"):
                best = min(
                    run_ingest(audio, work / f"case-{workers}-{i}", workers, args.db)
                    for i in range(args.repeat)
                )
            runs.append((f"earshot ingest, {workers} worker(s)", best, ceil))
            if args.encrypt:
                key = work / "case.key"
                if not key.exists():
                    create_key_file(key)
                with console.status(f"earshot ingest, encrypted, {workers} worker(s)"):
                    best = min(
                        run_ingest(audio, work / f"enc-{workers}-{i}", workers, args.db, key)
                        for i in range(args.repeat)
                    )
                runs.append((f"earshot ingest, encrypted, {workers} worker(s)", best, ceil))
        hours = seconds / 3600
        load = os.getloadavg()[0]
        table = Table(
            title=f"Ingest of {hours:.2f} audio-hours in {files} files ({size_mb:.0f} MB) — "
            f"{platform.machine()}, {os.cpu_count()} CPUs, "
            f"{'PostgreSQL' if args.db else 'SQLite'}, load {load:.1f}, best of {args.repeat}"
        )
        for column in ("run", "seconds", "audio-hours / min", "MB/s", "vs its ceiling"):
            table.add_column(column, justify="right")
        for name, t, ceil in runs:
            table.add_row(
                name,
                f"{t:.2f}",
                f"{hours / (t / 60):.1f}",
                f"{size_mb / t:.1f}",
                f"{t / ceil:.2f}x",
            )
        console.print(table)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
