"""Entities in transcript segments: Natasha NER plus phones, units, addresses, dates.

Natasha (slovnet) finds PER/LOC/ORG; its normalizer needs morphology tags, so we
run the morph tagger only on the sentences that carry a span, and batch both
taggers over all segments of a call (short segments make per-call overhead the
cost that matters). The rest are patterns: phone numbers come from
:mod:`earshot.language.numbers` (written or dictated), and their digits are kept
from also reading as a date or unit number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from earshot.errors import ModelMissingError
from earshot.language.morph import analyzer, lemma
from earshot.language.names import first_names, is_diminutive, parses, public_figure
from earshot.language.numbers import SpokenNumber, find_phones, spoken_numbers

__all__ = ["Entity", "EntityExtractor", "extract_patterns"]

_MONTHS = {
    "январь": 1, "февраль": 2, "март": 3, "апрель": 4, "май": 5, "июнь": 6,
    "июль": 7, "август": 8, "сентябрь": 9, "октябрь": 10, "ноябрь": 11, "декабрь": 12,
}  # fmt: skip
_MONTH_RE = re.compile(
    r"\b(?:январ|феврал|март|апрел|ма[йяею]|июн|июл|август|сентябр|октябр|ноябр|декабр)[а-я]*\b",
    re.IGNORECASE,
)
_NUMERIC_DATE_RE = re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})\b")
_DOB_CUE_RE = re.compile(r"(?:родил[а-я]*|рожден[а-я]*|д\.\s?р\.|дата\s+рождения|др)\s*[:,-]?\s*$")
_BIRTH_YEAR_RE = re.compile(r"^\s*(?:г\.|года|год)?\s*(?:рождения|г\.\s?р\.)", re.IGNORECASE)
_YEAR_AFTER_RE = re.compile(r"^\s*(\d{4})(?:\s*(?:г\.|года|год))?\b")
_UNIT_CODE_RE = re.compile(
    r"(?:\bв/ч|\bв\.\s?ч\.|\bвч|\bвоинск[а-я]*\s+част[а-я]*)\s*(?:№|номер)?\s*(\d{4,6})\b",
    re.IGNORECASE,
)
_UNIT_WORDS = r"(?:част|полк|бригад|батальон|дивизи|дивизион|рот|арми|корпус)[а-я]*"
_UNIT_NUMBER_RE = re.compile(
    rf"\b(\d{{1,5}})(?:-?(?:я|й|ой|ая|ий|ый|го|ей|ую|ом|ю|м))?\s+({_UNIT_WORDS})\b", re.IGNORECASE
)
_UNIT_NOUNS = (
    ("дивизион", "дивизион"),
    ("дивизи", "дивизия"),
    ("батальон", "батальон"),
    ("бригад", "бригада"),
    ("полк", "полк"),
    ("част", "часть"),
    ("рот", "рота"),
    ("арми", "армия"),
    ("корпус", "корпус"),
)


def _unit_noun(word: str) -> str:
    """The nominative of a unit word ("полку" -> полк; pymorphy would say "полка", a shelf)."""
    folded = word.lower()
    return next((noun for stem, noun in _UNIT_NOUNS if folded.startswith(stem)), folded)


_UNIT_WORD_AFTER_RE = re.compile(rf"^\s+({_UNIT_WORDS})\b", re.IGNORECASE)
_STREET_RE = re.compile(
    r"\b(ул\.|улиц[а-я]*|пр-т|просп\.|проспект[а-я]*|пер\.|переул[а-я]*|бульвар[а-я]*|б-р|шоссе|"
    r"пл\.|площад[а-я]*|набережн[а-я]*|наб\.|проезд[а-я]*|мкр\.?|микрорайон[а-я]*)"
    r"\s*((?:[А-ЯЁ][а-яё-]+|\d+-?[а-я]*)(?:\s+[А-ЯЁ][а-яё-]+){0,2})",
)
_HOUSE_RE = re.compile(r"^\s*,?\s*(?:д\.|дом[а-я]*)?\s*", re.IGNORECASE)
_FLAT_RE = re.compile(r"^\s*,?\s*(?:кв\.|квартир[а-я]*)\s*", re.IGNORECASE)
_CORPUS_RE = re.compile(r"^\s*,?\s*(?:к\.|корп\.|корпус[а-я]*)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Entity:
    """One entity with its character span in the segment.

    kind: PER, LOC, ORG (Natasha), PHONE, UNIT, ADDRESS, DATE, DOB.
    normal: normal form (nominative for names); value: machine form (E.164,
    ISO date "1990-03-12" or "--03-12" without year, unit number, address parts).
    """

    kind: str
    start: int
    end: int
    text: str
    normal: str
    value: str | None = None


def _number_starting(numbers: Sequence[SpokenNumber], text: str, pos: int) -> SpokenNumber | None:
    for number in numbers:
        if number.start >= pos:
            return number if not text[pos : number.start].strip() else None
    return None


def _number_ending(numbers: Sequence[SpokenNumber], text: str, pos: int) -> SpokenNumber | None:
    for number in reversed(numbers):
        if number.end <= pos:
            return number if not text[number.end : pos].strip() else None
    return None


def _year(value: int) -> int:
    return value if value >= 100 else (2000 + value if value <= 30 else 1900 + value)


def _date_kind(text: str, start: int) -> str:
    return "DOB" if _DOB_CUE_RE.search(text[max(0, start - 30) : start].lower()) else "DATE"


def _dates(text: str, numbers: Sequence[SpokenNumber]) -> list[Entity]:
    found: list[Entity] = []
    for m in _NUMERIC_DATE_RE.finditer(text):
        day, month, year = int(m.group(1)), int(m.group(2)), _year(int(m.group(3)))
        if 1 <= day <= 31 and 1 <= month <= 12:
            value = f"{year:04d}-{month:02d}-{day:02d}"
            kind = _date_kind(text, m.start())
            found.append(Entity(kind, m.start(), m.end(), m.group(0), m.group(0), value))
    for m in _MONTH_RE.finditer(text):
        month_number = _MONTHS.get(lemma(m.group(0)))
        if month_number is None:
            continue
        month = month_number
        day_match = re.search(r"(\d{1,2})(?:-?го|-?е)?\s*$", text[: m.start()])
        start: int | None = None
        day = 0
        if day_match:
            start, day = day_match.start(), int(day_match.group(1))
        else:
            spoken = _number_ending(numbers, text, m.start())
            if spoken is not None:
                start, day = spoken.start, spoken.value
        if start is None or not 1 <= day <= 31:
            continue
        end, value = m.end(), f"--{month:02d}-{day:02d}"
        year_match = _YEAR_AFTER_RE.match(text[end:])
        spoken_year = _number_starting(numbers, text, end)
        if year_match:
            year, end = int(year_match.group(1)), end + year_match.end()
            value = f"{year:04d}-{month:02d}-{day:02d}"
        elif spoken_year is not None and spoken_year.ordinal:
            after = re.match(r"\s*(?:года|год|г\.)", text[spoken_year.end :])
            if after:
                end = spoken_year.end + after.end()
                value = f"{_year(spoken_year.value):04d}-{month:02d}-{day:02d}"
        if re.match(r"\s*рождения", text[end:]):
            end = end + re.match(r"\s*рождения", text[end:]).end()  # type: ignore[union-attr]
            kind = "DOB"
        else:
            kind = _date_kind(text, start)
        found.append(Entity(kind, start, end, text[start:end], text[start:end], value))
    for number in numbers:  # "1990 года рождения", "девяностого года рождения"
        birth = _BIRTH_YEAR_RE.match(text[number.end :])
        if birth and (number.value >= 1900 or number.ordinal):
            end = number.end + birth.end()
            if not any(e.start <= number.start < e.end for e in found):
                year = _year(number.value)
                span = text[number.start : end]
                found.append(Entity("DOB", number.start, end, span, span, f"{year:04d}"))
    return found


def _units(text: str, numbers: Sequence[SpokenNumber]) -> list[Entity]:
    found: list[Entity] = []
    for m in _UNIT_CODE_RE.finditer(text):
        found.append(Entity("UNIT", m.start(), m.end(), m.group(0), m.group(0), m.group(1)))
    for m in _UNIT_NUMBER_RE.finditer(text):
        if any(e.start <= m.start() < e.end for e in found):
            continue
        value = f"{int(m.group(1))} {_unit_noun(m.group(2))}"
        found.append(Entity("UNIT", m.start(), m.end(), m.group(0), m.group(0), value))
    for number in numbers:
        after = _UNIT_WORD_AFTER_RE.match(text[number.end :])
        if number.ordinal and after and not number.digits.startswith("0"):
            if any(e.start <= number.start < e.end for e in found):
                continue
            end = number.end + after.end()
            value = f"{number.value} {_unit_noun(after.group(1))}"
            span = text[number.start : end]
            found.append(Entity("UNIT", number.start, end, span, span, value))
    return found


def _addresses(text: str, numbers: Sequence[SpokenNumber]) -> list[Entity]:
    found: list[Entity] = []
    for m in _STREET_RE.finditer(text):
        end = m.end()
        parts = [f"{lemma(m.group(1).rstrip('.'))} {m.group(2)}"]
        for label, pattern in (("д.", _HOUSE_RE), ("корп.", _CORPUS_RE), ("кв.", _FLAT_RE)):
            lead = pattern.match(text[end:])
            if lead is None:
                continue
            pos = end + lead.end()
            digits = re.match(r"\d+[а-я]?\b", text[pos:])
            if digits:
                parts.append(f"{label} {digits.group(0)}")
                end = pos + digits.end()
                continue
            spoken = _number_starting(numbers, text, pos)
            if spoken is not None and not spoken.ordinal and spoken.start == pos:
                parts.append(f"{label} {spoken.value}")
                end = spoken.end
        span = text[m.start() : end]
        found.append(Entity("ADDRESS", m.start(), end, span, span, ", ".join(parts)))
    return found


_NAME_TAGS = frozenset({"Name", "Surn", "Patr"})


@lru_cache(maxsize=100_000)
def _common_word(word: str) -> bool:
    """A dictionary word whose most likely reading is no name ("Спальник", "Отправь").

    NER tags capitalised common nouns at a sentence start as persons; pymorphy3's best
    parse of such a word is the noun. Words pymorphy only guesses (rare surnames) and
    first names or diminutives of ``diminutives.yaml`` ("Вера", "Надежда") never count.
    """
    if first_names(word) or public_figure(word) is not None:
        return False
    found = parses(word)
    if not found or not analyzer().word_is_known(word.lower()):
        return False
    return not _NAME_TAGS & found[0].tag.grammemes


def _not_a_name(tokens: Sequence[Any], is_known: Callable[[str], bool] | None) -> bool:
    """A one-word PER span that is a common word and names no known person."""
    if len(tokens) != 1:
        return False
    word = tokens[0].text
    return _common_word(word) and not (is_known is not None and is_known(word))


@lru_cache(maxsize=100_000)
def _name_like(word: str) -> bool:
    if first_names(word):
        return True
    return any(_NAME_TAGS & p.tag.grammemes for p in parses(word))


def _trim_leading_non_names(tokens: Sequence[Any]) -> list[Any]:
    """Drop words NER glued before a name ("Скажи Паше", "Тётя Галя")."""
    out = list(tokens)
    while len(out) > 1 and not _name_like(out[0].text):
        out = out[1:]
    return out


_PLACE_OR_NAME_TAGS = frozenset({"Name", "Surn", "Patr", "Geox"})


@lru_cache(maxsize=100_000)
def _verb_only(word: str) -> bool:
    """A verb with no name or place reading ("привези", "стоим")."""
    found = parses(word)
    return (
        bool(found)
        and found[0].tag.POS in ("VERB", "INFN")
        and not any(_PLACE_OR_NAME_TAGS & p.tag.grammemes for p in found)
    )


def _trim_trailing_verbs(tokens: Sequence[Any]) -> list[Any]:
    """Drop verbs NER glued after a word ("Спальник привези" read as a place)."""
    out = list(tokens)
    while out and _verb_only(out[-1].text):
        out = out[:-1]
    return out


@lru_cache(maxsize=100_000)
def _no_place(word: str) -> bool:
    """A dictionary word with no place or name reading at all ("Спальник", "Дом")."""
    found = parses(word)
    return (
        bool(found)
        and analyzer().word_is_known(word.lower())
        and not any(_PLACE_OR_NAME_TAGS & p.tag.grammemes for p in found)
        and not first_names(word)
    )


_CAPITALISED_RE = re.compile(r"\b[А-ЯЁ][а-яё]+\b")


def _linked_names(text: str, taken: Sequence[Entity]) -> list[Entity]:
    """First names, diminutives and public figures NER missed (often sentence-initial)."""
    found: list[Entity] = []
    for m in _CAPITALISED_RE.finditer(text):
        if any(e.start <= m.start() < e.end for e in taken):
            continue
        word = m.group(0)
        names = first_names(word)
        figure = public_figure(word)
        if names or figure is not None:
            normal = next(iter(names)) if len(names) == 1 else word
            if figure is not None:
                normal = figure.name.split()[-1]
            found.append(Entity("PER", m.start(), m.end(), word, normal))
    return found


def _overlaps(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def extract_patterns(text: str) -> list[Entity]:
    """Phones, units, addresses, dates and DOBs in `text` (no NER), by start."""
    phones = [Entity("PHONE", p.start, p.end, p.text, p.text, p.e164) for p in find_phones(text)]
    numbers = spoken_numbers(text)
    others = _units(text, numbers) + _addresses(text, numbers) + _dates(text, numbers)
    kept = [e for e in others if not any(_overlaps(e, p) for p in phones)]
    return sorted(phones + kept, key=lambda e: (e.start, e.end))


_BATCH_SIZE = 64


def _in_length_order(items: Sequence[Any], tagger: Any, size: Callable[[Any], int]) -> list[Any]:
    """Run a slovnet tagger over `items` sorted by length, results in input order.

    slovnet pads each batch to its longest item, so batching similar lengths together
    wastes little; one BLAS thread, because on 2 shared cores a second OpenBLAS thread
    spin-waits more than it computes (10x slower under load) and parallelism comes from
    worker processes instead.
    """
    from threadpoolctl import threadpool_limits

    order = sorted(range(len(items)), key=lambda i: size(items[i]))
    out: list[Any] = [None] * len(items)
    with threadpool_limits(limits=1, user_api="blas"):
        for i, result in zip(order, tagger.map([items[i] for i in order]), strict=True):
            out[i] = result
    return out


class EntityExtractor:
    """Natasha NER + pattern entities; build once (loads ~30 MB of embeddings)."""

    def __init__(self) -> None:
        try:
            from natasha import MorphVocab, NewsEmbedding, NewsMorphTagger, NewsNERTagger, Segmenter
        except ImportError as exc:
            raise ModelMissingError(
                "Natasha is not installed: pip install 'earshot[language]' (natasha, setuptools<80)"
            ) from exc
        self._segmenter = Segmenter()
        embedding = NewsEmbedding()
        self._ner = NewsNERTagger(embedding)
        self._morph = NewsMorphTagger(embedding)
        self._vocab = MorphVocab()
        for tagger in (self._ner, self._morph):  # slovnet's default of 8 is call-sized
            tagger.batch_size = tagger.infer.encoder.batch_size = _BATCH_SIZE

    def extract(self, text: str, is_known: Callable[[str], bool] | None = None) -> list[Entity]:
        """Entities of one segment, ordered by start."""
        return self.extract_many([text], is_known)[0]

    def extract_many(
        self, texts: Sequence[str], is_known: Callable[[str], bool] | None = None
    ) -> list[list[Entity]]:
        """Entities of many segments; NER and morphology run batched across them.

        `is_known(word)` says whether a word names a known person of the case: a
        one-word PER span on a common word ("Спальник") is kept only then.
        """
        from natasha import Doc
        from natasha.doc import DocSpan
        from natasha.norm import normalize

        ner_spans: list[list[Any]] = [[] for _ in texts]
        nonempty = [i for i, t in enumerate(texts) if t.strip()]
        markups = _in_length_order(
            [texts[i] for i in nonempty], self._ner, lambda text: len(text.split())
        )
        docs: list[tuple[int, Any]] = []
        for i, markup in zip(nonempty, markups, strict=True):
            if not markup.spans:
                continue
            doc = Doc(texts[i])
            doc.segment(self._segmenter)
            doc.spans = [
                DocSpan(s.start, s.stop, s.type, texts[i][s.start : s.stop]) for s in markup.spans
            ]
            doc.envelop_span_tokens()
            doc.envelop_sent_spans()
            docs.append((i, doc))
        sents = [sent for _, doc in docs for sent in doc.sents if sent.spans]
        if sents:
            tagged = _in_length_order(
                [[t.text for t in sent.tokens] for sent in sents], self._morph, len
            )
            for sent, markup in zip(sents, tagged, strict=True):
                for target, source in zip(sent.tokens, markup.tokens, strict=True):
                    target.pos, target.feats = source.pos, source.feats
        for i, doc in docs:
            for span in doc.spans:
                if span.type in ("PER", "LOC"):
                    span.tokens = _trim_trailing_verbs(span.tokens)
                    if not span.tokens:
                        continue
                    span.stop = span.tokens[-1].stop
                    span.text = texts[i][span.start : span.stop]
                if span.type == "LOC" and len(span.tokens) == 1 and is_diminutive(span.text):
                    span.type = "PER"  # "Рома" read as Rome
                if span.type == "LOC" and len(span.tokens) == 1 and _no_place(span.text):
                    continue
                if span.type == "PER":
                    span.tokens = _trim_leading_non_names(span.tokens)
                    if not span.tokens or _not_a_name(span.tokens, is_known):
                        continue
                    span.start = span.tokens[0].start
                    span.text = texts[i][span.start : span.stop]
                if not span.tokens:
                    continue
                if span.type == "ORG":  # no syntax parse: inflect the head word only
                    head = normalize(self._vocab, span.tokens[:1])
                    normal = head + span.text[span.tokens[0].stop - span.start :]
                else:
                    normal = normalize(self._vocab, span.tokens)
                if span.type == "LOC" and normal == span.text and len(span.tokens) == 1:
                    normal = lemma(span.text).capitalize()  # Natasha left it inflected
                ner_spans[i].append(Entity(span.type, span.start, span.stop, span.text, normal))
        out: list[list[Entity]] = []
        for text, named in zip(texts, ner_spans, strict=True):
            patterns = extract_patterns(text)
            named = [e for e in named if not any(_overlaps(e, p) for p in patterns)]
            named += _linked_names(text, named + patterns)
            out.append(sorted(named + patterns, key=lambda e: (e.start, e.end, e.kind)))
        return out
