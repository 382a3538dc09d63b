"""check_index finds every way the index can disagree with the database: a document
missing, one too many, one for no segment, one whose text drifted."""

from __future__ import annotations

from sqlalchemy import text

from earshot.search import check_index
from earshot.search.index import SegmentText
from earshot.search.indexer import index_for
from earshot.search.tindex import make_document
from earshot.store.case import Case


def test_check_index_reports_each_kind_of_drift(sample_case: Case) -> None:
    with sample_case.session() as session:
        assert check_index(session) == []
        ids = [int(r[0]) for r in session.execute(text("SELECT id FROM segments ORDER BY id"))]
        call = int(session.execute(text("SELECT min(call_id) FROM segments")).scalar_one())
        idx = index_for(session)
        missing, doubled, drifted = ids[0], ids[len(ids) // 2], ids[-1]
        orphan_low, orphan_high = 0, ids[-1] + 1000
        with idx.writer() as writer:
            writer.delete_documents_by_term("id", missing)
            writer.delete_documents_by_term("id", drifted)
            writer.add_document(make_document(SegmentText(drifted, call, "не тот текст", "")))
            writer.add_document(make_document(SegmentText(doubled, call, "копия", "")))
            writer.add_document(make_document(SegmentText(orphan_low, call, "ничей", "")))
            writer.add_document(make_document(SegmentText(orphan_high, call, "ничей", "")))
        problems = check_index(session)
    assert set(problems) == {
        f"segment without index document: {missing}",
        f"segment {doubled}: 2 index documents",
        f"segment {drifted}: index document differs from its text",
        f"index document without segment: {orphan_low}",
        f"index document without segment: {orphan_high}",
    }
    assert len(problems) == 5
    with sample_case.session() as session:
        assert len(check_index(session, limit=2)) == 2
