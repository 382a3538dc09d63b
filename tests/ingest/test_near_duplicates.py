"""Near-duplicate recordings: one conversation in two codecs is flagged and linked, never merged."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from earshot.ingest.fingerprint import compare, fpcalc_path, twins_of
from earshot.ingest.runner import IngestOptions, ingest
from earshot.store.case import Case
from earshot.store.failures import list_failures
from earshot.store.queries import list_calls

from ..conftest import Cli

pytestmark = pytest.mark.skipif(fpcalc_path() is None, reason="needs Chromaprint's fpcalc")


def melody(path: Path, *, seed: int, codec: str, container: str, seconds: float = 24.0) -> Path:
    """A tune of random notes (what Chromaprint's chroma features can tell apart), encoded."""
    rate = 8000
    rng = np.random.default_rng(seed)
    notes = rng.integers(0, 24, int(seconds / 0.3))
    tone = [
        0.3 * np.sin(2 * np.pi * 220 * 2 ** (n / 12) * np.arange(int(rate * 0.3)) / rate)
        for n in notes
    ]
    signal = np.concatenate(tone) + 0.005 * rng.standard_normal(len(notes) * int(rate * 0.3))
    pcm = (np.clip(signal, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_the_same_call_in_two_codecs_is_flagged_and_linked(
    case: Case, case_dir: Path, tmp_path: Path, run_cli: Cli
) -> None:
    inbox = tmp_path / "in"
    melody(inbox / "call_0412.amr", seed=4, codec="libopencore_amrnb", container="amr")
    melody(inbox / "call_0412_copy.mp3", seed=4, codec="mp3", container="mp3")
    melody(inbox / "other_call.mp3", seed=5, codec="mp3", container="mp3")
    report = ingest(case, [inbox], IngestOptions(workers=1))
    assert report.count("new") == 3
    with case.session() as session:
        calls = {c.source_file: c.id for c in list_calls(session)}
        twins = twins_of(session)
        failures = [f for f in list_failures(session) if f.stage == "duplicate"]
    assert len(calls) == 3  # never merged
    amr, mp3, other = calls["call_0412.amr"], calls["call_0412_copy.mp3"], calls["other_call.mp3"]
    assert [t for t, _ in twins[amr]] == [mp3] and [t for t, _ in twins[mp3]] == [amr]
    assert other not in twins
    assert twins[amr][0][1] >= 0.8
    (failure,) = failures
    assert f"probable duplicate of call {amr}" in failure.message
    (dup,) = report.near_duplicates
    assert (dup["call"], dup["twin"]) == (mp3, amr)
    assert report.near_duplicates[0]["basis"].startswith("audio fingerprint (fpcalc")

    listed = json.loads(run_cli("calls", case_dir, "--json").stdout)
    by_file = {row["source_file"]: row for row in listed}
    assert by_file["call_0412_copy.mp3"]["probable_duplicates"] == [
        {"call": amr, "similarity": twins[amr][0][1]}
    ]
    assert by_file["other_call.mp3"]["probable_duplicates"] == []
    shown = run_cli("failures", case_dir).stdout
    assert "probable duplicate of call" in shown
    table = run_cli("calls", case_dir).stdout
    assert f"probable duplicate of {amr}" in table

    again = ingest(case, [inbox], IngestOptions(workers=1))
    assert again.near_duplicates == []


def test_compare_tells_unrelated_fingerprints_apart() -> None:
    rng = np.random.default_rng(0)
    one = rng.integers(0, 2**32, 400, dtype=np.uint64).astype(np.uint32)
    shifted = np.concatenate([rng.integers(0, 2**32, 7, dtype=np.uint64).astype(np.uint32), one])
    similarity, offset = compare(shifted, one)
    assert similarity == 1.0 and offset == 7
    unrelated = rng.integers(0, 2**32, 400, dtype=np.uint64).astype(np.uint32)
    assert compare(one, unrelated)[0] < 0.6
