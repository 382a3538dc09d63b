"""The decode stage: make sure a call's working copies exist and match what ingest recorded.

Ingest already decodes every recording; this stage exists so that a case whose working copies
were deleted (to save space, or lost with a disk) or cut short repairs itself on the next
``earshot process``, from the stored original and through the same code path as ingest
(:func:`earshot.ingest.worker.make_working_copies`), so an encrypted case gets sealed copies.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..audio.decode import WORKING_SAMPLE_RATE
from ..errors import EarshotError, WorkingCopyAlteredError
from ..ingest.isolated import decode_isolated
from ..speech.info import package_version
from ..stages import StageInfo, StageOutcome
from ..store.case import Case
from ..store.media import MediaStore
from ..store.models import WorkingCopyRow
from ..store.speech_models import StageRun
from ..store.working import REBUILD_ADVICE, hash_working
from ..vocab import StageStatus
from .audio import call_or_error, working_rows
from .runs import digest
from .split import Computed, compute_and_write

__all__ = ["DecodeStage"]


def _frames(media: MediaStore, path: str) -> int | None:
    """Frames of a working copy (decrypted if need be); None if missing, damaged or wrong."""
    try:
        with media.open_working(path) as handle, wave.open(handle, "rb") as wav:
            if wav.getframerate() != WORKING_SAMPLE_RATE or wav.getnchannels() != 1:
                return None
            return wav.getnframes()
    except (OSError, EOFError, wave.Error, EarshotError):
        return None


def _stat_key(case_dir: Any, path: str) -> list[int] | None:
    try:
        info = (Path(case_dir) / "media" / path).stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


class DecodeStage:
    """Check the working copies of a call; re-decode the original when one is missing or wrong."""

    name = "decode"
    after: tuple[str, ...] = ()
    wants_gpu = False

    def info(self) -> StageInfo:
        return StageInfo(
            "decode",
            "pyav",
            package_version("av"),
            None,
            {"sample_rate": WORKING_SAMPLE_RATE, "format": "pcm_s16le mono per channel"},
        )

    def inputs(self, session: Session, call_id: int) -> str:
        call = call_or_error(session, call_id)
        rows = working_rows(session, call.sha256)
        # Each copy's size and modification time too (one stat, no read): a copy changed on
        # disk makes this stage run again, and compute() then refuses it by its hash,
        # instead of `process` calling the call "unchanged".
        case_dir = session.info.get("case_dir")
        files = [_stat_key(case_dir, r.path) for r in rows] if case_dir else []
        return digest(
            [call.sha256, call.channels, [(r.channel, r.frames, r.path) for r in rows], files]
        )

    def compute(self, case: Case, call_id: int) -> Computed:
        with case.session() as session:
            call = call_or_error(session, call_id)
            sha, channels, source = call.sha256, call.channels, call.source_file
            rows = [
                (r.channel, r.path, r.frames, r.content_sha256) for r in working_rows(session, sha)
            ]
        for channel, path, _, expected in rows:
            # A missing copy is remade below; one present but changed is refused: altered
            # audio is evidence of tampering, never silently replaced.
            actual = hash_working(case.media, path)
            if expected is not None and actual is not None and actual != expected:
                raise WorkingCopyAlteredError(
                    f"call {call_id} ({source}), channel {channel}: the working copy {path} "
                    f"was altered since it was made (its SHA-256 no longer matches); refused; "
                    f"{REBUILD_ADVICE}"
                )
        intact = len(rows) == channels and all(
            _frames(case.media, path) == frames for _, path, frames, _ in rows
        )
        if intact:
            return Computed(
                StageOutcome(StageStatus.DONE, {"channels": channels, "decoded": False}), None
            )
        try:
            _info, written = decode_isolated(case.media, sha, replace=True)
        except EarshotError as exc:
            raise type(exc)(
                f"call {call_id} ({source}): working copies are missing or damaged and "
                f"the stored original cannot be decoded again: {exc}; check it with "
                "`earshot verify CASE`"
            ) from exc
        outcome = StageOutcome(StageStatus.DONE, {"channels": len(written), "decoded": True})
        return Computed(outcome, written)

    def write(self, session: Session, call_id: int, payload: Any, run: StageRun) -> None:
        if not payload:
            return
        call = call_or_error(session, call_id)
        existing = {r.channel: r for r in working_rows(session, call.sha256)}
        for copy in payload:
            row = existing.pop(copy["channel"], None)
            if row is None:
                session.add(WorkingCopyRow(sha256=call.sha256, **copy))
            else:
                row.path, row.frames = copy["path"], copy["frames"]
                row.sample_rate = copy["sample_rate"]
                row.content_sha256 = copy["content_sha256"]
        for stale in existing.values():
            session.delete(stale)

    def run(self, case: Case, call_id: int) -> StageOutcome:
        return compute_and_write(case, self, call_id)
