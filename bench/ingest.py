"""Ingest throughput: audio-hours per minute and MB/s, against a plain SHA-256 + PyAV ceiling.

Generates N hours of telephone audio (8 kHz; a mix of mono mu-law WAV, stereo PCM WAV,
AMR-NB and MP3, a few minutes per call), then times

* the ceiling: SHA-256 of every file plus a plain PyAV decode of every frame, one
  process, nothing written, and
* `earshot ingest` of the same folder into a fresh case (hashing, copying into the
  content-addressed store, decoding to 16 kHz working copies, the database and custody).

Usage: python bench/ingest.py [--hours 2] [--workers 2] [--db postgresql://...] [--encrypt]
Target (issue 2): >= 10 audio-hours per minute on 2 cores, within 2x of the ceiling.
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
    args = parser.parse_args()
    console = Console()
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
