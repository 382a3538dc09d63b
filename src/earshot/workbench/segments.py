"""Changing the layout of a call's transcript: split, merge, boundaries, party.

Every change is a numbered version of the call's layout (``segment_edits``, with who,
when, and the segments as they were and became), audited, and checked against the
layout the editor loaded: a change based on an older layout is refused
(:class:`~earshot.errors.StaleEditError`), so two editors never undo each other unseen.

Only what changed is analysed again: the segments whose text changed (a split's two
halves, a merge's result) get their entities, slang and themes recomputed
(:mod:`earshot.language.segment_reanalysis`); a moved boundary changes no text; a
party change re-indexes the segment for ``party:`` searches by itself
(:mod:`earshot.search.sync`). What points at a segment follows its words
(:mod:`.segment_links`): translations, comments, quotes, editors' name links.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import EditRefusedError, StaleEditError
from ..language.analysis_store import current_transcript
from ..language.segment_reanalysis import reanalyse_segment
from ..security.roles import Actor, Permission
from ..store.audit import audit
from ..store.models import Call, Party, Segment
from ..store.workbench_models import SegmentEdit, SegmentTextVersion
from .notes import _segment
from .segment_links import after_merge, after_party_change, after_split

__all__ = [
    "SegmentEditRecord",
    "layout_version",
    "merge_segments",
    "move_boundary",
    "segment_at",
    "segment_edit_history",
    "set_party",
    "split_segment",
]

_MIN_LENGTH = 0.05  # seconds: a segment keeps at least this much audio


@dataclass(frozen=True)
class SegmentEditRecord:
    """One change to a call's layout: what, by whom, when, and the segments before/after.

    `analysis`: what the re-analysis of each segment whose text changed found (empty
    for a moved boundary or a party change)."""

    call_id: int
    version: int
    kind: str
    segment_id: int
    other_segment_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    actor: str
    at: str
    analysis: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _snapshot(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "idx": segment.idx,
        "start": segment.start,
        "end": segment.end,
        "party": segment.party,
        "speaker_label": segment.speaker_label,
        "text": segment.text,
    }


def layout_version(session: Session, call_id: int) -> int:
    """The call's layout version now: 0 until its transcript's layout is first changed."""
    found = session.scalar(
        select(func.max(SegmentEdit.version)).where(SegmentEdit.call_id == call_id)
    )
    return int(found or 0)


def segment_at(session: Session, call_id: int, position: int) -> int:
    """The id of the segment at `position` (0-based) of the call's current transcript."""
    current = current_transcript(session, call_id)
    if current is None:
        raise EditRefusedError(f"call {call_id} has no transcript in this case")
    found = session.scalar(
        select(Segment.id).where(Segment.transcript_id == current.id, Segment.idx == position)
    )
    if found is None:
        raise EditRefusedError(f"call {call_id} has no segment at position {position}")
    return int(found)


def segment_edit_history(session: Session, actor: Actor, call_id: int) -> list[SegmentEditRecord]:
    """Every change to the call's layout, oldest first."""
    actor.require(Permission.READ, what="read transcript history")
    rows = session.scalars(
        select(SegmentEdit).where(SegmentEdit.call_id == call_id).order_by(SegmentEdit.version)
    )
    return [_record(row, []) for row in rows]


def _record(row: SegmentEdit, analysis: list[dict[str, Any]]) -> SegmentEditRecord:
    return SegmentEditRecord(
        row.call_id,
        row.version,
        row.kind,
        row.segment_id,
        row.other_segment_id,
        row.before,
        row.after,
        row.actor,
        row.at.isoformat(),
        analysis,
    )


def _editable(
    session: Session, actor: Actor, call_id: int, segment_id: int, expected_version: int
) -> Segment:
    """The segment, in the call's current transcript, with the layout the editor loaded."""
    actor.require(Permission.EDIT_TRANSCRIPT, what="change a transcript")
    segment = _segment(session, call_id, segment_id)
    current = current_transcript(session, call_id)
    if current is None or segment.transcript_id != current.id:
        raise EditRefusedError(
            f"segment {segment_id} is not in call {call_id}'s current transcript; reload the call"
        )
    now = layout_version(session, call_id)
    if expected_version != now:
        raise StaleEditError(
            f"call {call_id}'s transcript was changed meanwhile (layout version {now}, you "
            f"loaded version {expected_version}); reload the call and do it again"
        )
    return segment


def _neighbour(session: Session, segment: Segment, step: int) -> Segment | None:
    return session.scalar(
        select(Segment).where(
            Segment.transcript_id == segment.transcript_id, Segment.idx == segment.idx + step
        )
    )


def _shift_after(session: Session, segment: Segment, idx: int, by: int) -> None:
    """Shift the idx of the transcript's segments after `idx` by `by`, in two steps
    through negative numbers so that the unique (transcript, idx) holds at every row on
    both backends."""
    where = (Segment.transcript_id == segment.transcript_id, Segment.idx > idx)
    session.execute(
        update(Segment).where(*where).values(idx=-Segment.idx - 1),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Segment)
        .where(Segment.transcript_id == segment.transcript_id, Segment.idx < 0)
        .values(idx=-Segment.idx - 1 + by),
        execution_options={"synchronize_session": False},
    )
    session.expire_all()


def _text_version(session: Session, segment: Segment, old: str | None, actor: str) -> None:
    """Append the segment's new text to its text versions (version 1: the old text)."""
    last = session.scalar(
        select(func.max(SegmentTextVersion.version)).where(
            SegmentTextVersion.segment_id == segment.id
        )
    )
    version = int(last or 0)
    if version == 0 and old is not None:
        version = 1
        session.add(
            SegmentTextVersion(
                segment_id=segment.id, call_id=segment.call_id, version=1, text=old,
                actor="transcript",
            )
        )  # fmt: skip
    session.add(
        SegmentTextVersion(
            segment_id=segment.id, call_id=segment.call_id, version=version + 1,
            text=segment.text, actor=actor,
        )
    )  # fmt: skip


def _commit_edit(
    session: Session,
    actor: Actor,
    kind: str,
    segment_id: int,
    other: int | None,
    before: dict[str, Any],
    after: dict[str, Any],
    call_id: int,
    analysis: list[dict[str, Any]],
) -> SegmentEditRecord:
    version = layout_version(session, call_id) + 1
    row = SegmentEdit(
        call_id=call_id, version=version, kind=kind, segment_id=segment_id,
        other_segment_id=other, before=before, after=after, actor=actor.name,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit(
        session,
        user=actor.name,
        action=f"segment_{kind}",
        object_type="segment",
        object_id=str(segment_id),
        detail={
            "call_id": call_id,
            "layout_version": version,
            "other_segment_id": other,
            "role": actor.role.value,
        },
    )
    return _record(row, analysis)


def _split_words(
    words: list[Any], count: int, k: int, at: float | None
) -> tuple[list[Any], list[Any]]:
    """The word timings of the two halves: by position when they match the text's
    words one to one, else by time."""
    if len(words) == count:
        return words[:k], words[k:]
    if at is None:
        return [], []
    first = [w for w in words if isinstance(w, dict) and float(w.get("start") or 0) < at]
    return first, [w for w in words if w not in first]


def _split_time(segment: Segment, words: list[str], k: int, at: float | None) -> float | None:
    if segment.start is None or segment.end is None:
        if at is not None:
            raise EditRefusedError(f"segment {segment.id} has no times; split it at a word only")
        return None
    if at is None:
        timed = segment.words or []
        if len(timed) == len(words) and isinstance(timed[k], dict) and timed[k].get("start"):
            at = float(timed[k]["start"])
        else:  # no word timings: where the words fall, by their share of the characters
            left = len(" ".join(words[:k]))
            at = segment.start + (segment.end - segment.start) * left / len(" ".join(words))
    at = round(at, 2)
    if not segment.start + _MIN_LENGTH <= at <= segment.end - _MIN_LENGTH:
        raise EditRefusedError(
            f"split time {at:.2f} s is not inside segment {segment.id} "
            f"({segment.start:.2f}–{segment.end:.2f} s)"
        )
    return at


def split_segment(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    segment_id: int,
    word: int,
    at: float | None = None,
    expected_version: int,
) -> SegmentEditRecord:
    """Split a segment before its `word`-th word (0-based, 1..n-1) at `at` seconds.

    Without `at` the time comes from the word timings, or else from where the word
    falls in the text. The segment keeps the first half (and its id, comments and
    translation, which is marked for review since it covers both halves); the second
    half is a new segment after it, untranslated.
    """
    segment = _editable(session, actor, call_id, segment_id, expected_version)
    words = segment.text.split()
    if not 0 < word < len(words):
        raise EditRefusedError(
            f"segment {segment_id} has {len(words)} word(s); split before word 1.."
            f"{len(words) - 1}, not {word}"
        )
    time = _split_time(segment, words, word, at)
    before = {"segments": [_snapshot(segment)]}
    old_text, old_end = segment.text, segment.end
    first_words, second_words = _split_words(list(segment.words or []), len(words), word, time)
    segment.text = " ".join(words[:word])
    segment.end = time if time is not None else segment.end
    segment.words = first_words
    session.flush()
    _shift_after(session, segment, segment.idx, 1)
    segment = session.get_one(Segment, segment_id)
    second = Segment(
        transcript_id=segment.transcript_id, call_id=call_id, idx=segment.idx + 1,
        start=time, end=old_end if time is not None else None, party=segment.party,
        speaker_label=segment.speaker_label, text=" ".join(words[word:]), words=second_words,
    )  # fmt: skip
    session.add(second)
    session.flush()
    _text_version(session, segment, old_text, actor.name)
    _text_version(session, second, None, actor.name)
    after_split(session, segment, second, len(segment.text) + 1, actor.name)
    analysis = [reanalyse_segment(session, s).as_dict() for s in (segment, second)]
    after = {"segments": [_snapshot(segment), _snapshot(second)]}
    return _commit_edit(
        session, actor, "split", segment.id, second.id, before, after, call_id, analysis
    )


def merge_segments(
    session: Session, actor: Actor, *, call_id: int, segment_id: int, expected_version: int
) -> SegmentEditRecord:
    """Merge a segment with the next one of the transcript (the same party's).

    The segment keeps its id and takes the next one's words, times, comments,
    translation (joined, marked for review) and the quotes that began or ended there;
    the next segment's text versions are kept in the edit's `before`.
    """
    segment = _editable(session, actor, call_id, segment_id, expected_version)
    nxt = _neighbour(session, segment, 1)
    if nxt is None:
        raise EditRefusedError(f"segment {segment_id} is the last of the call; nothing follows it")
    if (nxt.party or "") != (segment.party or ""):
        raise EditRefusedError(
            f"segments {segment.id} and {nxt.id} are of different parties "
            f"({segment.party or '?'}, {nxt.party or '?'}); change one's party first"
        )
    versions = session.scalars(
        select(SegmentTextVersion)
        .where(SegmentTextVersion.segment_id == nxt.id)
        .order_by(SegmentTextVersion.version)
    ).all()
    before = {
        "segments": [_snapshot(segment), _snapshot(nxt)],
        "merged_text_versions": [
            {"version": v.version, "text": v.text, "actor": v.actor, "at": v.at.isoformat()}
            for v in versions
        ],
    }
    old_text, offset, gone, gone_idx = segment.text, len(segment.text) + 1, nxt.id, nxt.idx
    segment.text = f"{segment.text} {nxt.text}"
    if segment.end is not None and nxt.end is not None:
        segment.end = max(segment.end, nxt.end)
    segment.words = list(segment.words or []) + list(nxt.words or [])
    for v in versions:
        session.delete(v)
    after_merge(session, segment, nxt, offset, actor.name)
    session.delete(nxt)
    session.flush()
    _shift_after(session, segment, gone_idx, -1)
    segment = session.get_one(Segment, segment_id)
    _text_version(session, segment, old_text, actor.name)
    analysis = [reanalyse_segment(session, segment).as_dict()]
    after = {"segments": [_snapshot(segment)]}
    return _commit_edit(session, actor, "merge", segment.id, gone, before, after, call_id, analysis)


def move_boundary(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    segment_id: int,
    start: float | None = None,
    end: float | None = None,
    expected_version: int,
) -> SegmentEditRecord:
    """Move a segment's start and/or end (seconds). The segment stays inside the call
    and in its place in time: its start not before the previous segment's start nor
    after the next one's (lines of two parties may overlap)."""
    segment = _editable(session, actor, call_id, segment_id, expected_version)
    if segment.start is None or segment.end is None:
        raise EditRefusedError(f"segment {segment_id} has no times to move")
    new_start = segment.start if start is None else round(start, 2)
    new_end = segment.end if end is None else round(end, 2)
    duration = session.get_one(Call, call_id).duration
    if new_start < 0 or new_end > duration + 0.01:
        raise EditRefusedError(
            f"{new_start:.2f}–{new_end:.2f} s is outside the call (0–{duration:.2f} s)"
        )
    if new_end - new_start < _MIN_LENGTH:
        raise EditRefusedError(
            f"the segment would end ({new_end:.2f} s) before it starts ({new_start:.2f} s); "
            f"a segment keeps at least {_MIN_LENGTH} s"
        )
    prev, nxt = _neighbour(session, segment, -1), _neighbour(session, segment, 1)
    if prev is not None and prev.start is not None and new_start < prev.start:
        raise EditRefusedError(
            f"the start {new_start:.2f} s would be before the previous segment's start "
            f"({prev.start:.2f} s); merge them instead"
        )
    if nxt is not None and nxt.start is not None and new_start > nxt.start:
        raise EditRefusedError(
            f"the start {new_start:.2f} s would be after the next segment's start "
            f"({nxt.start:.2f} s); merge them instead"
        )
    if (new_start, new_end) == (segment.start, segment.end):
        raise EditRefusedError("the boundaries are unchanged; nothing to save")
    before = {"segments": [_snapshot(segment)]}
    segment.start, segment.end = new_start, new_end
    session.flush()
    after = {"segments": [_snapshot(segment)]}
    return _commit_edit(session, actor, "move", segment.id, None, before, after, call_id, [])


def set_party(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    segment_id: int,
    party: str,
    expected_version: int,
) -> SegmentEditRecord:
    """Say which side of the call speaks a segment (one of the call's party labels)."""
    segment = _editable(session, actor, call_id, segment_id, expected_version)
    labels = sorted(session.scalars(select(Party.label).where(Party.call_id == call_id))) or [
        "A",
        "B",
    ]
    if party not in labels:
        raise EditRefusedError(
            f"call {call_id} has the parties {', '.join(labels)}; {party!r} is none of them"
        )
    if segment.party == party:
        raise EditRefusedError(f"segment {segment_id} is already party {party}; nothing to save")
    before = {"segments": [_snapshot(segment)]}
    old = segment.party
    segment.party = party
    segment.speaker_label = party  # the label shown; the diarised one stays in `before`
    session.flush()  # the search index follows the party here (earshot.search.sync)
    after_party_change(session, segment, old)
    after = {"segments": [_snapshot(segment)]}
    return _commit_edit(session, actor, "party", segment.id, None, before, after, call_id, [])
