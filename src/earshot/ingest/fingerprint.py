"""Near-duplicate recordings: the same conversation arriving again in another codec or container.

A byte-identical copy is caught by its SHA-256; an .amr and the .mp3 somebody made from it
are not. Each recording's working copy (16 kHz PCM, channels mixed) is fingerprinted with
Chromaprint (``fpcalc`` from Debian's libchromaprint-tools, the AcoustID fingerprinter), and
a new call whose fingerprint matches an earlier call of similar length — bit error rate of
the aligned fingerprints well under the ~50 % of unrelated audio — is flagged as a *probable
duplicate*, linked to its twin, and reported. Nothing is merged: both calls stay, for a
person to decide.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import wave
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.case import Case
from ..store.failures import record_failure
from ..store.intake_models import AudioFingerprint, ProbableDuplicate
from ..store.models import Call, WorkingCopyRow

__all__ = [
    "SIMILARITY_THRESHOLD",
    "Fingerprint",
    "compare",
    "fingerprint_call",
    "fingerprint_pcm",
    "fpcalc_path",
    "probable_twins",
    "twins_of",
]

SIMILARITY_THRESHOLD = 0.8  # 1 - bit error rate; transcodes score ~0.9+, unrelated ~0.5
_MAX_SECONDS = 900  # fingerprint at most the first 15 minutes (plenty to tell two calls apart)
_MAX_SHIFT = 40  # fingerprint items (~0.124 s each): align over about ±5 s
_RATE = 16000


@dataclass(frozen=True)
class Fingerprint:
    tool: str
    duration: float
    values: np.ndarray  # uint32

    def encoded(self) -> str:
        return base64.b64encode(self.values.astype("<u4").tobytes()).decode("ascii")

    @classmethod
    def decode(cls, tool: str, duration: float, text: str) -> Fingerprint:
        return cls(tool, duration, np.frombuffer(base64.b64decode(text), dtype="<u4"))


def fpcalc_path() -> str | None:
    """Where Chromaprint's fpcalc is, or None (then near-duplicates are not looked for)."""
    return shutil.which("fpcalc")


@cache
def _tool_version(fpcalc: str) -> str:
    try:
        out = subprocess.run([fpcalc, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "fpcalc"
    words = out.stdout.split()
    return f"fpcalc {words[2]}" if len(words) > 2 else "fpcalc"


def fingerprint_pcm(pcm: np.ndarray, fpcalc: str) -> Fingerprint | None:
    """The Chromaprint fingerprint of mono 16 kHz int16 `pcm`; None if too short to have one."""
    data = pcm[: _RATE * _MAX_SECONDS].astype("<i2").tobytes()
    command = [fpcalc, "-raw", "-json", "-format", "s16le", "-rate", str(_RATE)]
    command += ["-channels", "1", "-length", str(_MAX_SECONDS), "-"]
    try:
        out = subprocess.run(command, input=data, capture_output=True, timeout=300)
        # fpcalc reports the end of a piped stream as a decoding error (exit 3) after a
        # complete fingerprint; the JSON on stdout is what counts.
        result: dict[str, Any] = json.loads(out.stdout or b"{}")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    values = result.get("fingerprint") or []
    if len(values) < 16:
        return None
    return Fingerprint(
        _tool_version(fpcalc), float(result.get("duration") or 0.0), np.array(values, np.uint32)
    )


def compare(one: np.ndarray, other: np.ndarray) -> tuple[float, int]:
    """(similarity = 1 - bit error rate at the best alignment, that offset in items)."""
    best, best_shift = 0.0, 0
    for shift in range(-_MAX_SHIFT, _MAX_SHIFT + 1):
        a = one[max(shift, 0) :]
        b = other[max(-shift, 0) :]
        n = min(len(a), len(b))
        if n < max(16, min(len(one), len(other)) // 2):
            continue
        xor = np.bitwise_xor(a[:n], b[:n])
        errors = int(np.unpackbits(xor.view(np.uint8)).sum())
        similarity = 1.0 - errors / (32.0 * n)
        if similarity > best:
            best, best_shift = similarity, shift
    return best, best_shift


def _mixed_pcm(case: Case, rows: list[WorkingCopyRow]) -> np.ndarray | None:
    channels = []
    for row in rows:
        try:
            with case.media.open_working(row.path) as handle, wave.open(handle, "rb") as wav:
                frames = wav.readframes(min(wav.getnframes(), _RATE * _MAX_SECONDS))
        except (OSError, EOFError, wave.Error):
            return None
        channels.append(np.frombuffer(frames, dtype="<i2").astype(np.int32))
    if not channels:
        return None
    length = min(len(c) for c in channels)
    mixed: np.ndarray = np.mean(np.stack([c[:length] for c in channels]), axis=0)
    return mixed.astype(np.int16)


def fingerprint_call(case: Case, session: Session, call: Call, fpcalc: str) -> Fingerprint | None:
    """The call's fingerprint, computed from its working copies once and kept."""
    stored = session.get(AudioFingerprint, call.sha256)
    if stored is not None:
        return Fingerprint.decode(stored.tool, stored.duration, stored.fingerprint)
    rows = list(
        session.execute(
            select(WorkingCopyRow)
            .where(WorkingCopyRow.sha256 == call.sha256)
            .order_by(WorkingCopyRow.channel)
        ).scalars()
    )
    pcm = _mixed_pcm(case, rows)
    found = fingerprint_pcm(pcm, fpcalc) if pcm is not None else None
    if found is not None:
        session.add(
            AudioFingerprint(
                sha256=call.sha256,
                tool=found.tool,
                duration=found.duration,
                fingerprint=found.encoded(),
            )
        )
        session.flush()
    return found


def probable_twins(
    case: Case, session: Session, call: Call, fpcalc: str, *, batch_id: int
) -> list[ProbableDuplicate]:
    """Flag (never merge) earlier calls that sound like `call`; returns the new links."""
    mine = fingerprint_call(case, session, call, fpcalc)
    if mine is None:
        return []
    slack = max(2.0, 0.05 * call.duration)
    candidates = session.execute(
        select(Call)
        .where(
            Call.id != call.id,
            Call.status != "no-audio",
            Call.duration >= call.duration - slack,
            Call.duration <= call.duration + slack,
        )
        .order_by(Call.id)
    ).scalars()
    found = []
    for other in candidates:
        theirs = fingerprint_call(case, session, other, fpcalc)
        if theirs is None:
            continue
        similarity, shift = compare(mine.values, theirs.values)
        if similarity < SIMILARITY_THRESHOLD:
            continue
        first, second = sorted((call.id, other.id))
        exists = session.execute(
            select(ProbableDuplicate).where(
                ProbableDuplicate.call_id == second, ProbableDuplicate.twin_call_id == first
            )
        ).scalar_one_or_none()
        if exists is not None:
            continue
        link = ProbableDuplicate(
            call_id=second,
            twin_call_id=first,
            similarity=round(similarity, 4),
            offset=round(shift * 0.1238, 3),
            basis=f"audio fingerprint ({mine.tool})",
        )
        session.add(link)
        later = session.get(Call, second)
        earlier = session.get(Call, first)
        assert later is not None and earlier is not None
        record_failure(
            session,
            key=f"near-duplicate:{second}:{first}",
            stage="duplicate",
            path=later.source_path,
            sha256=later.sha256,
            message=(
                f"{later.source_path}: probable duplicate of call {first} "
                f"({earlier.source_file}, {earlier.codec}): the same audio at similarity "
                f"{similarity:.2f} in another codec or container; both are kept — compare "
                "them and set one aside if they are the same recording"
            ),
            batch_id=batch_id,
        )
        found.append(link)
    session.flush()
    return found


def twins_of(session: Session) -> dict[int, list[tuple[int, float]]]:
    """Every call's probable duplicates: call id → [(twin call id, similarity)]."""
    out: dict[int, list[tuple[int, float]]] = {}
    for link in session.execute(select(ProbableDuplicate)).scalars():
        out.setdefault(link.call_id, []).append((link.twin_call_id, link.similarity))
        out.setdefault(link.twin_call_id, []).append((link.call_id, link.similarity))
    return out
