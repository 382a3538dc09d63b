"""Shared fixtures: a case on each backend, real audio files, the CLI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import psycopg
import pytest
from click.testing import CliRunner, Result
from hypothesis import settings as hypothesis_settings

from earshot.cli import cli
from earshot.store.case import Case

PG_ADMIN = os.environ.get("EARSHOT_TEST_PG", "postgresql://127.0.0.1:5432/test")

os.environ.setdefault("EARSHOT_OPERATOR", "tester")


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_ok() -> bool:
    return _pg_available()


@pytest.fixture
def pg_url(pg_ok: bool) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not pg_ok:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN}; CI needs it")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN}")
    name = f"earshot_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """'' for embedded SQLite, or a fresh PostgreSQL URL: every case test runs on both."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def case_dir(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "case"
    Case.init(path, db=db_url or None).close()
    return path


@pytest.fixture
def case(case_dir: Path) -> Iterator[Case]:
    opened = Case.open(case_dir)
    yield opened
    opened.close()


@dataclass
class Cli:
    runner: CliRunner

    def __call__(self, *args: str | Path, code: int | None = 0) -> Result:
        result = self.runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
        return result


@pytest.fixture
def run_cli() -> Cli:
    return Cli(CliRunner())


def write_audio(
    path: Path,
    *,
    codec: str = "pcm_s16le",
    container: str = "wav",
    rate: int = 8000,
    channels: int = 1,
    seconds: float = 2.0,
    freqs: tuple[float, ...] = (440.0, 880.0),
    seed: int = 0,
) -> Path:
    """Encode a real test signal (a tone per channel plus a little noise) with PyAV."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    signal = np.stack(
        [0.3 * np.sin(2 * np.pi * freqs[i % len(freqs)] * t) for i in range(channels)]
    ) + 0.01 * rng.standard_normal((channels, t.size))
    pcm = (np.clip(signal, -1, 1) * 32767).astype(np.int16)
    layout = "mono" if channels == 1 else "stereo"
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(pcm.T.reshape(1, -1).copy(), format="s16", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.fixture
def audio_factory() -> type:
    class Factory:
        write = staticmethod(write_audio)

    return Factory


# Hypothesis runs the same examples on every run (derandomized), so that main stays green
# and a failure on one machine is a failure on all; explore new examples with
# `pytest --hypothesis-profile=explore`.
hypothesis_settings.register_profile("default", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile("default")
