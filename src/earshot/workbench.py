"""What the workbench adds around a call's lines: comments and translation history.

Like :mod:`earshot.edits` (the same layer), every function takes the session and the
:class:`~earshot.security.roles.Actor`, checks the role, and leaves its audit entry in
the same transaction; the CLI and the web call these and only translate exceptions.
Comments are the team's notes on a segment, threaded and signed; nothing in
:mod:`earshot.publish` reads them, so they never reach an export.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import EditRefusedError, StaleEditError
from .language.analysis_store import current_transcript
from .language.segment_reanalysis import SegmentReanalysis, reanalyse_segment
from .language.translation.workflow import translation_history
from .security.roles import Actor, Permission
from .store.audit import audit
from .store.models import Segment
from .store.workbench_models import SegmentComment, SegmentTextVersion

__all__ = [
    "MAX_COMMENT",
    "AttributionDecision",
    "CommentRecord",
    "SavedSearchRecord",
    "SegmentTextRecord",
    "TranslationVersion",
    "VoiceProposal",
    "add_comment",
    "call_comments",
    "correct_segment_text",
    "decide_attribution",
    "delete_saved_search",
    "person_voice_proposals",
    "save_search",
    "saved_searches",
    "segment_text_versions",
    "segment_translation_history",
]

MAX_COMMENT = 4_000


@dataclass(frozen=True)
class CommentRecord:
    id: int
    segment_id: int
    call_id: int
    parent_id: int | None
    author: str
    text: str
    at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TranslationVersion:
    """One recorded state of a segment's English: who did what, when."""

    version: int
    status: str
    text: str
    actor: str
    action: str
    at: str
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _record(row: SegmentComment) -> CommentRecord:
    return CommentRecord(
        row.id, row.segment_id, row.call_id, row.parent_id, row.author, row.text, row.at.isoformat()
    )


def _segment(session: Session, call_id: int, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None or segment.call_id != call_id:
        raise EditRefusedError(f"no segment {segment_id} of call {call_id} in this case")
    return segment


def add_comment(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    segment_id: int,
    text: str,
    parent_id: int | None = None,
) -> CommentRecord:
    """Leave a comment on a segment, or a reply to one (`parent_id`) in its thread.

    Whoever may work on the call's text (a translator, an editor, an admin) may
    comment; a viewer reads. Empty or over-long text, and a reply to a comment on
    another segment, are refused.
    """
    actor.require(Permission.EDIT_TRANSLATION, what="comment on a segment")
    _segment(session, call_id, segment_id)
    text = text.strip()
    if not text:
        raise EditRefusedError("the comment is empty; write something first")
    if len(text) > MAX_COMMENT:
        raise EditRefusedError(f"the comment is {len(text)} characters; the limit is {MAX_COMMENT}")
    if parent_id is not None:
        parent = session.get(SegmentComment, parent_id)
        if parent is None or parent.segment_id != segment_id:
            raise EditRefusedError(f"comment {parent_id} is not on segment {segment_id}")
    row = SegmentComment(
        segment_id=segment_id, call_id=call_id, parent_id=parent_id, author=actor.name, text=text
    )
    session.add(row)
    session.flush()
    audit(
        session,
        user=actor.name,
        action="comment",
        object_type="segment",
        object_id=str(segment_id),
        detail={
            "comment_id": row.id,
            "call_id": call_id,
            "parent_id": parent_id,
            "role": actor.role.value,
        },
    )
    return _record(row)


def call_comments(session: Session, actor: Actor, call_id: int) -> list[CommentRecord]:
    """Every comment on the call's segments, oldest first (threads by `parent_id`)."""
    actor.require(Permission.READ, what="read comments")
    rows = session.scalars(
        select(SegmentComment)
        .where(SegmentComment.call_id == call_id)
        .order_by(SegmentComment.at, SegmentComment.id)
    )
    return [_record(r) for r in rows]


def segment_translation_history(
    session: Session, actor: Actor, *, call_id: int, segment_id: int
) -> list[TranslationVersion]:
    """Every saved state of the segment's English, oldest first."""
    actor.require(Permission.READ, what="read translation history")
    _segment(session, call_id, segment_id)
    return [
        TranslationVersion(h.version, h.status, h.text, h.actor, h.action, h.at.isoformat(), h.note)
        for h in translation_history(session, segment_id)
    ]


# -- correcting the Russian text ----------------------------------------------------
@dataclass(frozen=True)
class SegmentTextRecord:
    """A segment's Russian text at one version, and (after a correction) what the
    re-analysis of that segment found."""

    segment_id: int
    call_id: int
    version: int
    text: str
    actor: str
    at: str
    analysis: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _versions(session: Session, segment_id: int) -> list[SegmentTextVersion]:
    return list(
        session.scalars(
            select(SegmentTextVersion)
            .where(SegmentTextVersion.segment_id == segment_id)
            .order_by(SegmentTextVersion.version)
        )
    )


def segment_text_versions(
    session: Session, actor: Actor, *, call_id: int, segment_id: int
) -> list[SegmentTextRecord]:
    """Every recorded state of the segment's Russian, oldest first (empty: never corrected)."""
    actor.require(Permission.READ, what="read transcript history")
    _segment(session, call_id, segment_id)
    return [
        SegmentTextRecord(v.segment_id, v.call_id, v.version, v.text, v.actor, v.at.isoformat())
        for v in _versions(session, segment_id)
    ]


def correct_segment_text(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    segment_id: int,
    text: str,
    expected_version: int,
) -> SegmentTextRecord:
    """Correct the Russian text of one segment of the call's current transcript.

    Versioned like translations: `expected_version` is the version the editor loaded
    (1 for a text never corrected); a newer save refuses with
    :class:`~earshot.errors.StaleEditError`. The first correction records the text as
    transcribed as version 1. Only that segment is re-analysed (entities, slang,
    themes; the call's themes pooled again) and re-indexed for search, in the same
    transaction; the audit entry keeps the old and the new text's lengths.
    """
    actor.require(Permission.EDIT_TRANSCRIPT, what="correct a transcript")
    segment = _segment(session, call_id, segment_id)
    current = current_transcript(session, call_id)
    if current is None or segment.transcript_id != current.id:
        raise EditRefusedError(
            f"segment {segment_id} is not in call {call_id}'s current transcript; reload the call"
        )
    text = " ".join(text.split())
    if not text:
        raise EditRefusedError("the corrected text is empty; a segment keeps at least one word")
    if len(text) > MAX_COMMENT * 5:
        raise EditRefusedError(
            f"the text is {len(text)} characters; the limit is {MAX_COMMENT * 5}"
        )
    versions = _versions(session, segment_id)
    now = versions[-1].version if versions else 1
    if expected_version != now:
        raise StaleEditError(
            f"segment {segment_id} was corrected meanwhile (now version {now}, you loaded "
            f"version {expected_version}); your text is kept: compare, then save again"
        )
    if text == segment.text:
        raise EditRefusedError("the text is unchanged; nothing to save")
    old = segment.text
    if not versions:
        session.add(
            SegmentTextVersion(
                segment_id=segment_id, call_id=call_id, version=1, text=old, actor="transcript"
            )
        )
    row = SegmentTextVersion(
        segment_id=segment_id, call_id=call_id, version=now + 1, text=text, actor=actor.name
    )
    session.add(row)
    segment.text = text
    session.flush()  # the search index follows the new text here (earshot.search.sync)
    found: SegmentReanalysis = reanalyse_segment(session, segment)
    audit(
        session,
        user=actor.name,
        action="correct_transcript",
        object_type="segment",
        object_id=str(segment_id),
        detail={
            "call_id": call_id,
            "version": now + 1,
            "old_chars": len(old),
            "new_chars": len(text),
            "role": actor.role.value,
        },
    )
    return SegmentTextRecord(
        segment_id,
        call_id,
        now + 1,
        text,
        actor.name,
        row.at.isoformat(),
        found.as_dict(),
    )


# -- identity review ------------------------------------------------------------------
@dataclass(frozen=True)
class VoiceProposal:
    """A voice match not yet decided, seen from one person: their call side, the other
    side whose voice scores close, and who (if anyone) that side is attributed to."""

    call_a: int
    party_a: str
    call_b: int
    party_b: str
    score: float
    other_person_id: int | None
    other_person: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def person_voice_proposals(
    session: Session, actor: Actor, person_id: int, *, min_score: float | None = None
) -> list[VoiceProposal]:
    """Undecided voice matches touching a call side attributed to `person_id`, best first
    (the same candidates as `earshot voices`, before anyone confirmed or rejected them)."""
    from .identity.voice_links import DEFAULT_MIN_SCORE, voice_matches
    from .store.models import Party, Person

    actor.require(Permission.READ, what="read voice matches")
    sides = {
        (p.call_id, p.label): p
        for p in session.scalars(select(Party).where(Party.person_id == person_id))
    }
    if not sides:
        return []
    out = []
    for m in voice_matches(session, min_score=min_score or DEFAULT_MIN_SCORE):
        if m.status is not None:
            continue
        a, b = (m.call_a, m.party_a), (m.call_b, m.party_b)
        if a not in sides and b not in sides:
            continue
        mine, other = (a, b) if a in sides else (b, a)
        party = session.scalars(
            select(Party).where(Party.call_id == other[0], Party.label == other[1])
        ).first()
        if party is not None and party.person_id == person_id:
            continue  # both sides already this person: nothing to decide
        who = session.get(Person, party.person_id) if party and party.person_id else None
        out.append(
            VoiceProposal(
                mine[0],
                mine[1],
                other[0],
                other[1],
                round(m.score, 4),
                who.id if who else None,
                who.name if who else None,
            )
        )
    return out


@dataclass(frozen=True)
class AttributionDecision:
    link_id: int
    status: str
    party_id: int
    person_id: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide_attribution(
    session: Session, actor: Actor, link_id: int, *, accept: bool, note: str | None = None
) -> AttributionDecision:
    """Accept (the side is this person from now on) or reject an attribution proposal,
    such as a self-identification ("Это Рома"); audited as `attribute`."""
    from .identity.links import decide_proposal

    actor.require(Permission.VERIFY, what="decide who is speaking in a call")
    decided = decide_proposal(session, actor, link_id, accept=accept, note=note)
    audit(
        session,
        user=actor.name,
        action="attribute",
        object_type="attribution",
        object_id=str(link_id),
        detail={
            "accept": accept,
            "party_id": decided.party_id,
            "person_id": decided.person_id,
            "role": actor.role.value,
        },
    )
    return AttributionDecision(decided.link_id, decided.status, decided.party_id, decided.person_id)


# -- saved searches -------------------------------------------------------------------
@dataclass(frozen=True)
class SavedSearchRecord:
    id: int
    name: str
    query: str
    owner: str
    at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _saved(row: Any) -> SavedSearchRecord:
    return SavedSearchRecord(row.id, row.name, row.query, row.owner, row.at.isoformat())


def save_search(session: Session, actor: Actor, *, name: str, query: str) -> SavedSearchRecord:
    """Keep `query` under `name` in the actor's own list (the same name replaces it).
    The query is checked first: a search that cannot run is not saved."""
    from .search import parse_query
    from .store.workbench_models import SavedSearch

    actor.require(Permission.READ, what="save a search")
    name, query = " ".join(name.split()), query.strip()
    if not name or len(name) > 120:
        raise EditRefusedError("a saved search needs a name of 1 to 120 characters")
    if not query or len(query) > 500:
        raise EditRefusedError("a saved search needs a query of 1 to 500 characters")
    parse_query(query)  # raises QuerySyntaxError with the position and a hint
    row = session.scalars(
        select(SavedSearch).where(SavedSearch.owner == actor.name, SavedSearch.name == name)
    ).first()
    if row is None:
        row = SavedSearch(owner=actor.name, name=name, query=query)
        session.add(row)
    else:
        row.query = query
    session.flush()
    audit(
        session,
        user=actor.name,
        action="save_search",
        object_type="saved_search",
        object_id=str(row.id),
        detail={"name": name, "query": query[:200], "role": actor.role.value},
    )
    return _saved(row)


def saved_searches(session: Session, actor: Actor) -> list[SavedSearchRecord]:
    """The actor's own saved searches, by name."""
    from .store.workbench_models import SavedSearch

    actor.require(Permission.READ, what="list saved searches")
    rows = session.scalars(
        select(SavedSearch).where(SavedSearch.owner == actor.name).order_by(SavedSearch.name)
    )
    return [_saved(r) for r in rows]


def delete_saved_search(session: Session, actor: Actor, search_id: int) -> None:
    """Remove one of the actor's own saved searches (another's is not theirs to remove)."""
    from .store.workbench_models import SavedSearch

    actor.require(Permission.READ, what="remove a saved search")
    row = session.get(SavedSearch, search_id)
    if row is None or row.owner != actor.name:
        raise EditRefusedError(f"you have no saved search #{search_id}")
    session.delete(row)
    audit(
        session,
        user=actor.name,
        action="delete_saved_search",
        object_type="saved_search",
        object_id=str(search_id),
        detail={"name": row.name, "role": actor.role.value},
    )
