"""How a search learns about pending segments: this transaction's own edits from the
session, committed-but-unapplied outbox rows (a writer that died) from the database at
most once every OUTBOX_CHECK_S seconds for a disk index, at every search for an
in-memory one."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from earshot.search import SearchOptions, engine, search
from earshot.store.case import Case
from earshot.store.models import Segment

ALL = SearchOptions(limit=10_000)
NEW = "дирижабль"


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = engine.pending_segments

    def counted(conn: object) -> list[int]:
        calls.append(1)
        return real(conn)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "pending_segments", counted)
    return calls


def test_a_disk_index_reads_the_outbox_at_most_once_a_check_period(
    sample_case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "OUTBOX_CHECK_S", 60.0)
    calls = _counting(monkeypatch)
    with sample_case.session() as session:
        for _ in range(5):
            assert search(session, "мама", ALL).total > 0
        # Own edits are known without the database: found at once.
        seg = session.get(
            Segment, int(session.execute(text("SELECT min(id) FROM segments")).scalar_one())
        )
        assert seg is not None
        seg.text = f"{NEW} над полем"
        session.flush()
        assert [h.segment for h in search(session, NEW, ALL).hits] == [seg.id]
    assert len(calls) <= 1


def test_rows_a_dead_writer_left_are_seen_after_the_check_period(
    sample_case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "OUTBOX_CHECK_S", 0.2)
    with sample_case.session() as session:
        assert search(session, NEW, ALL).total == 0  # the reader has looked just now
        seg_id = int(session.execute(text("SELECT min(id) FROM segments")).scalar_one())
    with sample_case.session() as writer:
        seg = writer.get(Segment, seg_id)
        assert seg is not None
        seg.text = f"{NEW} над полем"
        writer.flush()
        writer.info.pop("search_outbox_written", None)  # dies before applying its rows
    time.sleep(0.25)
    with sample_case.session() as session:
        assert [h.segment for h in search(session, NEW, ALL).hits] == [seg_id]
        left = session.execute(text("SELECT count(*) FROM search_outbox")).scalar_one()
        assert left == 1  # served by the overlay; applied by the next writer or open
