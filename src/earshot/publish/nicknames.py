"""Terms of address that look like nicknames: flagged, decided by an editor, remembered.

«Малой, ты где?», «Студент, слышишь меня?»: soldiers call each other by nicknames
that no person record lists, and the redactor cannot know that "Студент" here is a
man's name rather than a word. A capitalised noun-like word used to address the
other party (at the start of a sentence before a comma, or after a comma at the
end of one) that is not a known person's name or alias, not an ordinary term of
address (``data/terms_of_address.yaml``: "Мама", "Брат") and not already redacted
as a first name is flagged *review before publishing*. A redacted export is
refused while any flagged word in it is undecided; an editor decides each once for
the case: a person's nickname (redacted everywhere, as the person's pseudonym when
the person is known) or an ordinary word (published as said).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.errors import LexiconError
from earshot.identity.actor import EDITOR_ROLES, Actor, require_role
from earshot.language.analysis import current_transcript
from earshot.language.morph import analyzer, fold
from earshot.language.names import first_names, word_forms
from earshot.language.places import gazetteer
from earshot.store.custody import append_custody
from earshot.store.models import Person
from earshot.store.publish_models import NicknameDecision

from ..errors import NicknameError, NicknameReviewError

__all__ = [
    "Decision",
    "NicknameCandidate",
    "NicknameError",
    "NicknameReviewError",
    "decide_nickname",
    "decisions",
    "find_nickname_candidates",
    "nickname_terms",
    "ordinary_terms",
    "pending_nicknames",
    "require_nickname_decisions",
]

_WORD = r"([А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё]+)?)"
# "Малой, ты где?" (sentence start, then a comma) and "Ты где, Студент?" (after a comma,
# then the end of the sentence or another comma).
_LEADING_RE = re.compile(r"(?:^|[.!?…]\s+|[-—–]\s*)(?:(?:Эй|Ну|Ой|А|О),?\s+)?" + _WORD + r"\s*,")
_TRAILING_RE = re.compile(r",\s+" + _WORD + r"\s*(?=[?!.,…]|$)")
_ADJ_NOMN = ("ой", "ый", "ий", "ая", "яя")
_CYR_RE = re.compile(r"[А-ЯЁа-яё]+")
_YOU = {
    "ты", "тебя", "тебе", "тобой", "тобою", "вы", "вас", "вам", "вами",
    "твой", "твоя", "твоё", "твое", "твои", "твоего", "твоей", "ваш", "ваша", "ваше", "ваши",
}  # fmt: skip
_NOT_ADDRESS = {"VERB", "INFN", "INTJ", "PRCL", "CONJ", "ADVB", "PRED", "PREP", "NPRO", "COMP"}


class Decision(StrEnum):
    NICKNAME = "nickname"
    ORDINARY = "ordinary"


@dataclass(frozen=True)
class NicknameCandidate:
    """A term of address that may be a nickname, and where it was heard."""

    word: str  # the folded key decisions are recorded under ("малой")
    surface: str  # as said ("Малой")
    call_id: int
    segment_id: int
    start: int
    end: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "surface": self.surface,
            "call": self.call_id,
            "segment": self.segment_id,
            "start": self.start,
            "end": self.end,
        }


@cache
def ordinary_terms() -> frozenset[str]:
    """Folded forms (every case) of the ordinary terms of address."""
    ref = "earshot.publish:data/terms_of_address.yaml"
    data = yaml.safe_load(
        (resources.files("earshot.publish") / "data" / "terms_of_address.yaml").read_text(
            encoding="utf-8"
        )
    )
    rows = data.get("ordinary") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, str) and r.strip() for r in rows):
        raise LexiconError(f"{ref}: needs a list of words 'ordinary'; fix the file")
    forms: set[str] = set()
    for word in rows:
        forms |= set(word_forms(word)) | {fold(word)}
        if len(word) >= 4 and word[-1] in "ая":  # colloquial vocative: "мам", "бать"
            forms.add(fold(word[:-1] + ("ь" if word[-1] == "я" else "")))
    return frozenset(forms)


def _address_like(word: str, *, animate: bool = False) -> bool:
    """A noun, a substantivised adjective ("Малой", "Серый") or an unknown word; with
    `animate`, an inanimate noun does not count ("Так, Внимание!", "Ребят, Удачи!")."""
    parses = analyzer().parse(word.lower())
    if not parses or not parses[0].is_known:
        return True
    if parses[0].tag.POS in _NOT_ADDRESS or parses[0].tag.POS in ("ADJS", "NUMR"):
        return False
    if any(g in parses[0].tag for g in ("Apro", "Anum", "Geox")):
        return False
    for parse in parses:
        tag = parse.tag
        if tag.POS == "NOUN" and tag.case == "nomn" and (not animate or tag.animacy == "anim"):
            return True
        # A substantivised adjective said in the nominative ("Малой", "Рыжий"): pymorphy
        # has no nominative reading of the colloquial "малой", so go by the ending.
        if tag.POS == "ADJF" and tag.number == "sing" and word.lower().endswith(_ADJ_NOMN):
            return True
    return False


def _known_words(session: Session) -> frozenset[str]:
    """Every form of every known person's names and aliases, and the public figures."""
    from .policy import default_policy
    from .terms import TermIndex, protected_people

    index = TermIndex()
    for person in protected_people(session):
        index.add_person(person)
    return frozenset(index.words) | default_policy().public_figure_forms


def _addresses_someone(sentence: str) -> bool:
    """Whether a sentence speaks to someone: "ты"/"вы" in any form, a second-person or
    imperative verb ("слышишь", "слушай"). A capitalised word before a comma in a
    sentence without one is a list or an address, not a term of address."""
    for m in _CYR_RE.finditer(sentence):
        word = m.group(0).lower()
        if word in _YOU:
            return True
        tag = analyzer().parse(word)[0].tag
        if tag.POS == "VERB" and ("2per" in tag or "impr" in tag):
            return True
    return False


def _listed(text: str, end: int) -> bool:
    """Whether the word after the comma at `end` continues a list of adjectives
    ("Живой, здоровый"): then the capitalised word is a predicate, not an address."""
    after = _CYR_RE.search(text, end)
    if after is None or text[end : after.start()].strip(" ,") != "":
        return False
    return analyzer().parse(after.group(0).lower())[0].tag.POS in ("ADJF", "ADJS", "PRTF")


def _sentence(text: str, start: int, end: int) -> str:
    begin = max(text.rfind(p, 0, start) for p in ".!?…")
    ends = [i for p in ".!?…" if (i := text.find(p, end)) >= 0]
    return text[begin + 1 : min(ends) + 1 if ends else len(text)]


def _candidates_in(text: str) -> Iterable[tuple[int, int, str, bool]]:
    """Capitalised words in the places a term of address takes.

    At the start of a sentence before a comma ("Малой, ты где?") the sentence must speak
    to someone (a "ты"/"вы", a second-person or imperative verb, or a question or an
    exclamation) and the comma must not open a list of adjectives ("Живой, здоровый");
    after a comma, capitalised mid-sentence ("Ну что, Рыжий, живой?") is enough, but
    before an exclamation mark only a person-like word counts ("Так, Внимание!"). The
    last item says whether only animate nouns count.
    """
    seen: set[int] = set()
    for m in _TRAILING_RE.finditer(text):
        seen.add(m.start(1))
        exclaimed = text[m.end(1) :].lstrip().startswith("!")
        yield m.start(1), m.end(1), m.group(1), exclaimed
    for m in _LEADING_RE.finditer(text):
        if m.start(1) in seen or _listed(text, m.end(1)):
            continue
        sentence = _sentence(text, m.start(1), m.end(1))
        rest = sentence.replace(m.group(1), " ")
        if _addresses_someone(rest) or sentence.rstrip().endswith(("?", "!")):
            yield m.start(1), m.end(1), m.group(1), False


def find_nickname_candidates(
    session: Session, call_ids: Sequence[int] | None = None
) -> list[NicknameCandidate]:
    """Terms of address in the current transcripts of `call_ids` (default: every call)
    that may be nicknames, decided or not."""
    from earshot.store.models import Call

    if call_ids is None:
        call_ids = list(session.scalars(select(Call.id).order_by(Call.id)))
    known = _known_words(session)
    ordinary = ordinary_terms()
    out: list[NicknameCandidate] = []
    for call_id in call_ids:
        transcript = current_transcript(session, call_id)
        for segment in transcript.segments if transcript else []:
            for start, end, surface, animate in _candidates_in(segment.text):
                key = fold(surface)
                if key in known or key in ordinary or len(key) < 3:
                    continue
                if first_names(surface) or not _address_like(surface, animate=animate):
                    continue  # a first name is redacted anyway; a verb or particle is no name
                if gazetteer().geocode(surface):
                    continue  # a place: the redactor decides on it ("Бахмут, Соледар")
                out.append(NicknameCandidate(key, surface, call_id, segment.id, start, end))
    return out


def decisions(session: Session) -> dict[str, NicknameDecision]:
    """Folded word -> the decision in force (the latest)."""
    rows = session.scalars(select(NicknameDecision).order_by(NicknameDecision.id))
    return {row.word: row for row in rows}


def pending_nicknames(
    session: Session, call_ids: Sequence[int] | None = None
) -> list[NicknameCandidate]:
    """The candidates in `call_ids` no editor has decided yet."""
    decided = decisions(session)
    return [c for c in find_nickname_candidates(session, call_ids) if c.word not in decided]


def require_nickname_decisions(session: Session, call_ids: Sequence[int] | None) -> None:
    """Refuse a redacted publication of `call_ids` while a flagged word is undecided."""
    pending = pending_nicknames(session, call_ids)
    if not pending:
        return
    words = sorted({c.surface for c in pending})
    shown = ", ".join(
        f"{w!r} (call {next(c.call_id for c in pending if c.surface == w)})" for w in words[:6]
    )
    more = f" and {len(words) - 6} more" if len(words) > 6 else ""
    raise NicknameReviewError(
        f"review before publishing: {len(words)} term(s) of address may be nicknames: "
        f"{shown}{more}. Decide each with `earshot nickname decide CASE WORD --nickname "
        "[--person ID]` or `--ordinary` (see `earshot nickname list CASE`)",
        pending,
    )


def decide_nickname(
    session: Session,
    word: str,
    decision: Decision | str,
    *,
    actor: Actor,
    person_id: int | None = None,
    note: str | None = None,
) -> NicknameDecision:
    """Record an editor's decision on `word` for the whole case (recorded in custody).

    Editors and admins only (the role is checked here, for the CLI and the web alike).

    A nickname of a known person is redacted as that person's pseudonym (and checked
    by the leak guard as one of the person's names); a nickname of nobody known as an
    unlinked name; an ordinary word is published as said.
    """
    require_role(actor, EDITOR_ROLES, "decide whether a word is a nickname")
    try:
        chosen = Decision(decision)
    except ValueError:
        raise NicknameError(
            f"unknown decision {decision!r}; use one of {', '.join(d.value for d in Decision)}"
        ) from None
    surface = " ".join(word.split())
    if not surface or len(surface) > 80 or " " in surface:
        raise NicknameError(f"{word!r} is not one word; give the word as it is said")
    if chosen is Decision.ORDINARY and person_id is not None:
        raise NicknameError("an ordinary word belongs to nobody: drop --person")
    if person_id is not None and session.get(Person, person_id) is None:
        raise NicknameError(f"no person with id {person_id}; see `earshot person list`")
    row = NicknameDecision(
        word=fold(surface),
        surface=surface,
        decision=chosen.value,
        person_id=person_id,
        note=note,
        decided_by=actor.name,
    )
    session.add(row)
    session.flush()
    append_custody(
        session,
        operator=actor.name,
        action="nickname-decided",
        detail={"decision_id": row.id, "decision": chosen.value, "person_id": person_id},
    )
    return row


def nickname_terms(session: Session) -> tuple[dict[int, list[str]], list[str]]:
    """Decided nicknames: person id -> nicknames, and nicknames of nobody known."""
    rows = decisions(session).values()
    by_person: dict[int, list[str]] = {}
    unlinked: list[str] = []
    for row in rows:
        if row.decision != Decision.NICKNAME.value:
            continue
        if row.person_id is not None:
            by_person.setdefault(row.person_id, []).append(row.surface)
        else:
            unlinked.append(row.surface)
    return by_person, unlinked
