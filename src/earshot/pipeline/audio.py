"""Reading a call's working copies and the outputs of earlier stages, for the stages."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audio import read_working
from ..errors import AudioDecodeError
from ..store.case import Case
from ..store.models import Call, Party, WorkingCopyRow
from ..store.speech_models import SpeakerTurnRow, SpeechRegionRow, StageRun
from ..store.working import read_checked

__all__ = [
    "StoredTurn",
    "call_or_error",
    "load_channels",
    "party_channels",
    "stored_regions",
    "stored_turns",
    "working_rows",
]


@dataclass(frozen=True)
class StoredTurn:
    """A speaker turn as the separation stage stored it."""

    channel: int | None
    start: float
    end: float
    speaker: int
    party: str


def call_or_error(session: Session, call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise AudioDecodeError(
            f"call {call_id} does not exist in this case; list them with `earshot calls`"
        )
    return call


def working_rows(session: Session, sha256: str) -> list[WorkingCopyRow]:
    return list(
        session.execute(
            select(WorkingCopyRow)
            .where(WorkingCopyRow.sha256 == sha256)
            .order_by(WorkingCopyRow.channel)
        ).scalars()
    )


def load_channels(case: Case, call_id: int) -> list[np.ndarray]:
    """The 16 kHz float32 samples of every channel of the call's working copies."""
    with case.session() as session:
        call = call_or_error(session, call_id)
        rows = [(r.channel, r.path, r.content_sha256) for r in working_rows(session, call.sha256)]
        source = call.source_file
    if not rows:
        raise AudioDecodeError(
            f"call {call_id} ({source}) has no working copies; run "
            "`earshot process CASE --only decode --redo decode` to make them"
        )
    channels = []
    for channel, path, expected in rows:
        if not (case.media.root / path).is_file():
            raise AudioDecodeError(
                f"call {call_id} ({source}): working copy of channel {channel} is missing "
                f"({path}); run `earshot process CASE --redo decode` to regenerate it"
            )
        # Through the media store (it decrypts the copies of an encrypted case), and only
        # if the copy is still the one made from the original.
        data = read_checked(
            case.media, path, expected, what=f"call {call_id} ({source}), channel {channel}"
        )
        channels.append(read_working(io.BytesIO(data)))
    return channels


def party_channels(session: Session, call_id: int) -> dict[int, str]:
    """Channel index -> party label on a stereo call (from the parties table, else 0=A, 1=B)."""
    mapping = {
        p.channel: p.label
        for p in session.execute(select(Party).where(Party.call_id == call_id)).scalars()
        if p.channel is not None
    }
    return mapping or {0: "A", 1: "B"}


def stored_regions(session: Session, run: StageRun) -> dict[int, list[tuple[float, float]]]:
    """Speech regions per channel written by a voice-activity run."""
    regions: dict[int, list[tuple[float, float]]] = {}
    for row in session.execute(
        select(SpeechRegionRow)
        .where(SpeechRegionRow.run_id == run.id)
        .order_by(SpeechRegionRow.channel, SpeechRegionRow.start)
    ).scalars():
        regions.setdefault(row.channel, []).append((row.start, row.end))
    return regions


def stored_turns(session: Session, run: StageRun) -> list[StoredTurn]:
    """Speaker turns written by a separation run, in time order."""
    return [
        StoredTurn(row.channel, row.start, row.end, row.speaker, row.party)
        for row in session.execute(
            select(SpeakerTurnRow)
            .where(SpeakerTurnRow.run_id == run.id)
            .order_by(SpeakerTurnRow.start, SpeakerTurnRow.id)
        ).scalars()
    ]
