"""Redaction of whole calls straight from the database, for clips, quotes and dossiers.

The export redacts the document built by ``build_export``; clips, quote sheets
and dossiers need the same decisions for a few calls without building a whole
export. The Russian segments of the calls are read first (the entity extractor,
the stored entities and slang marks, exactly as the export does), which also
teaches the redactor the places and names it found, so the English redacted
afterwards with the same redactor loses them too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.language.analysis import current_transcript
from earshot.language.entities import Entity, EntityExtractor
from earshot.store.language_models import SegmentEntity, SegmentSlang
from earshot.store.models import Segment

from .nicknames import require_nickname_decisions
from .policy import RedactionPolicy, default_policy
from .pseudonyms import assign_pseudonyms
from .redaction import RedactedText, Redactor
from .terms import protected_people

__all__ = ["CallRedaction", "redact_calls"]


@dataclass
class CallRedaction:
    """The primed redactor, the calls' current segments and their redacted Russian."""

    redactor: Redactor
    pseudonyms: dict[int, str]
    segments: dict[int, list[Segment]]  # call id -> current transcript's segments, in order
    russian: dict[int, RedactedText]  # segment id -> redacted text (spans in original offsets)


def redact_calls(
    session: Session,
    call_ids: Sequence[int],
    *,
    policy: RedactionPolicy | None = None,
    operator: str,
    extractor: EntityExtractor | None = None,
) -> CallRedaction:
    """Redact the current transcripts of `call_ids` (pseudonyms assigned where missing).

    Refused while a term of address in them that may be a nickname is undecided.
    """
    policy = policy or default_policy()
    if policy.review_nicknames:
        require_nickname_decisions(session, call_ids)
    pseudonyms = assign_pseudonyms(session, operator=operator)
    redactor = Redactor(policy, protected_people(session), pseudonyms, extractor=extractor)
    segments: dict[int, list[Segment]] = {}
    for call_id in call_ids:
        transcript = current_transcript(session, call_id)
        segments[call_id] = list(transcript.segments) if transcript else []
    ordered = [s for call_id in call_ids for s in segments[call_id]]
    ids = [s.id for s in ordered]
    slang: dict[int, list[tuple[int, int]]] = defaultdict(list)
    stored: dict[int, list[Entity]] = defaultdict(list)
    if ids:
        for row in session.scalars(select(SegmentSlang).where(SegmentSlang.segment_id.in_(ids))):
            slang[row.segment_id].append((row.start, row.end))
        for ent in session.scalars(select(SegmentEntity).where(SegmentEntity.segment_id.in_(ids))):
            stored[ent.segment_id].append(
                Entity(ent.kind, ent.start, ent.end, ent.text, ent.normal, ent.value)
            )
    first = redactor.analyse(
        [s.text for s in ordered], [slang[s.id] for s in ordered], [stored[s.id] for s in ordered]
    )
    russian = {
        s.id: redactor.redact(s.text, spans, slang[s.id])
        for s, spans in zip(ordered, first, strict=True)
    }
    return CallRedaction(redactor, pseudonyms, segments, russian)
