"""Publishable audio clips: a stretch of a call with identifying words bleeped or silenced.

What to cover is decided by the same redactor as the text exports, run on the
Russian transcript: with word timestamps (ASR), each redacted stretch of text is
mapped to the words it covers; without them (sidecar transcripts, hand-edited
text the words no longer match) the whole segment is covered. Then the leak guard
reads the text of everything that stays audible in the clip, and the clip is
refused if any known name or phone is still in it. A clip without a transcript
cannot be redacted (nobody knows what is said in it) and is refused.

Each clip gets a provenance sidecar (``OUT.json``): call, original and working
copy hashes, where the clip sits in the original, the covered intervals with their
categories (never the words), the disguise used, who made it, when, and with which
Earshot. The export is recorded in custody and the audit log.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot import __version__
from earshot.audio.decode import read_working
from earshot.language.analysis import current_transcript
from earshot.language.entities import EntityExtractor
from earshot.store.audit import audit
from earshot.store.case import Case
from earshot.store.custody import append_custody
from earshot.store.models import Call, Segment, WorkingCopyRow
from earshot.store.working import read_checked

from ..errors import ClipError, WorkingCopyAlteredError
from .call_redaction import redact_calls
from .clip_audio import Disguise, cover_intervals, disguise_voice, write_clip_audio
from .leakguard import LeakGuard
from .output import authorise_identifying, write_atomic
from .policy import RedactionPolicy, default_policy
from .redaction import TextSpan

__all__ = [
    "ClipError",
    "ClipOptions",
    "ClipResult",
    "CoveredInterval",
    "clip_call",
    "sidecar_path",
    "word_intervals",
]


@dataclass(frozen=True)
class ClipOptions:
    """start/end: seconds in the original call. margin: seconds added on each side of a
    covered word (ASR word times are approximate). role: the caller's role when known
    (web); otherwise ``identifying`` is the operator's explicit request for an
    unredacted clip."""

    start: float
    end: float
    redact: bool = True
    mode: str = "bleep"
    disguise: Disguise | None = None
    stereo: bool = False
    margin: float = 0.05
    policy: RedactionPolicy | None = None
    operator: str = "unknown"
    identifying: bool = False
    role: str | None = None
    provenance_dir: Path | None = None  # default: <case>/internal/clips


@dataclass(frozen=True)
class CoveredInterval:
    """One covered stretch: seconds in the original call, what it was, how it was found."""

    start: float
    end: float
    category: str
    basis: str  # "words" (word timestamps) | "segment" (the whole segment)
    segment: int  # the segment's position in its transcript

    def as_dict(self, clip_start: float) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "clip_start": round(max(0.0, self.start - clip_start), 3),
            "clip_end": round(self.end - clip_start, 3),
            "category": self.category,
            "basis": self.basis,
            "segment": self.segment,
        }


@dataclass
class ClipResult:
    path: Path
    sidecar: Path
    provenance: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "sidecar": str(self.sidecar), **self.provenance}


INTERNAL_DIR = "internal"


def sidecar_path(out: Path, directory: Path) -> Path:
    """Where a clip's provenance goes: ``clip.wav`` -> ``DIR/clip.wav.INTERNAL-provenance.json``.

    The provenance names the original's hash and the editor who cut the clip: it is for
    the newsroom, never for publication, so it says so in its name and never lies in the
    folder of the publishable clip (refused if asked to).
    """
    if directory.resolve() == out.parent.resolve():
        raise ClipError(
            f"the clip's provenance is internal and never goes beside the publishable clip "
            f"in {out.parent}; choose another --provenance-dir (default: the case's "
            f"{INTERNAL_DIR}/clips folder)"
        )
    return directory / f"{out.name}.INTERNAL-provenance.json"


def _align_words(text: str, words: Sequence[Any]) -> list[tuple[int, int, float, float]] | None:
    """Character range and times of each word in `text`; None if they cannot be aligned."""
    folded = text.lower()
    pos = 0
    aligned: list[tuple[int, int, float, float]] = []
    for word in words:
        if not isinstance(word, dict):
            return None
        token = str(word.get("word", "")).strip().lower()
        start, end = word.get("start"), word.get("end")
        if not token:
            continue
        if not isinstance(start, int | float) or not isinstance(end, int | float):
            return None
        at = folded.find(token, pos)
        if at < 0:
            bare = re.sub(r"^\W+|\W+$", "", token)
            at = folded.find(bare, pos) if bare else -1
            token = bare
        if at < 0:
            return None
        aligned.append((at, at + len(token), float(start), float(end)))
        pos = at + len(token)
    return aligned or None


def word_intervals(
    text: str, words: Sequence[Any], spans: Sequence[TextSpan]
) -> list[tuple[float, float, str]] | None:
    """(start, end, category) of the words each redacted span covers.

    None when the words cannot be matched to the text (a hand-corrected transcript)
    or a span falls outside every word: the caller then covers the whole segment.
    """
    if not spans:
        return []
    aligned = _align_words(text, words)
    if aligned is None:
        return None
    out: list[tuple[float, float, str]] = []
    for span in spans:
        hit = [(s, e) for c0, c1, s, e in aligned if c0 < span.end and span.start < c1]
        if not hit:
            return None
        out.append((min(s for s, _ in hit), max(e for _, e in hit), span.category))
    return out


def _audible_text(text: str, words: Sequence[Any], spans: Sequence[TextSpan]) -> str:
    """What stays audible of a segment whose redacted words are covered."""
    kept: list[str] = []
    for c0, c1, _s, _e in _align_words(text, words) or []:
        if not any(c0 < span.end and span.start < c1 for span in spans):
            kept.append(text[c0:c1])
    return " ".join(kept)


def _working(
    case: Case, session: Session, call: Call, start: float, end: float
) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int, list[dict[str, Any]]]:
    rows = list(
        session.scalars(
            select(WorkingCopyRow)
            .where(WorkingCopyRow.sha256 == call.sha256)
            .order_by(WorkingCopyRow.channel)
        )
    )
    if not rows:
        raise ClipError(
            f"call {call.id} has no working copy to cut from; re-ingest its original or run "
            "`earshot verify` to see what is missing"
        )
    rates = {r.sample_rate for r in rows}
    if len(rates) != 1:
        raise ClipError(f"call {call.id}: working copies differ in sample rate; re-decode them")
    channels: list[np.ndarray[Any, np.dtype[np.float32]]] = []
    copies: list[dict[str, Any]] = []
    for row in rows:
        # Refused if the copy changed since it was made: a clip must be cut from the audio
        # its provenance (the original's SHA-256) vouches for.
        try:
            data = read_checked(
                case.media,
                row.path,
                row.content_sha256,
                what=f"call {call.id} ({call.source_file}), channel {row.channel}",
            )
        except WorkingCopyAlteredError as exc:
            raise ClipError(str(exc)) from exc
        copies.append({"channel": row.channel, "sha256": hashlib.sha256(data).hexdigest()})
        channels.append(read_working(io.BytesIO(data), offset=start, duration=end - start))
    frames = min(len(c) for c in channels)
    return np.vstack([c[:frames] for c in channels]), rates.pop(), copies


def _covered(
    segments: Sequence[Segment],
    russian: dict[int, Any],
    options: ClipOptions,
    guard: LeakGuard,
) -> list[CoveredInterval]:
    covered: list[CoveredInterval] = []
    audible: list[tuple[str, str]] = []
    for seg in segments:
        assert seg.start is not None and seg.end is not None
        spans = list(russian[seg.id].spans)
        words = seg.words or []
        by_word = word_intervals(seg.text, words, spans) if words else None
        if spans and by_word is None:
            category = min(spans, key=lambda s: s.start).category
            covered.append(
                CoveredInterval(
                    seg.start - options.margin, seg.end + options.margin, category, "segment",
                    seg.idx,
                )
            )  # fmt: skip
            continue
        for s, e, category in by_word or []:
            covered.append(
                CoveredInterval(s - options.margin, e + options.margin, category, "words", seg.idx)
            )
        text = _audible_text(seg.text, words, spans) if spans else seg.text
        audible.append((f"call {seg.call_id} segment {seg.idx} (audible)", text))
    guard.check(audible, "redacted clip")
    return covered


def _window_segments(
    segments: Sequence[Segment], call: Call, options: ClipOptions
) -> list[Segment]:
    if not segments:
        raise ClipError(
            f"call {call.id} has no transcript, so nobody knows what the clip says and it "
            "cannot be redacted; transcribe it first (`earshot process`), or make an "
            "unredacted clip with --no-redact --identifying"
        )
    if any(s.start is None or s.end is None for s in segments):
        raise ClipError(
            f"call {call.id}'s transcript has no times, so redacted words cannot be located "
            "in the audio; transcribe it with timestamps (`earshot process`) first"
        )
    return [
        s
        for s in segments
        if s.start is not None and s.end is not None and s.start < options.end
        and s.end > options.start
    ]  # fmt: skip


def _sha256(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _record(session: Session, call: Call, out: Path, provenance: dict[str, Any]) -> None:
    detail = {k: v for k, v in provenance.items() if k not in ("working_copies",)}
    detail["file"] = out.name
    append_custody(
        session,
        operator=provenance["operator"],
        action="clip-exported",
        sha256=call.sha256,
        path=out.name,
        detail=detail,
    )
    audit(
        session,
        user=provenance["operator"],
        action="clip-exported",
        object_type="call",
        object_id=str(call.id),
        detail=detail,
    )


def _sides(session: Session, call_id: int, pseudonyms: dict[int, str] | None) -> list[Any]:
    """Who speaks in the clip, as the library attributes the call's sides now (pseudonyms
    in a redacted clip, names in an identifying one; "Unknown speaker N" otherwise)."""
    from earshot.store.models import Person

    from .attribution import attribution_report, call_side_attributions, side_names

    if pseudonyms is None:
        pseudonyms = {p.id: p.name for p in session.scalars(select(Person))}
    sides = call_side_attributions(session, [call_id])
    return attribution_report(sides, side_names(session, sides, pseudonyms, allow_proposed=True))


def _check_window(call: Call, options: ClipOptions) -> None:
    if not 0.0 <= options.start < options.end:
        raise ClipError(
            f"clip window {options.start}-{options.end} s is empty or negative; "
            "give --start before --end"
        )
    if options.start >= call.duration:
        raise ClipError(
            f"call {call.id} lasts {call.duration:.1f} s; --start {options.start} is past its end"
        )
    if options.margin < 0 or options.margin > 1:
        raise ClipError(f"margin {options.margin} s must be between 0 and 1 s")


def clip_call(
    case: Case,
    call_id: int,
    out: Path,
    options: ClipOptions,
    *,
    extractor: EntityExtractor | None = None,
) -> ClipResult:
    """Cut, redact (and optionally disguise) a stretch of a call; write it and its sidecar.

    Nothing is written if the clip is refused (no transcript, a leak, no right to an
    unredacted clip).
    """
    with case.session() as session:
        call = session.get(Call, call_id)
        if call is None:
            raise ClipError(f"no call with id {call_id} in this case; see `earshot calls`")
        _check_window(call, options)
        sidecar = sidecar_path(out, options.provenance_dir or case.path / INTERNAL_DIR / "clips")
        end = min(options.end, call.duration)
        window = replace(options, end=end)
        covered: list[CoveredInterval] = []
        names: dict[int, str] | None = None  # published names: pseudonyms when redacted
        policy = options.policy or default_policy()
        if options.redact:
            redaction = redact_calls(
                session, [call_id], policy=policy, operator=options.operator, extractor=extractor
            )
            names = redaction.pseudonyms
            segments = _window_segments(redaction.segments[call_id], call, window)
            covered = _covered(segments, redaction.russian, window, LeakGuard.for_case(session))
        else:
            authorise_identifying(
                "an audio clip", identifying=options.identifying, role=options.role
            )
        samples, rate, copies = _working(case, session, call, options.start, end)
        if options.disguise is not None:
            samples = np.vstack([disguise_voice(c, rate, options.disguise) for c in samples])
        if not options.stereo and samples.shape[0] > 1:
            samples = samples.mean(axis=0, keepdims=True).astype(np.float32)
        relative = [
            (max(0.0, c.start - options.start), min(end, c.end) - options.start)
            for c in covered
            if c.end > options.start and c.start < end
        ]
        samples = cover_intervals(samples, rate, relative, mode=options.mode)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".earshot-", suffix=out.suffix, dir=out.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            write_clip_audio(tmp, samples, rate)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        transcript = current_transcript(session, call_id)
        provenance: dict[str, Any] = {
            "format": "earshot-clip-provenance",
            "version": 1,
            "call_id": call.id,
            "original_sha256": call.sha256,
            "working_copies": copies,
            "start": round(options.start, 3),
            "end": round(end, 3),
            "duration": round(samples.shape[1] / rate, 3),
            "sample_rate": rate,
            "channels": int(samples.shape[0]),
            "file": out.name,
            "file_sha256": _sha256(out),
            "file_sha1": _sha256(out, "sha1"),  # what FtM's contentHash holds
            "redacted": options.redact,
            "mode": options.mode if options.redact else None,
            "policy": policy.source if options.redact else None,
            "transcript": (
                {"id": transcript.id, "source": transcript.source} if transcript else None
            ),
            "sides": _sides(session, call_id, names),
            "redactions": [c.as_dict(options.start) for c in covered],
            "disguise": options.disguise.as_dict() if options.disguise else None,
            "operator": options.operator,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "earshot_version": __version__,
        }
        write_atomic(
            sidecar, (json.dumps(provenance, ensure_ascii=False, indent=2) + "\n").encode()
        )
        _record(session, call, out, provenance)
    return ClipResult(out, sidecar, provenance)
