"""The case lexicon: slang an editor adds for one case, applied to the whole case at once.

A newsroom meets words the built-in lexicon does not know (a unit's own nickname for a
weapon, a village's word for the command). An editor adds it once (`earshot slang add` or the
web form); the entry is validated exactly like a built-in one, stored in the case database
with who added it, and matched at once over every current segment of the case, so search,
themes and exports see it. Its hits are kept apart (``info_key`` :data:`CASE_INFO_KEY`) so
a re-analysis, which replaces the built-in hits of a call, lays them back on afterwards
(:func:`apply_case_lexicon`). Exports list the entries (:func:`case_lexicon_provenance`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from earshot.errors import CaseLexiconError, LexiconError
from earshot.language.analysis_store import segments_by_call
from earshot.language.lexicon import SlangEntry, SlangLexicon, load_slang_lexicon, slang_entry
from earshot.language.slang import SlangMatcher
from earshot.store.case import Case
from earshot.store.language_models import CaseSlangEntry, SegmentSlang
from earshot.store.models import Call

__all__ = [
    "CASE_INFO_KEY",
    "CaseLexiconEntry",
    "CaseLexiconError",
    "add_case_entry",
    "apply_case_lexicon",
    "case_lexicon",
    "case_lexicon_provenance",
    "list_case_entries",
    "reapply_case_lexicon",
    "remove_case_entry",
]

CASE_INFO_KEY = "case-lexicon"  # the info_key of slang rows found by the case lexicon
_WHERE = Path("case lexicon")


@dataclass(frozen=True)
class CaseLexiconEntry:
    """One case-lexicon entry, with who added it and how many segments it marked."""

    term: str
    forms: tuple[str, ...]
    gloss: str
    category: str
    notes: str
    slur: bool
    coarse: bool
    actor: str | None
    at: datetime | None
    hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "forms": list(self.forms),
            "gloss": self.gloss,
            "category": self.category,
            "notes": self.notes,
            "slur": self.slur,
            "coarse": self.coarse,
            "actor": self.actor,
            "at": self.at.isoformat() if self.at else None,
            "hits": self.hits,
        }


def _record(row: CaseSlangEntry, hits: int = 0) -> CaseLexiconEntry:
    return CaseLexiconEntry(
        term=row.term,
        forms=tuple(row.forms),
        gloss=row.gloss,
        category=row.category,
        notes=row.notes,
        slur=row.slur,
        coarse=row.coarse,
        actor=row.actor,
        at=row.at,
        hits=hits,
    )


def _entry(row: CaseSlangEntry) -> SlangEntry:
    return slang_entry(
        _WHERE,
        0,
        {
            "id": row.term,
            "forms": list(row.forms),
            "gloss": row.gloss,
            "category": row.category,
            "notes": row.notes,
            "slur": row.slur,
            "coarse": row.coarse,
            "sources": [f"case lexicon, added by {row.actor or 'unknown'}"],
        },
    )


def case_lexicon(session: Session) -> SlangLexicon:
    """The case's own entries as a lexicon (possibly empty)."""
    rows = session.execute(select(CaseSlangEntry).order_by(CaseSlangEntry.term)).scalars()
    return SlangLexicon(tuple(_entry(row) for row in rows), (_WHERE,))


def list_case_entries(session: Session) -> list[CaseLexiconEntry]:
    """Every case-lexicon entry with the number of segment hits it has now."""
    counts: dict[str, int] = {}
    for (term,) in session.execute(
        select(SegmentSlang.term).where(SegmentSlang.info_key == CASE_INFO_KEY)
    ):
        counts[term] = counts.get(term, 0) + 1
    rows = session.execute(select(CaseSlangEntry).order_by(CaseSlangEntry.term)).scalars()
    return [_record(row, counts.get(row.term, 0)) for row in rows]


def add_case_entry(
    case: Case,
    *,
    term: str,
    forms: Sequence[str],
    gloss: str,
    category: str,
    notes: str = "",
    slur: bool = False,
    coarse: bool = False,
    actor: str | None,
) -> CaseLexiconEntry:
    """Validate, store (replacing an entry of the same term) and apply to the whole case."""
    if term in load_slang_lexicon().ids:
        raise CaseLexiconError(
            f"'{term}' is a built-in lexicon id; choose another id for the case entry "
            "(e.g. add a suffix such as '_case')"
        )
    raw = {
        "id": term,
        "forms": list(forms),
        "gloss": gloss,
        "category": category,
        "notes": notes,
        "slur": slur,
        "coarse": coarse,
        "sources": [f"case lexicon, added by {actor or 'unknown'}"],
    }
    try:
        checked = slang_entry(_WHERE, 0, raw)
    except LexiconError as exc:
        raise CaseLexiconError(str(exc)) from None
    with case.session() as session:
        row = session.get(CaseSlangEntry, checked.id)
        if row is None:
            row = CaseSlangEntry(term=checked.id)
            session.add(row)
        row.forms, row.gloss, row.category = list(checked.forms), checked.gloss, checked.category
        row.notes, row.slur, row.coarse, row.actor = checked.notes, slur, coarse, actor
        session.flush()
        hits = _apply(session, None)
        return _record(row, hits.get(checked.id, 0))


def remove_case_entry(case: Case, term: str) -> None:
    """Remove a case-lexicon entry and its hits."""
    with case.session() as session:
        row = session.get(CaseSlangEntry, term)
        if row is None:
            raise CaseLexiconError(f"no case-lexicon entry '{term}'; see `earshot slang list`")
        session.delete(row)
        session.flush()
        _apply(session, None)


def apply_case_lexicon(case: Case, call_ids: Sequence[int] | None = None) -> int:
    """Match the case lexicon over `call_ids` (default: every call); returns the hit count."""
    with case.session() as session:
        return sum(_apply(session, call_ids).values())


def reapply_case_lexicon(session: Session, call_ids: Sequence[int]) -> None:
    """Lay the case lexicon's hits back on `call_ids` after their analysis was replaced."""
    if session.execute(select(CaseSlangEntry.term).limit(1)).first() is not None:
        _apply(session, call_ids)


def _apply(session: Session, call_ids: Sequence[int] | None) -> dict[str, int]:
    """Replace the case-lexicon hits of `call_ids` (None: all) by a fresh match."""
    if call_ids is None:
        call_ids = list(session.execute(select(Call.id).order_by(Call.id)).scalars())
    stale = delete(SegmentSlang).where(SegmentSlang.info_key == CASE_INFO_KEY)
    session.execute(stale.where(SegmentSlang.call_id.in_(list(call_ids))))
    lexicon = case_lexicon(session)
    counts: dict[str, int] = {}
    if not lexicon.entries or not call_ids:
        return counts
    matcher = SlangMatcher(lexicon)
    rows: list[SegmentSlang] = []
    for segments in segments_by_call(session, call_ids).values():
        for segment in segments:
            for hit in matcher.find(segment.text):
                counts[hit.term] = counts.get(hit.term, 0) + 1
                rows.append(
                    SegmentSlang(
                        segment_id=segment.id,
                        call_id=segment.call_id,
                        start=hit.start,
                        end=hit.end,
                        text=hit.text,
                        term=hit.term,
                        gloss=hit.gloss,
                        category=hit.category,
                        slur=hit.slur,
                        info_key=CASE_INFO_KEY,
                    )
                )
    session.add_all(rows)
    session.flush()
    return counts


def case_lexicon_provenance(session: Session) -> list[dict[str, Any]]:
    """The case lexicon as exports record it: each entry, who added it and when."""
    return [
        {k: v for k, v in entry.as_dict().items() if k != "hits"}
        for entry in list_case_entries(session)
    ]
