"""Splitting, merging, moving and re-attributing segments (earshot.workbench), on
SQLite and PostgreSQL: versioned, audited, re-analysed, found by search, and what
points at a segment (translations, quotes, name links, comments) follows its words."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from earshot import edits, workbench
from earshot.errors import EditRefusedError, StaleEditError
from earshot.ingest.runner import IngestOptions, ingest
from earshot.language.analysis import current_transcript
from earshot.publish.quotes import create_quote, quote_dict
from earshot.search import search
from earshot.security.errors import PermissionDeniedError
from earshot.security.roles import Actor, Role
from earshot.store.case import Case
from earshot.store.language_models import (
    EntityPersonOverride,
    SegmentEntity,
    Translation,
    TranslationHistory,
)
from earshot.store.models import Segment
from earshot.store.publish_models import Quote
from earshot.store.security_models import AuditEntry
from earshot.store.workbench_models import SegmentComment

from ..conftest import Cli, write_audio

TRANSCRIPT = """WEBVTT

00:00:00.500 --> 00:00:02.000
<v A>Алло, мама, это я.

00:00:02.200 --> 00:00:04.000
<v B>Сынок, где ты сейчас?

00:00:04.200 --> 00:00:08.000
<v A>Под Бахмутом стоим. Командир Кузьмич говорит ждать приказа.

00:00:08.200 --> 00:00:09.800
<v A>Передай отцу привет.
"""
ENGLISH = [
    "Hello, mum, it's me.",
    "Son, where are you now?",
    "We are standing near Bakhmut. Commander Kuzmich says to wait for orders.",
    "Say hello to dad.",
]
EDITOR = Actor("editor", Role.EDITOR)


def _case(case: Case, tmp_path: Path) -> int:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_audio(inbox / "family.wav", seconds=10.0, seed=3)
    (inbox / "family.vtt").write_text(TRANSCRIPT, encoding="utf-8")
    ingest(case, [inbox], IngestOptions(workers=1))
    with case.session() as session:
        transcript = current_transcript(session, 1)
        assert transcript is not None
        for seg, text in zip(transcript.segments, ENGLISH, strict=True):
            edits.save_translation(
                session, EDITOR, segment_id=seg.id, text=text, status="edited",
                expected_version=0, four_eyes=False,
            )  # fmt: skip
    return int(transcript.call_id)


def _layout(session: object, call_id: int) -> list[tuple[int, str, str | None]]:
    transcript = current_transcript(session, call_id)  # type: ignore[arg-type]
    assert transcript is not None
    segs = sorted(transcript.segments, key=lambda s: s.idx)
    assert [s.idx for s in segs] == list(range(len(segs)))  # no gap, no twin
    return [(s.id, s.text, s.party) for s in segs]


def _ids(session: object, call_id: int) -> list[int]:
    return [i for i, _, _ in _layout(session, call_id)]


def test_split_merge_move_and_party_are_versioned_and_followed(case: Case, tmp_path: Path) -> None:
    call_id = _case(case, tmp_path)
    with case.session() as session:
        s0, s1, s2, s3 = _ids(session, call_id)
        quote = create_quote(
            session, call_id, 1, 2, " ".join(ENGLISH[1:3]), actor="editor",
            allow_unapproved=True,
        )  # fmt: skip
        session.add(SegmentComment(segment_id=s3, call_id=call_id, author="editor", text="?"))
        # An editor's name link on «Кузьмич» (a character span of the segment's text).
        said = session.get_one(Segment, s2).text
        start = said.index("Кузьмич")
        session.add(
            EntityPersonOverride(
                segment_id=s2, start=start, end=start + 7, call_id=call_id, person_id=None,
                actor="editor",
            )
        )  # fmt: skip
        session.flush()
        quote_id = quote.id
    with case.session() as session:
        with pytest.raises(PermissionDeniedError):
            workbench.split_segment(
                session, Actor("t", Role.TRANSLATOR), call_id=call_id, segment_id=s2,
                word=3, expected_version=0,
            )  # fmt: skip
        with pytest.raises(EditRefusedError, match=r"word 1\.\.7"):
            workbench.split_segment(
                session, EDITOR, call_id=call_id, segment_id=s2, word=8, expected_version=0
            )
        done = workbench.split_segment(
            session, EDITOR, call_id=call_id, segment_id=s2, word=3, expected_version=0
        )
    assert done.version == 1 and done.kind == "split" and len(done.analysis) == 2
    new = done.other_segment_id
    assert new is not None
    with case.session() as session:
        assert _layout(session, call_id)[2:] == [
            (s2, "Под Бахмутом стоим.", "A"),
            (new, "Командир Кузьмич говорит ждать приказа.", "A"),
            (s3, "Передай отцу привет.", "A"),
        ]
        first, second = session.get_one(Segment, s2), session.get_one(Segment, new)
        assert first.start == 4.2 and second.end == 8.0
        assert first.end == second.start and 4.2 < first.end < 8.0
        # Only the changed text was analysed again: the name is on the new half now.
        names = set(session.scalars(select(SegmentEntity.segment_id).where(
            SegmentEntity.text.like("Кузьмич%"))))  # fmt: skip
        assert names == {new}
        assert [h.segment for h in search(session, "Кузьмич").hits] == [new]
        link = session.scalars(select(EntityPersonOverride)).one()
        assert link.segment_id == new
        assert second.text[link.start : link.end] == "Кузьмич"  # the link moved with the word
        # The English covers both halves: back to draft, the new half untranslated.
        english = session.scalar(select(Translation).where(Translation.segment_id == s2))
        assert english is not None and english.status == "draft" and english.version == 2
        assert session.scalar(select(Translation).where(Translation.segment_id == new)) is None
        # The quote still spans the same words, and is flagged as no longer matching.
        row = session.get_one(Quote, quote_id)
        assert (row.first_segment_id, row.last_segment_id) == (s1, new)
        assert quote_dict(session, row)["stale"] is True
        versions = workbench.segment_text_versions(session, EDITOR, call_id=call_id, segment_id=s2)
        assert [(v.version, v.actor) for v in versions] == [(1, "transcript"), (2, "editor")]
        with pytest.raises(StaleEditError):
            workbench.merge_segments(
                session, EDITOR, call_id=call_id, segment_id=s2, expected_version=0
            )
    with case.session() as session:
        merged = workbench.merge_segments(
            session, EDITOR, call_id=call_id, segment_id=s2, expected_version=1
        )
    assert merged.version == 2 and merged.other_segment_id == new
    with case.session() as session:
        assert _ids(session, call_id) == [s0, s1, s2, s3]
        assert session.get(Segment, new) is None
        assert [h.segment for h in search(session, "Кузьмич").hits] == [s2]
        link = session.scalars(select(EntityPersonOverride)).one()
        kept = session.get_one(Segment, s2)
        assert link.segment_id == s2 and kept.text[link.start : link.end] == "Кузьмич"
        row = session.get_one(Quote, quote_id)
        assert (row.first_segment_id, row.last_segment_id) == (s1, s2)
        assert quote_dict(session, row)["stale"] is False  # the same words, the same English
        with pytest.raises(EditRefusedError, match="different parties"):
            workbench.merge_segments(
                session, EDITOR, call_id=call_id, segment_id=s0, expected_version=2
            )
    with case.session() as session:
        assert not search(session, "Сынок party:A").hits
        workbench.set_party(
            session, EDITOR, call_id=call_id, segment_id=s1, party="A", expected_version=2
        )
        with pytest.raises(EditRefusedError, match="none of them"):
            workbench.set_party(
                session, EDITOR, call_id=call_id, segment_id=s1, party="C", expected_version=3
            )
    with case.session() as session:
        assert [h.segment for h in search(session, "Сынок party:A").hits] == [s1]
        # The last two lines become one: the comment, English and its history follow.
        workbench.merge_segments(
            session, EDITOR, call_id=call_id, segment_id=s2, expected_version=3
        )
    with case.session() as session:
        assert _ids(session, call_id) == [s0, s1, s2]
        comment = session.scalars(select(SegmentComment)).one()
        assert comment.segment_id == s2
        english = session.scalar(select(Translation).where(Translation.segment_id == s2))
        assert english is not None and english.text.endswith("Say hello to dad.")
        actions = session.scalars(
            select(TranslationHistory.action).where(TranslationHistory.segment_id == s2)
        ).all()
        assert "merge" in actions and actions.count("edit") + actions.count("draft") >= 2
        with pytest.raises(EditRefusedError, match="previous segment's start"):
            workbench.move_boundary(
                session, EDITOR, call_id=call_id, segment_id=s2, start=2.0, expected_version=4
            )
        with pytest.raises(EditRefusedError, match="outside the call"):
            workbench.move_boundary(
                session, EDITOR, call_id=call_id, segment_id=s2, end=11.0, expected_version=4
            )
        moved = workbench.move_boundary(
            session, EDITOR, call_id=call_id, segment_id=s2, start=4.3, end=9.9,
            expected_version=4,
        )  # fmt: skip
        assert moved.before["segments"][0]["start"] == 4.2
        assert moved.after["segments"][0]["start"] == 4.3
    with case.session() as session:
        history = workbench.segment_edit_history(session, EDITOR, call_id)
        assert [(h.version, h.kind, h.actor) for h in history] == [
            (1, "split", "editor"), (2, "merge", "editor"), (3, "party", "editor"),
            (4, "merge", "editor"), (5, "move", "editor"),
        ]  # fmt: skip
        audited = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("segment_%"))
        ).all()
        assert audited == [
            "segment_split", "segment_merge", "segment_party", "segment_merge", "segment_move",
        ]  # fmt: skip
        seg = session.get_one(Segment, s2)
        assert (seg.start, seg.end) == (4.3, 9.9)


def test_cli_does_what_the_library_does(
    case: Case, case_dir: Path, tmp_path: Path, run_cli: Cli
) -> None:
    import json

    call_id = _case(case, tmp_path)
    case.close()
    split = json.loads(
        run_cli("segment", "split", case_dir, call_id, 2, "--word", "3", "--json").stdout
    )
    assert split["kind"] == "split" and split["version"] == 1
    assert [s["text"] for s in split["after"]["segments"]] == [
        "Под Бахмутом стоим.",
        "Командир Кузьмич говорит ждать приказа.",
    ]
    stale = run_cli("segment", "merge", case_dir, call_id, 2, "--layout-version", "0", code=None)
    assert stale.exit_code != 0 and "changed meanwhile" in stale.stderr
    moved = json.loads(
        run_cli("segment", "move", case_dir, call_id, 3, "--end", "7.5", "--json").stdout
    )
    assert moved["after"]["segments"][0]["end"] == 7.5
    party = json.loads(run_cli("segment", "party", case_dir, call_id, 3, "B", "--json").stdout)
    assert party["after"]["segments"][0]["party"] == "B"
    refused = run_cli("segment", "merge", case_dir, call_id, 2, code=None)
    assert refused.exit_code != 0 and "different parties" in refused.stderr
    history = json.loads(run_cli("segment", "history", case_dir, call_id, "--json").stdout)
    assert [h["kind"] for h in history] == ["split", "move", "party"]
    with Case.open(case_dir) as again, again.session() as session:
        assert [p for _, _, p in _layout(session, call_id)] == ["A", "B", "A", "B", "A"]


def test_waveform_peaks_come_from_the_working_copy_and_are_cached(
    case: Case, tmp_path: Path
) -> None:
    from earshot.audio import playback
    from earshot.errors import AudioUnavailableError

    call_id = _case(case, tmp_path)
    with case.session() as session:
        found = playback.call_peaks(session, case.media.root, call_id, per_second=40)
        again = playback.call_peaks(session, case.media.root, call_id, per_second=40)
        with pytest.raises(AudioUnavailableError, match="does not exist"):
            playback.call_peaks(session, case.media.root, 999)
    assert abs(found.duration - 10.0) < 0.01 and found.channels == 1
    assert len(found.peaks[0]) == 400 and 0 < max(found.peaks[0]) <= 1
    assert again.peaks[0] is found.peaks[0]  # computed once per file and size
    assert found.as_dict()["peaks"] == found.peaks
