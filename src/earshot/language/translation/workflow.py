"""Segment translations as reviewed work: draft -> edited -> reviewed -> approved.

Machine output (or an imported reference translation) is only a draft. A translator
edits it, a reviewer checks it, an editor approves it; each step names its actor and
is appended to ``translation_history``. A reviewer may also accept a good draft as it
is (draft -> reviewed, recorded as "accept"). Under the four-eyes rule (setting
``translation_four_eyes``, on by default) nobody reviews their own translation or
approves their own review, so every published line has passed two people.

A reviewer's "correction" that rewrites the text (normalised Levenshtein distance above
``translation_rewrite_threshold``, 0.5 by default) is not a review: the reviewer becomes
the translator of record of the new text, which goes back to "edited" (history action
"rewrite", the earlier text kept in the history) and needs someone else's review.
Otherwise a reviewer could replace a whole translation while another person's name
stayed on it as its translator.

Every change passes the version the writer last read: a stale one raises
:class:`StaleEditError` instead of silently overwriting a colleague. Drafting never
touches a translation a person has worked on; it only re-drafts untouched drafts when
the engine changes. Slang the decoder found in the segment is attached to the draft as
translator's notes with its gloss.

Everything goes through the ORM (search indexes translations through ORM events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import Levenshtein
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from earshot.errors import EarshotError
from earshot.language.analysis import current_transcript
from earshot.language.slang import default_matcher
from earshot.store.language_models import Translation, TranslationHistory
from earshot.store.models import Call, Segment, Transcript, utcnow
from earshot.vocab import TranslationStatus

from ...errors import FourEyesError, StaleEditError, TranslationStateError
from .engines import TranslationEngine

__all__ = [
    "STATUSES",
    "DraftReport",
    "FourEyesError",
    "StaleEditError",
    "TranslationStateError",
    "approve_translation",
    "draft_from_reference",
    "draft_translations",
    "edit_translation",
    "review_translation",
    "rewrite_share",
    "slang_notes",
    "translation_history",
]

STATUSES = tuple(status.value for status in TranslationStatus)  # the review order
DEFAULT_REWRITE_THRESHOLD = 0.5
ProgressCallback = Callable[[int, int, int], None]  # (call_id, done, total)


@dataclass
class DraftReport:
    """What drafting did: new drafts, re-drafts, kept (human-touched or same engine)."""

    engine: dict[str, Any]
    created: int = 0
    redrafted: int = 0
    kept: int = 0
    calls: list[int] = field(default_factory=list)
    without_transcript: list[int] = field(default_factory=list)
    without_reference: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "created": self.created,
            "redrafted": self.redrafted,
            "kept": self.kept,
            "calls": self.calls,
            "without_transcript": self.without_transcript,
            "without_reference": self.without_reference,
        }


def slang_notes(text: str) -> list[dict[str, Any]]:
    """Translator's notes for the slang in `text`: surface, lexicon id and English gloss."""
    return [
        {"kind": "slang", "text": h.text, "term": h.term, "gloss": h.gloss, "slur": h.slur}
        for h in default_matcher().find(text)
    ]


def _log(
    session: Session, row: Translation, actor: str, action: str, note: str | None = None
) -> None:
    session.flush()  # the row's id and bumped version
    session.add(
        TranslationHistory(
            translation_id=row.id,
            segment_id=row.segment_id,
            version=row.version,
            status=row.status,
            text=row.text,
            actor=actor,
            action=action,
            at=utcnow(),
            note=note,
        )
    )


def _call_ids(session: Session, call_ids: Sequence[int] | None) -> list[int]:
    existing = list(session.execute(select(Call.id).order_by(Call.id)).scalars())
    if call_ids is None:
        return existing
    missing = sorted(set(call_ids) - set(existing))
    if missing:
        raise EarshotError(
            f"no call with id {', '.join(map(str, missing))} in this case; see `earshot calls`"
        )
    return [c for c in existing if c in set(call_ids)]


def _segments(session: Session, call_id: int) -> list[Segment]:
    transcript = current_transcript(session, call_id)
    if transcript is None:
        return []
    return list(transcript.segments)


def _put_draft(
    session: Session,
    segment: Segment,
    text: str,
    engine: dict[str, Any],
    actor: str,
    report: DraftReport,
) -> None:
    row = session.execute(
        select(Translation).where(Translation.segment_id == segment.id)
    ).scalar_one_or_none()
    if row is None:
        row = Translation(
            segment_id=segment.id,
            call_id=segment.call_id,
            text=text,
            status="draft",
            engine=engine,
            notes=slang_notes(segment.text),
            updated_at=utcnow(),
        )
        session.add(row)
        _log(session, row, actor, "draft")
        report.created += 1
    elif row.status == "draft" and (row.engine != engine or row.text != text):
        row.text, row.engine, row.updated_at = text, engine, utcnow()
        row.notes = slang_notes(segment.text)
        _log(session, row, actor, "redraft")
        report.redrafted += 1
    else:
        report.kept += 1


def draft_translations(
    session: Session,
    engine: TranslationEngine,
    *,
    actor: str,
    call_ids: Sequence[int] | None = None,
    progress: ProgressCallback | None = None,
) -> DraftReport:
    """Machine drafts for the current transcript of each call (default: all calls)."""
    provenance = engine.provenance()
    report = DraftReport(provenance)
    calls = _call_ids(session, call_ids)
    for done, call_id in enumerate(calls, 1):
        segments = _segments(session, call_id)
        if not segments:
            report.without_transcript.append(call_id)
        elif engine.name != "none":
            texts = engine.translate([s.text for s in segments])
            for segment, text in zip(segments, texts, strict=True):
                _put_draft(session, segment, text, provenance, actor, report)
            report.calls.append(call_id)
        if progress is not None:
            progress(call_id, done, len(calls))
    return report


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def _align(segments: Sequence[Segment], cues: Sequence[Segment]) -> list[list[str]]:
    """Each reference cue goes to the verbatim segment it overlaps most in time.

    Untimed transcripts (plain text) align by position when the counts agree.
    """
    assigned: list[list[str]] = [[] for _ in segments]
    timed = all(s.start is not None and s.end is not None for s in [*segments, *cues])
    if not timed:
        if len(segments) == len(cues):
            return [[c.text] for c in cues]
        return assigned
    for cue in cues:
        span = (float(cue.start or 0.0), float(cue.end or 0.0))
        scores = [_overlap(span, (float(s.start or 0.0), float(s.end or 0.0))) for s in segments]
        best = max(range(len(segments)), key=lambda i: scores[i], default=None)
        if best is not None and scores[best] > 0:
            assigned[best].append(cue.text)
    return assigned


def draft_from_reference(
    session: Session,
    *,
    actor: str,
    call_ids: Sequence[int] | None = None,
    language: str = "en",
    progress: ProgressCallback | None = None,
) -> DraftReport:
    """Drafts from an imported reference translation (``NAME.en.vtt`` beside the audio).

    Its cues are aligned to the current verbatim segments by time; the drafts carry
    engine "reference" and the reference transcript's id.
    """
    report = DraftReport({"engine": "reference", "language": language})
    calls = _call_ids(session, call_ids)
    for done, call_id in enumerate(calls, 1):
        segments = _segments(session, call_id)
        reference = (
            session.execute(
                select(Transcript)
                .where(
                    Transcript.call_id == call_id,
                    Transcript.kind == "translation",
                    Transcript.language == language,
                )
                .order_by(Transcript.created_at.desc(), Transcript.id.desc())
            )
            .scalars()
            .first()
        )
        if not segments:
            report.without_transcript.append(call_id)
        elif reference is None:
            report.without_reference.append(call_id)
        else:
            provenance = {"engine": "reference", "transcript_id": reference.id}
            aligned = _align(segments, reference.segments)
            for segment, texts in zip(segments, aligned, strict=True):
                _put_draft(session, segment, " ".join(texts), provenance, actor, report)
            report.calls.append(call_id)
        if progress is not None:
            progress(call_id, done, len(calls))
    return report


# ---------------------------------------------------------------- human steps


def _load(session: Session, segment_id: int) -> Translation | None:
    if session.get(Segment, segment_id) is None:
        raise EarshotError(
            f"no segment with id {segment_id} in this case; see `earshot export` or the web view"
        )
    return session.execute(
        select(Translation).where(Translation.segment_id == segment_id)
    ).scalar_one_or_none()


def _check_version(row: Translation | None, segment_id: int, expected: int) -> None:
    current = row.version if row is not None else 0
    if current != expected:
        who = f" by {row.translator or row.reviewer or row.approver}" if row else ""
        raise StaleEditError(
            f"translation of segment {segment_id} is at version {current}{who}, not "
            f"{expected}: someone changed it since you read it; reload, then redo your change "
            f"with --expected-version {current}"
        )


def _flush(session: Session, segment_id: int) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise StaleEditError(
            f"translation of segment {segment_id} changed while saving; reload and redo"
        ) from None


def edit_translation(
    session: Session,
    segment_id: int,
    text: str,
    *,
    actor: str,
    expected_version: int,
    note: str | None = None,
) -> Translation:
    """A translator's text (expected_version 0 when the segment has no translation yet).

    Editing a reviewed or approved translation sends it back to "edited".
    """
    row = _load(session, segment_id)
    _check_version(row, segment_id, expected_version)
    if row is None:
        segment = session.get(Segment, segment_id)
        assert segment is not None  # checked by _load
        row = Translation(
            segment_id=segment_id,
            call_id=segment.call_id,
            text=text,
            status="edited",
            engine={"engine": "human"},
            translator=actor,
            notes=slang_notes(segment.text),
            updated_at=utcnow(),
        )
        session.add(row)
    else:
        row.text, row.status, row.translator, row.updated_at = text, "edited", actor, utcnow()
        row.reviewer = row.approver = None
    _flush(session, segment_id)
    _log(session, row, actor, "edit", note)
    return row


def _check_four_eyes(row: Translation, segment_id: int, actor: str, step: str) -> None:
    own = row.translator if step == "review" else row.reviewer
    if own is not None and own == actor:
        did = "translated" if step == "review" else "reviewed"
        raise FourEyesError(
            f"{actor} {did} segment {segment_id}, so someone else must {step} it "
            f"(four-eyes rule; a case can switch it off with translation_four_eyes = false "
            f"in earshot.toml)"
        )


def rewrite_share(before: str, after: str) -> float:
    """How much of a translation a correction changed: Levenshtein distance over the
    longer text's length (0 same, 1 all new), whitespace runs counted as one space."""
    a, b = " ".join(before.split()), " ".join(after.split())
    return float(Levenshtein.normalized_distance(a, b))


def _rewrite_threshold(session: Session, explicit: float | None) -> float:
    if explicit is not None:
        return explicit
    settings = session.info.get("settings")
    value = getattr(settings, "translation_rewrite_threshold", DEFAULT_REWRITE_THRESHOLD)
    return float(value)


def _rewrite(
    session: Session,
    row: Translation,
    segment_id: int,
    actor: str,
    text: str,
    share: float,
    threshold: float,
    note: str | None,
) -> Translation:
    """The reviewer's text becomes a new translation of record by the reviewer."""
    previous = row.translator or (row.engine or {}).get("engine") or "the draft"
    row.text, row.status, row.translator, row.updated_at = text, "edited", actor, utcnow()
    row.reviewer = row.approver = None
    _flush(session, segment_id)
    why = (
        f"reviewer's rewrite ({share:.0%} changed, above {threshold:.0%}) replaces the "
        f"translation by {previous}; {actor} is now its translator and someone else reviews it"
    )
    _log(session, row, actor, "rewrite", f"{why}. {note}" if note else why)
    return row


def _advance(
    session: Session,
    segment_id: int,
    *,
    actor: str,
    expected_version: int,
    before: tuple[str, ...],
    after: str,
    text: str | None,
    note: str | None,
    four_eyes: bool,
    rewrite_threshold: float | None = None,
) -> Translation:
    row = _load(session, segment_id)
    _check_version(row, segment_id, expected_version)
    step = "review" if after == "reviewed" else "approve"
    if row is None or row.status not in before:
        status = row.status if row else "untranslated"
        allowed = " or ".join(before)
        raise TranslationStateError(
            f"translation of segment {segment_id} is {status}; only a {allowed} translation "
            f"can become {after} (draft -> edited -> reviewed -> approved)"
        )
    if four_eyes:
        _check_four_eyes(row, segment_id, actor, step)
    action = "accept" if row.status == "draft" else step
    if text is not None and after == "reviewed" and text != row.text:
        share = rewrite_share(row.text, text)
        limit = _rewrite_threshold(session, rewrite_threshold)
        if share > limit:
            return _rewrite(session, row, segment_id, actor, text, share, limit, note)
    if text is not None:
        row.text = text
    row.status, row.updated_at = after, utcnow()
    if after == "reviewed":
        row.reviewer = actor
    else:
        row.approver = actor
    _flush(session, segment_id)
    _log(session, row, actor, action, note)
    return row


def review_translation(
    session: Session,
    segment_id: int,
    *,
    actor: str,
    expected_version: int,
    text: str | None = None,
    note: str | None = None,
    four_eyes: bool = True,
    rewrite_threshold: float | None = None,
) -> Translation:
    """A reviewer checks an edited translation (optionally correcting its text).

    A draft can be reviewed too: the reviewer accepts the machine or reference draft
    as it is (history action "accept"), which saves an edit that changes nothing.

    Corrections beyond `rewrite_threshold` (default: the case's
    ``translation_rewrite_threshold``) are a rewrite, not a review: the returned
    translation is "edited", by the reviewer (see the module docstring).
    """
    return _advance(
        session,
        segment_id,
        actor=actor,
        expected_version=expected_version,
        before=("draft", "edited"),
        after="reviewed",
        text=text,
        note=note,
        four_eyes=four_eyes,
        rewrite_threshold=rewrite_threshold,
    )


def approve_translation(
    session: Session,
    segment_id: int,
    *,
    actor: str,
    expected_version: int,
    note: str | None = None,
    four_eyes: bool = True,
) -> Translation:
    """An editor approves a reviewed translation for publication."""
    return _advance(
        session,
        segment_id,
        actor=actor,
        expected_version=expected_version,
        before=("reviewed",),
        after="approved",
        text=None,
        note=note,
        four_eyes=four_eyes,
    )


def translation_history(session: Session, segment_id: int) -> list[TranslationHistory]:
    """Every recorded state of the segment's translation, oldest first."""
    return list(
        session.execute(
            select(TranslationHistory)
            .where(TranslationHistory.segment_id == segment_id)
            .order_by(TranslationHistory.id)
        ).scalars()
    )
