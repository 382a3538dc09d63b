"""Sidecar transcripts beside the audio become the call's verbatim transcript."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import EarshotError
from ..store.custody import append_custody
from ..store.media import MediaStore
from ..store.models import Call, Original, Segment, Sighting, Transcript
from .discover import SIDECAR_SUFFIXES, InputFile, open_input
from .records import CallRecord
from .sidecars import parse_sidecar, party_for_label

__all__ = ["SidecarMatch", "import_sidecar", "match_sidecars"]

_LANG = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class SidecarMatch:
    """A sidecar file and, if it is a translation (``NAME.en.vtt``), its language."""

    item: InputFile
    language: str | None


def match_sidecars(
    audio: list[InputFile], others: list[InputFile]
) -> tuple[dict[str, list[SidecarMatch]], list[InputFile]]:
    """Pair sidecars with the audio of the same name in the same folder.

    Returns the matches by audio display path, and the sidecars that have no audio.
    """
    by_stem: dict[tuple[str, str], InputFile] = {(a.folder, a.stem): a for a in audio}
    matches: dict[str, list[SidecarMatch]] = {}
    orphans: list[InputFile] = []
    for item in others:
        if item.suffix not in SIDECAR_SUFFIXES:
            continue
        stem = item.stem
        target = by_stem.get((item.folder, stem))
        language = None
        if target is None:
            base = PurePosixPath(stem)
            lang = base.suffix.lstrip(".").lower()
            if _LANG.match(lang):
                target = by_stem.get((item.folder, base.stem))
                language = lang
        if target is None:
            orphans.append(item)
        else:
            matches.setdefault(target.display, []).append(SidecarMatch(item, language))
    return matches, orphans


def import_sidecar(
    session: Session,
    media: MediaStore,
    call: Call,
    match: SidecarMatch,
    *,
    record: CallRecord | None,
    operator: str,
    source: str | None,
    batch_id: int,
) -> str:
    """Store and import one sidecar; returns "imported" or "unchanged".

    Raises the parser's SidecarError (with the input's path in the message) when the
    file is malformed; the stored bytes stay in the case either way.
    """
    item = match.item
    with open_input(item) as stream:
        sha, size = media.put_stream(stream, max_bytes=50_000_000, name=item.display)
    if session.get(Original, sha) is None:
        session.add(
            Original(
                sha256=sha,
                kind="sidecar",
                size=size,
                stored_path=media.relative_original(sha),
            )
        )
    sighting = session.execute(
        select(Sighting).where(Sighting.sha256 == sha, Sighting.original_path == item.display)
    ).scalar_one_or_none()
    if sighting is None:
        session.add(
            Sighting(
                sha256=sha,
                batch_id=batch_id,
                original_path=item.display,
                file_name=item.name,
                source=source,
                operator=operator,
            )
        )
    existing = session.execute(
        select(Transcript.id).where(Transcript.call_id == call.id, Transcript.origin_sha256 == sha)
    ).first()
    if existing is not None:
        return "unchanged"
    with media.staging_dir("sidecar-") as stage:
        named = stage / item.name
        media.copy_original(sha, named)
        try:
            parsed = parse_sidecar(named)
        except EarshotError as exc:
            raise type(exc)(str(exc).replace(str(named), item.display)) from None
    transcript = Transcript(
        call_id=call.id,
        source="sidecar",
        kind="translation" if match.language else "verbatim",
        language=match.language or parsed.language,
        format=parsed.format,
        origin_sha256=sha,
        engine={"engine": "sidecar", "format": parsed.format, "file": item.name},
    )
    session.add(transcript)
    session.flush()
    caller_name = record.caller_name if record else None
    callee_name = record.callee_name if record else None
    for idx, seg in enumerate(parsed.segments):
        session.add(
            Segment(
                transcript_id=transcript.id,
                call_id=call.id,
                idx=idx,
                start=seg.start,
                end=seg.end,
                party=party_for_label(
                    seg.speaker, caller_name=caller_name, callee_name=callee_name
                ),
                speaker_label=seg.speaker,
                text=seg.text,
                words=[
                    {"start": w.start, "end": w.end, "word": w.text, "probability": w.probability}
                    for w in seg.words
                ],
            )
        )
    append_custody(
        session,
        operator=operator,
        action="transcript-imported",
        sha256=sha,
        path=item.display,
        detail={
            "call_id": call.id,
            "transcript_id": transcript.id,
            "format": parsed.format,
            "segments": len(parsed.segments),
            "kind": transcript.kind,
        },
    )
    return "imported"
