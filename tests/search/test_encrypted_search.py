"""An encrypted case's search index lives in memory only: built from the decrypted
database when the case is first searched, never written to the case directory."""

from __future__ import annotations

from pathlib import Path

from earshot.search import SearchOptions, check_index, search
from earshot.security.crypto import KeySource, create_key_file
from earshot.store.case import Case

from .conftest import ingest_sample

ALL = SearchOptions(limit=10_000)


def _plaintext_files(root: Path, needles: list[bytes]) -> list[str]:
    return [
        str(p) for p in root.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles)
    ]


def test_encrypted_case_searches_from_memory_and_writes_no_index(tmp_path: Path) -> None:
    key = tmp_path / "case.key"
    create_key_file(key)
    case_dir = tmp_path / "case"
    with Case.init(case_dir, encryption=KeySource(key_file=key)) as case:
        ingest_sample(case, tmp_path)
        with case.session() as session:
            first = search(session, "Бахмут", ALL)
            assert first.total > 0
            assert check_index(session) == []
    assert not (case_dir / "search-index").exists()
    # Neither the words nor their lemma keys are anywhere on disk in the clear.
    needles = ["Бахмут".encode(), "бахмут".encode(), "мобик".encode()]
    assert _plaintext_files(case_dir, needles) == []
    with Case.open(case_dir, key=KeySource(key_file=key)) as reopened:
        with reopened.session() as session:  # a new process would do the same: rebuild
            again = search(session, "Бахмут", ALL)
        assert [h.segment for h in again.hits] == [h.segment for h in first.hits]
        with reopened.session() as session:
            seg = again.hits[0].segment
            from earshot.store.models import Segment

            row = session.get(Segment, seg)
            assert row is not None
            row.text = "Дирижабль над Бахмутом."
        with reopened.session() as session:
            assert [h.segment for h in search(session, "дирижабль", ALL).hits] == [seg]
    assert not (case_dir / "search-index").exists()


def test_rows_left_by_a_writing_process_are_taken_into_the_memory_index(
    tmp_path: Path,
) -> None:
    """A job worker of an encrypted case commits edits and leaves its outbox rows (it
    keeps no index); the searching process takes them into its index at its next search,
    so they are not rebuilt into the pending overlay at every search. The rows stay, for
    the other processes' indexes (tests/search/test_memory_outbox.py)."""
    from sqlalchemy import text

    from earshot.search.indexer import index_for, unapplied_segments
    from earshot.store.models import Segment

    key = tmp_path / "case.key"
    create_key_file(key)
    case_dir = tmp_path / "case"
    with Case.init(case_dir, encryption=KeySource(key_file=key)) as case:
        ingest_sample(case, tmp_path)
    source = KeySource(key_file=key)
    with Case.open(case_dir, key=source) as server, Case.open(case_dir, key=source) as worker:
        with server.session() as session:
            assert search(session, "Бахмут", ALL).total > 0  # builds the server's index
        with worker.session() as session:  # another engine: its own (never built) index
            ids = [int(r[0]) for r in session.execute(text("SELECT id FROM segments LIMIT 3"))]
            for seg_id in ids:
                row = session.get(Segment, seg_id)
                assert row is not None
                row.text = "Дирижабль над рекой."
        with server.session() as session:
            idx = index_for(session)
            assert unapplied_segments(session.connection(), idx) == set(ids)  # not yet
            assert {h.segment for h in search(session, "дирижабль", ALL).hits} == set(ids)
        with server.session() as session:
            assert unapplied_segments(session.connection(), idx) == set()
            assert {h.segment for h in search(session, "дирижабль", ALL).hits} == set(ids)
            assert check_index(session) == []
            assert index_for(session).path is None
