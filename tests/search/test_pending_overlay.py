"""Segments edited in the searching transaction (the pending overlay) are found by
their new text and not by their old one, whether they are a few (term look-ups) or many
(a term set over the id column)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from earshot.search import SearchOptions, search
from earshot.store.case import Case
from earshot.store.models import Segment

ALL = SearchOptions(limit=10_000)
NEW = "дирижабль"


@pytest.mark.parametrize("edited", [3, 70])
def test_pending_segments_answer_from_their_new_text(sample_case: Case, edited: int) -> None:
    with sample_case.session() as session:
        ids = [int(r[0]) for r in session.execute(text("SELECT id FROM segments ORDER BY id"))]
        assert len(ids) >= edited
        word = "мама"
        had_word = {h.segment for h in search(session, word, ALL).hits}
        assert len(had_word) >= 2
        # Some segments that held the word, the rest from the start of the case.
        first = sorted(had_word)[:2]
        chosen = first + [i for i in ids if i not in first][: edited - len(first)]
        for seg_id in chosen:
            seg = session.get(Segment, seg_id)
            assert seg is not None
            seg.text = f"{NEW} над полем"
        session.flush()
        assert {h.segment for h in search(session, NEW, ALL).hits} == set(chosen)
        now = {h.segment for h in search(session, word, ALL).hits}
        assert now == had_word - set(chosen)
        assert set(first) <= had_word - now
        session.rollback()
    with sample_case.session() as session:
        assert search(session, NEW, ALL).total == 0
