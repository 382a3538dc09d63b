"""Search over the sample corpus, on SQLite and PostgreSQL (the `case` fixture runs both)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from earshot.language.morph import analyzer, fold
from earshot.phones import normalize_phone
from earshot.search import QuerySyntaxError, SearchOptions, SearchResult, search
from earshot.store.case import Case
from earshot.store.models import Call, Party, Phone, Segment, Transcript

from .conftest import SAMPLE, truth

WORD_RE = re.compile(r"[0-9]+(?:-[а-яёa-z]+)?|[а-яёa-z]+(?:-[а-яёa-z]+)*", re.IGNORECASE)
ALL = SearchOptions(limit=10_000)


def run(case: Case, query: str, options: SearchOptions = ALL) -> SearchResult:
    with case.session() as session:
        return search(session, query, options)


def call_files(case: Case) -> dict[int, str]:
    with case.session() as session:
        return {c.id: c.source_file for c in session.execute(select(Call)).scalars()}


def hit_files(case: Case, result: SearchResult) -> set[str]:
    files = call_files(case)
    return {files[h.call] for h in result.hits}


def forms_of(word: str) -> set[str]:
    """Every form of every reading of `word`, straight from pymorphy3's paradigms."""
    return {fold(f.word) for p in analyzer().parse(fold(word)) for f in p.lexeme}


def calls_with_form(word: str) -> set[str]:
    forms = forms_of(word)
    out = set()
    for call in truth()["calls"]:  # type: ignore[attr-defined]
        if not call["sidecar"]:
            continue  # no transcript in the case to find it in
        if any(fold(w) in forms for turn in call["turns"] for w in WORD_RE.findall(turn["text"])):
            out.add(call["file"])
    return out


# «двухсотый» also finds its slang family («200-х», «груз 200»): tests/search/test_slang_search.py
@pytest.mark.parametrize("word", ["Бахмут", "мобик", "отказник", "штурм", "мама"])
def test_every_inflected_form_found_and_nothing_else(shared_sample: Case, word: str) -> None:
    expected = calls_with_form(word)
    assert expected, f"the sample should hold {word}"
    result = run(shared_sample, word)
    assert hit_files(shared_sample, result) == expected
    assert result.total == len(result.hits)
    for hit in result.hits:
        assert hit.highlights, hit
        for start, end in hit.highlights:
            assert fold(hit.text[start:end]) in forms_of(word)


def test_phrase_boolean_and_snippets(shared_sample: Case) -> None:
    phrase = run(shared_sample, '"груз 200"')
    assert phrase.hits and all("груз 200" in fold(h.text) for h in phrase.hits)
    assert run(shared_sample, '"200 груз"').total == 0
    for hit in phrase.hits:
        assert "[" in hit.snippet and "]" in hit.snippet
        start, end = hit.highlights[0]
        assert fold(hit.text[start:end]) == "груз 200"

    mobik = {h.segment for h in run(shared_sample, "мобик").hits}
    kontrabas = {h.segment for h in run(shared_sample, "контрабас").hits}
    assert mobik and kontrabas
    assert {h.segment for h in run(shared_sample, "мобик OR контрабас").hits} == mobik | kontrabas
    assert {h.segment for h in run(shared_sample, "мобик AND контрабас").hits} == mobik & kontrabas
    assert {h.segment for h in run(shared_sample, "мобик NOT контрабас").hits} == mobik - kontrabas
    assert {h.segment for h in run(shared_sample, "(мобик OR контрабас) -контрабас").hits} == (
        mobik - kontrabas
    )
    ranked = run(shared_sample, "мобик OR контрабас").hits
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)
    assert all(h.score > 0 for h in ranked)
    page = run(shared_sample, "мобик OR контрабас", SearchOptions(limit=1, offset=1))
    assert page.total == len(ranked) and page.hits == ranked[1:2]


def test_english_words_search_the_translations(shared_sample: Case) -> None:
    stem_hits = run(shared_sample, "mobiks")
    expected = set()
    for vtt in (SAMPLE / "translations").glob("*.en.vtt"):
        if re.search(r"\bmobiks?\b", vtt.read_text("utf-8"), re.IGNORECASE):
            expected.add(vtt.name.replace(".en.vtt", ""))
    assert expected
    assert {Path(f).stem for f in hit_files(shared_sample, stem_hits)} == expected
    assert all(h.source == "en" and "[" in h.snippet for h in stem_hits.hits)
    with shared_sample.session() as session:
        kinds = {
            session.get(Transcript, session.get(Segment, h.segment).transcript_id).kind  # type: ignore[union-attr]
            for h in stem_hits.hits
        }
    assert kinds == {"translation"}


def test_field_filters_on_core_facts(shared_sample: Case) -> None:
    files = call_files(shared_sample)
    # phone: any format of the same number finds every call it is party to
    with shared_sample.session() as session:
        e164 = normalize_phone("8 (915) 555-31-47")
        phone_calls = set(
            session.execute(
                select(Party.call_id)
                .join(Phone, Phone.id == Party.phone_id)
                .where(Phone.e164 == e164)
            ).scalars()
        )
    assert phone_calls
    for form in ("8 (915) 555-31-47", "+79155553147", "79155553147"):
        result = run(shared_sample, f'phone:"{form}"')
        assert {h.call for h in result.hits} == phone_calls & {h.call for h in result.hits}
        assert {h.call for h in result.hits} <= phone_calls and result.total > 0
    # dates: from:/to: on calls.started_at
    january = {
        c["file"]
        for c in truth()["calls"]  # type: ignore[attr-defined]
        if c["started_at"].startswith("2023-01")
    }
    result = run(shared_sample, "from:2023-01-01 to:2023-01-31")
    assert {files[h.call] for h in result.hits} <= january and result.hits
    assert run(shared_sample, "from:2023-01 to:2023-01").total == result.total
    # party and call
    party_a = run(shared_sample, "мама party:A")
    assert party_a.hits and all(h.party == "A" for h in party_a.hits)
    one = next(iter(files))
    assert {h.call for h in run(shared_sample, f"call:{one}").hits} == {one}
    # person by name: calls where a party is that person
    result = run(shared_sample, 'person:"Шапкин"')
    assert result.hits and all("Шапкин" in _party_names(shared_sample, h.call) for h in result.hits)


def _party_names(case: Case, call_id: int) -> str:
    with case.session() as session:
        call = session.get(Call, call_id)
        assert call is not None
        return " ".join(p.person.name for p in call.parties if p.person)


def test_language_filters(sample_case: Case) -> None:
    language = pytest.importorskip("earshot.store.language_models")
    with sample_case.session() as session:
        seg = (
            session.execute(
                select(Segment).where(Segment.text.contains("Бахмут")).order_by(Segment.id)
            )
            .scalars()
            .first()
        )
        assert seg is not None
        common = {"segment_id": seg.id, "call_id": seg.call_id, "info_key": "test"}
        session.add(
            language.SegmentSlang(
                start=0, end=3, text="x", term="200", gloss="killed", category="casualty", **common
            )
        )
        session.add(language.SegmentTheme(theme="refusal", cues=[], **common))
        session.add(
            language.SegmentEntity(
                kind="LOC",
                start=0,
                end=5,
                text="Бахмутом",
                normal="Бахмут",
                place_name="Бахмут",
                **common,
            )
        )
    assert [h.segment for h in run(sample_case, "term:200").hits] == [seg.id]
    assert [h.segment for h in run(sample_case, "theme:refusal").hits] == [seg.id]
    assert [h.segment for h in run(sample_case, "place:бахмут").hits] == [seg.id]
    assert run(sample_case, "term:300").total == 0
    assert [h.segment for h in run(sample_case, "Бахмут term:200").hits] == [seg.id]


def test_edit_is_searchable_in_the_same_transaction(sample_case: Case) -> None:
    with sample_case.session() as session:
        seg = (
            session.execute(select(Segment).where(Segment.text.contains("Бахмут")))
            .scalars()
            .first()
        )
        assert seg is not None
        seg.text = "Стоим под Соледаром, блиндажи залило."
        session.flush()
        assert seg.id in {h.segment for h in search(session, "Соледар", ALL).hits}
        assert seg.id not in {h.segment for h in search(session, "Бахмут", ALL).hits}
        seg_id = seg.id
    assert seg_id in {h.segment for h in run(sample_case, "блиндаж").hits}
    assert seg_id not in {h.segment for h in run(sample_case, "Бахмут").hits}
    # a rolled-back edit leaves the index as it was
    with pytest.raises(RuntimeError), sample_case.session() as session:
        edited = session.get(Segment, seg_id)
        assert edited is not None
        edited.text = "Совсем другое слово: парашют."
        session.flush()
        assert search(session, "парашют", ALL).total == 1
        raise RuntimeError("roll back")
    assert run(sample_case, "парашют").total == 0
    assert seg_id in {h.segment for h in run(sample_case, "Соледар").hits}
    # deleting a segment removes it from the results
    with sample_case.session() as session:
        doomed = session.get(Segment, seg_id)
        session.delete(doomed)
    assert seg_id not in {h.segment for h in run(sample_case, "Соледар").hits}


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("(Бахмут", "missing ')'"),
        ('"груз 200', "unclosed quote"),
        ("Бахмут OR", "ends too early"),
        ("foo:bar", "unknown field"),
        ("party:C", "not A or B"),
        ("from:2023-13-01", "not a date"),
        ("phone:12", "phone"),
        ("", "empty"),
        ("!!!", "no word"),
        ("()", "empty parentheses"),
    ],
)
def test_malformed_queries_say_where_and_why(shared_sample: Case, query: str, where: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        run(shared_sample, query)
    assert where in str(info.value)
    assert "character" in str(info.value)


def test_total_is_exact_up_to_the_cap_then_an_estimate(
    shared_sample: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    from earshot.search import engine

    full = run(shared_sample, "мама")
    assert full.total == len(full.hits) > 3 and not full.total_is_estimate
    monkeypatch.setattr(engine, "TOTAL_CAP", 3)
    capped = run(shared_sample, "мама")
    assert (capped.total, capped.total_is_estimate) == (3, True)
    assert capped.hits == full.hits  # the hits themselves are not capped
    assert capped.as_dict()["total_is_estimate"] is True
    exact = run(shared_sample, '"груз 200"')
    assert exact.total <= 3 and not exact.total_is_estimate
