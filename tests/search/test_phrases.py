"""Exact phrases of two, three and four words, on both backends: the index's pair terms
(:mod:`earshot.search.tindex`) give exactly the segments a plain scan of the texts finds:
consecutive words in one column, each sharing a lemma key with its query word."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest
from sqlalchemy import select, text

from earshot.language.morph import tokens
from earshot.search import SearchError, SearchOptions, search, verify
from earshot.search.index import segment_texts
from earshot.search.query import parse_query
from earshot.search.text import (
    COLUMNS,
    Column,
    column_keys,
    doc_parts,
    pair_terms,
    text_keys,
)
from earshot.search.verify import Highlighter
from earshot.store.case import Case
from earshot.store.models import Segment

ALL = SearchOptions(limit=10_000)


def _matches(words: list[str], body: str, column: Column) -> bool:
    """Whether `words` occur consecutively in `body`, word by word sharing a key."""
    found = [set(t.keys) for t in text_keys(body, column)]
    wanted = [set(column_keys(w, column)) for w in words]
    return any(
        all(wanted[j] & found[k + j] for j in range(len(wanted)))
        for k in range(len(found) - len(wanted) + 1)
    )


def _scan(case: Case, words: list[str]) -> set[int]:
    with case.engine.connect() as conn:
        ids = [int(r[0]) for r in conn.execute(text("SELECT id FROM segments"))]
        texts = segment_texts(conn, ids)
    return {
        i
        for i, seg in texts.items()
        if any(_matches(words, seg.ru if c == "ru" else seg.en, c) for c in COLUMNS)
    }


def _phrases(case: Case, rng: random.Random) -> list[list[str]]:
    """Runs of 2 to 4 consecutive words of the case's own texts (Russian and English),
    and the same words out of order (mostly not a phrase anywhere)."""
    with case.engine.connect() as conn:
        ids = [int(r[0]) for r in conn.execute(text("SELECT id FROM segments ORDER BY id"))]
        texts = segment_texts(conn, ids)
    bodies = [b for seg in texts.values() for b in (seg.ru, seg.en) if b]
    rng.shuffle(bodies)
    out: list[list[str]] = []
    for body in bodies:
        words = [w for _s, _e, w in tokens(body)]
        for size in (2, 3, 4):
            if len(words) >= size + 1 and len(out) < 90:
                first = rng.randrange(len(words) - size + 1)
                run = words[first : first + size]
                out.append(run)
                out.append(list(reversed(run)))
    return out


def test_phrases_find_exactly_what_a_scan_of_the_texts_finds(shared_sample: Case) -> None:
    checked = {2: 0, 3: 0, 4: 0}
    missing_somewhere = 0
    for words in _phrases(shared_sample, random.Random(7)):
        expected = _scan(shared_sample, words)
        with shared_sample.session() as session:
            try:
                result = search(session, '"' + " ".join(words) + '"', ALL)
            except SearchError as err:  # too many readings: said so, never a wrong answer
                assert "readings" in str(err)
                continue
        assert {h.segment for h in result.hits} == expected, words
        assert result.total == len(expected)
        checked[len(words)] += 1
        missing_somewhere += not expected
    assert min(checked.values()) >= 10, checked
    assert missing_somewhere >= 5  # the reversed runs: phrases that are not in the case


def test_pair_terms_join_neighbours() -> None:
    assert pair_terms(["а", "б_в", "г"]) == ["а|б_в", "б_в|г"]
    assert pair_terms(["а"]) == []
    assert all("|" not in k for w in ("что-то", "200-х", "Ёлка") for k in column_keys(w, "ru"))


@pytest.mark.parametrize("size", [3, 5])
def test_a_phrase_is_not_its_pairs_apart(sample_case: Case, size: int) -> None:
    """A phrase of three words or more is a phrase of pairs, which must sit next to each
    other: every pair of «мама сказала домой ...» in a text, apart, is not the phrase."""
    words = ["мама", "сказала", "домой", "завтра", "утром"][:size]
    apart = " ".join(f"{a} {b} тут" for a, b in pairwise(words)) + "."
    exact = "Ну вот, " + " ".join(words) + "."
    with sample_case.session() as session:
        first, second = session.execute(select(Segment).order_by(Segment.id).limit(2)).scalars()
        first.text, second.text = apart, exact
        session.commit()
        ids = first.id, second.id
    with sample_case.session() as session:
        found = {h.segment for h in search(session, '"' + " ".join(words) + '"', ALL).hits}
        assert ids[1] in found and ids[0] not in found
        for a, b in pairwise(words):  # each pair alone is a phrase of both texts
            pair = {h.segment for h in search(session, f'"{a} {b}"', ALL).hits}
            assert set(ids) <= pair


def test_highlights_from_stored_signatures_are_those_of_lemmatising(shared_sample: Case) -> None:
    """A hit's words are highlighted by the signatures stored in its document; for every
    text of the case, words and phrases of its own, both ways mark the same spans."""
    rng = random.Random(11)
    with shared_sample.engine.connect() as conn:
        ids = [int(r[0]) for r in conn.execute(text("SELECT id FROM segments ORDER BY id"))]
        texts = segment_texts(conn, ids)
    pairs = [(seg.ru, "ru") for seg in texts.values() if seg.ru]
    pairs += [(seg.en, "en") for seg in texts.values() if seg.en]
    compared = marked = 0
    for body, column in rng.sample(pairs, min(60, len(pairs))):
        assert column in COLUMNS
        words = [w for _s, _e, w in tokens(body)]
        if len(words) < 3:
            continue
        first = rng.randrange(len(words) - 1)
        phrase = '"' + " ".join(words[first : first + 2]) + '"'
        signatures = doc_parts(body, column).signatures
        for query in (words[first], phrase, f"{rng.choice(words)} OR {rng.choice(words)}"):
            marks = Highlighter(parse_query(query))._columns[column]
            stored = marks.spans(body, signatures)
            assert stored == Highlighter(parse_query(query))._columns[column].spans(body)
            compared += 1
            marked += bool(stored)
    assert compared >= 60 and marked >= compared * 0.9


def test_a_page_of_hits_lemmatises_none_of_its_words(
    shared_sample: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Showing hits reads each word's keys from the index, never pymorphy3: a cold web
    worker pays the query's words only. Signatures that do not fit the text (a text
    with a word more) fall back to lemmatising, and still mark the right words."""
    with shared_sample.session() as session:
        expected = search(session, '"другого номера" OR штурм OR мама', SearchOptions(limit=30))
    assert expected.hits and all(h.highlights for h in expected.hits)

    def lemmatised(word: str, column: str) -> tuple[str, ...]:
        raise AssertionError(f"a hit's word was lemmatised: {word!r}")

    monkeypatch.setattr(verify, "column_keys", lemmatised)
    with shared_sample.session() as session:
        found = search(session, '"другого номера" OR штурм OR мама', SearchOptions(limit=30))
    assert [(h.segment, h.highlights) for h in found.hits] == [
        (h.segment, h.highlights) for h in expected.hits
    ]
    monkeypatch.undo()
    body = "мама сказала двести"
    marker = Highlighter(parse_query("мама"))
    assert marker.shown(body, "", "мама", "") == ("ru", body, [(0, 4)])  # one signature short
