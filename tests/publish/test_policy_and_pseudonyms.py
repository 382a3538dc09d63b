"""The redaction policy file (validated, one test per rule) and stable pseudonyms."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import pytest
import yaml

from earshot.language.entities import EntityExtractor
from earshot.publish.policy import CATEGORIES, PolicyError, default_policy, parse_policy
from earshot.publish.pseudonyms import PseudonymError, assign_pseudonyms, set_pseudonym
from earshot.publish.redaction import Redactor
from earshot.publish.terms import ProtectedPerson
from earshot.store.case import Case
from earshot.store.models import Call, Original, Party, Person

RAW: dict[str, Any] = yaml.safe_load(
    (files("earshot.publish") / "data" / "redaction_policy.yaml").read_text(encoding="utf-8")
)
# One fictional sentence per rule, and what the rule must withhold from it.
SAMPLES = {
    "person": ("Привет, Андрюша, это Оля.", "Андрюша"),
    "phone": ("Запиши: восемь девятьсот семьдесят семь пятьсот пятьдесят пять сорок восемь двадцать два", "девятьсот"),  # noqa: E501
    "unit": ("Пиши в В/ч 71934, там разберутся.", "71934"),
    "address": ("Адрес: ул. Сосновая, д. 8, кв. 21.", "Сосновая"),
    "date_of_birth": ("Родился 14 мая 1991 года.", "1991"),
    "home_town": ("Я сам из Костромы, мама там.", "Костромы"),
}  # fmt: skip


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor()


def _redactor(raw: dict[str, Any], extractor: EntityExtractor) -> Redactor:
    person = ProtectedPerson(1, ("Селезнёв Андрей Викторович",), ("Андрюша",), ("+79775554082",))
    return Redactor(parse_policy(raw, "test"), [person], {1: "Soldier 1"}, extractor=extractor)


def _redact(redactor: Redactor, text: str) -> str:
    spans = redactor.analyse([text])[0]
    return redactor.redact(text, spans).text


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_rule_withholds_its_category_and_only_when_enabled(
    category: str, extractor: EntityExtractor
) -> None:
    text, secret = SAMPLES[category]
    on = _redact(_redactor(RAW, extractor), text)
    assert secret not in on
    assert default_policy().replacement(category) in on or "Soldier 1" in on
    off = copy.deepcopy(RAW)
    off["categories"][category]["redact"] = False
    assert secret in _redact(_redactor(off, extractor), text)


def test_war_zone_places_countries_and_public_figures_are_kept(extractor: EntityExtractor) -> None:
    text = "Путин обещал, а мы под Бахмутом, потом в Украине и в Авдеевке."
    out = _redact(_redactor(RAW, extractor), text)
    for kept in ("Путин", "Бахмутом", "Украине", "Авдеевке"):
        assert kept in out


def test_the_shipped_policy_loads_and_names_every_category() -> None:
    policy = default_policy()
    assert set(policy.rules) == set(CATEGORIES)
    assert all(policy.redacts(c) for c in CATEGORIES)
    assert "путина" in policy.public_figure_forms


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(extra=1), "unknown top-level keys"),
        (lambda r: r["categories"].pop("unit"), "missing"),
        (lambda r: r["categories"]["unit"].update(replacement="unit"), "bracketed"),
        (lambda r: r["categories"]["phone"].update(colour="red"), "unknown keys"),
        (lambda r: r["categories"]["person"].update(forms=["nick"]), "forms"),
        (lambda r: r["keep"].update(public_figures="nowhere.yaml"), "cannot read"),
        (lambda r: r.update(version=2), "version"),
    ],
)
def test_invalid_policies_are_rejected(change: Any, message: str) -> None:
    raw = copy.deepcopy(RAW)
    change(raw)
    with pytest.raises(PolicyError, match=message):
        parse_policy(raw, "bad.yaml")


def _call(session: Any, n: int, when: datetime, person_ids: list[int]) -> None:
    sha = f"{n:064d}"
    session.add(Original(sha256=sha, kind="audio", size=1, stored_path=sha))
    session.flush()
    call = Call(
        sha256=sha, source_file=f"c{n}.wav", source_path=f"c{n}.wav", started_at=when,
        duration=1.0, channels=1, sample_rate=8000, codec="pcm_s16le",
    )  # fmt: skip
    session.add(call)
    session.flush()
    for label, person_id in zip("AB", person_ids, strict=False):
        session.add(Party(call_id=call.id, label=label, role="caller", person_id=person_id))


def test_pseudonyms_follow_first_appearance_and_are_never_renumbered(case: Case) -> None:
    with case.session() as session:
        people = [
            Person(name=n, name_key=n, role=r)
            for n, r in (("A", "soldier"), ("B", "relative"), ("C", "soldier"))
        ]
        session.add_all(people)
        session.flush()
        _call(session, 1, datetime(2023, 2, 1, tzinfo=UTC), [people[2].id, people[1].id])
        _call(session, 2, datetime(2022, 1, 1, tzinfo=UTC), [people[0].id])
        first = assign_pseudonyms(session, operator="t")
        assert first[people[0].id] == "Soldier 1"  # earliest call
        assert first[people[2].id] == "Soldier 2"
        assert first[people[1].id] == "Relative 1"
        newcomer = Person(name="D", name_key="d", role="soldier")
        session.add(newcomer)
        session.flush()
        _call(session, 3, datetime(2020, 1, 1, tzinfo=UTC), [newcomer.id])
        again = assign_pseudonyms(session, operator="t")
        assert {k: again[k] for k in first} == first
        assert again[newcomer.id] == "Soldier 3"
        set_pseudonym(session, people[0].id, "THE PROFESSOR", operator="editor")
        assert assign_pseudonyms(session, operator="t")[people[0].id] == "THE PROFESSOR"
        with pytest.raises(PseudonymError, match="already"):
            set_pseudonym(session, people[1].id, "the professor", operator="editor")


# English translations say numbers the way they were dictated; the phone is the fictional
# +7 977 555-40-82 of the protected person above, the unit a fictional 71934.
SPOKEN_EN = [
    "Write it down: nine seven seven, five five five, forty, eighty-two.",
    "Plus seven, nine seven seven, five five five, four oh eight two.",
    "Call Mum on five five five, four oh, double eight... no, eighty-two.",
]


@pytest.mark.parametrize("text", SPOKEN_EN[:2])
def test_phone_numbers_said_in_english_are_redacted(text: str, extractor: EntityExtractor) -> None:
    redactor = _redactor(RAW, extractor)
    out = redactor.redact(text).text
    assert default_policy().replacement("phone") in out
    assert "five five five" not in out and "nine seven seven" not in out


def test_leak_guard_sees_english_spoken_phones_and_units() -> None:
    from earshot.publish.leakguard import LeakGuard

    guard = LeakGuard([], phones=["+79775554082"], units=["71934"])
    for text in SPOKEN_EN[:2]:
        assert {leak.category for leak in guard.scan_text("$.t", text)} == {"phone"}, text
    # a wrong digit in the middle is another number, not this one
    assert guard.scan_text("$.t", SPOKEN_EN[2]) == []
    unit = guard.scan_text("$.t", "He is in unit seven one nine three four now.")
    assert [(leak.category, leak.found) for leak in unit] == [("unit", "71934")]
    harmless = "Two hundred of ours, three hundred wounded, five hundred refusing, since 2022."
    assert guard.scan_text("$.t", harmless) == []
    # An entity id that happens to hold the unit's digits is an id, not the unit; the
    # same digits beside it, or in a long run of plain digits, still are.
    ids = '{"id": "84be7be8c09f177fce0f7a71934b5a307714d1091", "entity": ["e3b0"]}'
    assert guard.scan_text("$.t", ids) == []
    beside = guard.scan_text("$.t", ids + " unit 71934")
    assert [(leak.category, leak.found) for leak in beside] == [("unit", "71934")]
    assert guard.scan_text("$.t", "9" * 31 + " 71934")[0].found == "71934"
