"""Re-analyse one segment after its Russian text was corrected by hand.

A corrected word must show up everywhere the old one did: its entities, slang and
themes are recomputed for that segment alone (NER runs on one text, not the call),
the call's themes are pooled again from every segment (tagging only, no NER), and the
editors' decisions (linked names, theme tags) are laid over the result as after a
full analysis. The search index follows by itself: it re-indexes a segment whose text
changed in the same transaction (:mod:`earshot.search.sync`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from earshot.language.analysis import LanguageAnalyzer, LanguageStage
from earshot.language.analysis_store import _entity_row, known_persons, segments_of
from earshot.language.names import PersonDirectory
from earshot.language.overrides import apply_overrides
from earshot.store.language_models import CallTheme, SegmentEntity, SegmentSlang, SegmentTheme
from earshot.store.models import Segment

__all__ = ["SegmentReanalysis", "reanalyse_segment"]


@dataclass(frozen=True)
class SegmentReanalysis:
    """What the corrected segment holds now."""

    segment_id: int
    entities: list[str]
    slang: list[str]
    themes: list[str]
    call_themes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "entities": self.entities,
            "slang": self.slang,
            "themes": self.themes,
            "call_themes": self.call_themes,
        }


@cache
def _stage() -> LanguageStage:
    """One analyzer per process (Natasha's models and the gazetteer load once)."""
    return LanguageStage()


def reanalyse_segment(
    session: Session, segment: Segment, *, analyzer: LanguageAnalyzer | None = None
) -> SegmentReanalysis:
    """Recompute `segment`'s entities, slang and themes, and its call's themes."""
    stage = _stage()
    analyzer = analyzer or stage.analyzer
    key = stage.info().key
    persons = known_persons(session)
    result = analyzer.analyze([segment.text], PersonDirectory(persons), persons).segments[0]
    at = {"call_id": segment.call_id, "info_key": key, "segment_id": segment.id}
    for table in (SegmentEntity, SegmentSlang, SegmentTheme):
        session.execute(delete(table).where(table.segment_id == segment.id))
    entities = [_entity_row(linked) | at for linked in result.entities]
    slang = [
        {
            **at,
            "start": hit.start,
            "end": hit.end,
            "text": hit.text,
            "term": hit.term,
            "gloss": hit.gloss,
            "category": hit.category,
            "slur": hit.slur,
        }
        for hit in result.slang
    ]
    themes = [
        {
            **at,
            "theme": theme.theme,
            "cues": [
                {"cue": cue, "start": s, "end": e}
                for cue, (s, e) in zip(theme.cues, theme.spans, strict=True)
            ],
        }
        for theme in result.themes
    ]
    for table, rows in ((SegmentEntity, entities), (SegmentSlang, slang), (SegmentTheme, themes)):
        if rows:
            session.execute(insert(table), rows)
    texts = [s.text for s in segments_of(session, segment.call_id)]
    _, call_themes = analyzer.tagger.tag_segments(texts, [analyzer.matcher.find(t) for t in texts])
    session.execute(delete(CallTheme).where(CallTheme.call_id == segment.call_id))
    if call_themes:
        session.execute(
            insert(CallTheme),
            [{"call_id": segment.call_id, "theme": t, "info_key": key} for t in call_themes],
        )
    apply_overrides(session, [segment.call_id])
    return SegmentReanalysis(
        segment.id,
        [f"{e.entity.kind}:{e.entity.text}" for e in result.entities],
        [hit.term for hit in result.slang],
        [t.theme for t in result.themes],
        list(call_themes),
    )
