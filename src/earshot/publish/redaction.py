"""Redaction of text: names, phones, units, addresses, dates of birth, home towns.

Defence in depth, because one missed name can get someone hurt: a Russian text is
read by the entity extractor (Natasha NER + patterns), every word is checked
against every form of every known person's names, and every number against every
phone; English text (translations) is checked against the transliterations of all
of those and of every name and place the Russian side redacted anywhere in the
export, plus English patterns for addresses and dates of birth. Slang marks are
kept ("уехать в Сочи" is desertion, not a home town), as are public figures,
countries and places in the war zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from earshot.language.entities import Entity, EntityExtractor, extract_patterns
from earshot.language.morph import fold, lemmas
from earshot.language.names import KnownPerson, PersonDirectory, word_forms
from earshot.language.numbers import find_phones
from earshot.language.numbers_en import english_number_runs

from .patterns_en import EN_ADDRESS_RE, EN_DOB_RE, EN_UNIT_RE, date_pattern
from .policy import RedactionPolicy
from .terms import ProtectedPerson, Term, TermIndex, is_name_like, phone_digit_keys
from .translit import LATIN_WORD_RE, latin_key, latin_keys_of

__all__ = ["RedactedText", "Redaction", "Redactor", "TextSpan"]

_PRIORITY = ("person", "phone", "address", "unit", "date_of_birth", "home_town")
_CYR_WORD_RE = re.compile(r"[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)*")
_DIGIT_RUN_RE = re.compile(r"\+?\d[\d\s().\-\u2010-\u2015]*\d|\d")


@dataclass(frozen=True)
class TextSpan:
    """One redacted stretch of a text: where it was, and what now stands there."""

    start: int
    end: int
    category: str
    replacement: str
    persons: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RedactedText:
    """A redacted text and the spans replaced (original offsets, in order)."""

    text: str
    spans: tuple[TextSpan, ...]

    def map_offset(self, offset: int) -> int:
        """Where an offset of the original text lies in the redacted one."""
        shift = 0
        for span in self.spans:
            if offset < span.start:
                break
            if offset < span.end:
                return span.start + shift
            shift += len(span.replacement) - (span.end - span.start)
        return offset + shift


@dataclass
class Redaction:
    """What the Russian pass found in a whole export, applied to every string of it."""

    terms: TermIndex = field(default_factory=TermIndex)
    numbers: dict[str, str] = field(default_factory=dict)  # unit digits -> category
    dates: set[str] = field(default_factory=set)  # ISO dates of birth


def _cyrillic(text: str) -> bool:
    return bool(re.search(r"[А-ЯЁа-яё]", text))


class Redactor:
    """Redacts texts of one case under one policy."""

    def __init__(
        self,
        policy: RedactionPolicy,
        people: Sequence[ProtectedPerson],
        pseudonyms: Mapping[int, str],
        *,
        extractor: EntityExtractor | None = None,
    ) -> None:
        self.policy = policy
        self.pseudonyms = dict(pseudonyms)
        self._extractor = extractor
        self.known = TermIndex()
        kinds = policy.person_forms
        for person in people:
            self.known.add_person(person, kinds, policy.inflections)
        self._directory = PersonDirectory(
            KnownPerson(str(p.person_id), tuple(p.names), tuple(p.aliases)) for p in people
        )
        self._figure_forms = policy.public_figure_forms
        self._figure_latin = frozenset(k for f in self._figure_forms for k in latin_keys_of(f))
        self._not_names = [fold(n) for n in policy.not_names]
        self.found = Redaction()
        self._slang_words: set[str] = set()

    # ------------------------------------------------------------ extraction

    @property
    def extractor(self) -> EntityExtractor:
        if self._extractor is None:
            self._extractor = EntityExtractor()
        return self._extractor

    def _person_replacement(self, persons: frozenset[int]) -> str:
        rule = self.policy.replacement("person")
        if rule != "pseudonym":
            return rule
        names = {self.pseudonyms.get(p) for p in persons}
        if len(names) == 1 and None not in names:
            return str(next(iter(names)))
        return self.policy.unlinked_name

    def _is_public_figure(self, text: str) -> bool:
        words = [fold(m.group(0)) for m in _CYR_WORD_RE.finditer(text)]
        return bool(words) and all(w in self._figure_forms for w in words)

    def _in_not_names(self, text: str, start: int, end: int) -> bool:
        folded = fold(text)
        for phrase in self._not_names:
            for m in re.finditer(re.escape(phrase), folded):
                if m.start() <= start and end <= m.end():
                    return True
        return False

    def _link(self, mention: str) -> frozenset[int]:
        matches = self._directory.match(mention)
        if not matches:
            return frozenset()
        best = matches[0].score
        if best < 0.45:
            return frozenset()
        return frozenset(int(m.person_id) for m in matches if m.score == best)

    def _place_kept(self, entity: Entity) -> tuple[bool, list[str]]:
        """Whether a LOC stays (war zone, country, keep list); also its English names."""
        from earshot.language.places import gazetteer, in_war_zone

        name = entity.normal or entity.text
        if fold(name) in self.policy.keep_places or fold(entity.text) in self.policy.keep_places:
            return True, []
        never = self.policy.never_home_towns
        if self.policy.keep_countries and (never.covers(name) or never.covers(entity.text)):
            return True, []
        places = gazetteer().geocode(name) or gazetteer().geocode(entity.text)
        if not places:
            return False, []
        best = places[0]
        english = [p.name for p in places[:3]]
        if best.kind == "country" or any(p.kind == "country" for p in places):
            return self.policy.keep_countries, english
        if never.covers(best.name, best.population, best.kind):
            return True, english
        if best.kind == "region" or in_war_zone(best):
            return True, english
        return False, english

    def _classify(
        self, text: str, entity: Entity, slang: Sequence[tuple[int, int]]
    ) -> TextSpan | None:
        inside_slang = any(s <= entity.start and entity.end <= e for s, e in slang)
        kind = entity.kind
        if kind == "PER":
            if self._is_public_figure(entity.text) or self._in_not_names(
                text, entity.start, entity.end
            ):
                return None
            words = [m.group(0) for m in _CYR_WORD_RE.finditer(entity.text)]
            known = any(fold(w) in self.known.words for w in words)
            if not known and (inside_slang or (len(words) == 1 and not is_name_like(words[0]))):
                return None
            persons = self._link(entity.text)
            for word in words:
                forms = set(word_forms(word)) | {fold(word)} | set(lemmas(word)[:1])
                for form in forms:
                    self.found.terms.add_word(form, Term("person", persons, "mentioned"))
            return TextSpan(
                entity.start, entity.end, "person", self._person_replacement(persons), persons
            )
        if kind == "LOC":
            place_words = {fold(m.group(0)) for m in _CYR_WORD_RE.finditer(entity.text)}
            if inside_slang or (place_words and place_words <= self._slang_words):
                return None
            kept, english = self._place_kept(entity)
            if kept:
                return None
            for word in [entity.text, entity.normal]:
                for m in _CYR_WORD_RE.finditer(word):
                    for form in set(word_forms(m.group(0))) | {fold(m.group(0))}:
                        self.found.terms.add_word(form, Term("home_town", source="place"))
            for name in english:
                for m in LATIN_WORD_RE.finditer(name):
                    key = latin_key(m.group(0))
                    if len(key) >= 4:
                        self.found.terms.latin.setdefault(key, Term("home_town", source="place"))
            return TextSpan(
                entity.start, entity.end, "home_town", self.policy.replacement("home_town")
            )
        category = {"PHONE": "phone", "UNIT": "unit", "ADDRESS": "address", "DOB": "date_of_birth"}
        if kind not in category:
            return None
        name = category[kind]
        if kind == "PHONE" and entity.value:
            for key in phone_digit_keys(entity.value):
                self.found.terms.add_digits(key, Term("phone", source="phone"))
        elif kind == "UNIT" and entity.value:
            digits = re.sub(r"\D", "", entity.value)
            if len(digits) >= 3:
                self.found.numbers[digits] = "unit"
        elif kind == "DOB" and entity.value:
            self.found.dates.add(entity.value)
        elif kind == "ADDRESS":
            street = re.sub(r"^(?:улица|ул|проспект|переулок|бульвар)\s+", "", entity.value or "")
            for m in _CYR_WORD_RE.finditer(street.split(",")[0]):
                for form in word_forms(m.group(0)):
                    self.found.terms.add_word(form, Term("address", source="street"))
        return TextSpan(entity.start, entity.end, name, self.policy.replacement(name))

    # ------------------------------------------------------------ passes

    def analyse(
        self,
        texts: Sequence[str],
        slang: Sequence[Sequence[tuple[int, int]]] | None = None,
        stored: Sequence[Sequence[Entity]] | None = None,
    ) -> list[list[TextSpan]]:
        """First pass over Russian texts: entity spans to redact (and learn terms from)."""
        fresh = self.extractor.extract_many(list(texts))
        for i, text in enumerate(texts):
            for start, end in slang[i] if slang else []:
                self._slang_words |= {
                    fold(m.group(0)) for m in _CYR_WORD_RE.finditer(text[start:end])
                }
        out: list[list[TextSpan]] = []
        for i, (text, entities) in enumerate(zip(texts, fresh, strict=True)):
            marks = list(slang[i]) if slang else []
            extra = list(stored[i]) if stored else []
            found = [*entities, *extra]
            found += [e for e in _capitalised_names(text) if not any(_overlap(e, f) for f in found)]
            spans = [self._classify(text, e, marks) for e in found]
            out.append([s for s in spans if s is not None and self.policy.redacts(s.category)])
        return out

    def _term_spans(self, text: str, slang: Sequence[tuple[int, int]]) -> list[TextSpan]:
        spans: list[TextSpan] = []
        indexes = (self.known, self.found.terms)
        for m in _CYR_WORD_RE.finditer(text):
            folded = fold(m.group(0))
            for index in indexes:
                term = index.words.get(folded)
                if term is None:
                    continue
                if term.category != "person" and any(s <= m.start() < e for s, e in slang):
                    continue
                if self._is_public_figure(m.group(0)):
                    continue
                spans.append(self._term_span(m.start(), m.end(), term))
                break
        for m in LATIN_WORD_RE.finditer(text):
            candidates = [m.group(0), *re.split(r"['’\u02B9-]", m.group(0))[:1]]
            for word in candidates:
                key = latin_key(word)
                term = self.known.latin.get(key) or self.found.terms.latin.get(key)
                if term is not None and not self._latin_public(word):
                    spans.append(self._term_span(m.start(), m.end(), term))
                    break
        for m in _DIGIT_RUN_RE.finditer(text):
            span = self._digit_span(m.start(), m.end(), re.sub(r"\D", "", m.group(0)))
            if span is not None:
                spans.append(span)
        return spans

    def _digit_span(self, start: int, end: int, digits: str) -> TextSpan | None:
        """The span for a run of digits (written or spoken) that holds a known phone (6+
        digits of it, known persons first, then what the first pass found) or is a unit
        number the first pass found; None for any other number."""
        for index in (self.known, self.found.terms):
            hit = next((t for k, t in index.digits.items() if len(k) >= 6 and k in digits), None)
            if hit is not None:
                return self._term_span(start, end, hit)
        if digits in self.found.numbers:
            category = self.found.numbers[digits]
            return TextSpan(start, end, category, self.policy.replacement(category))
        return None

    def _latin_public(self, word: str) -> bool:
        return latin_key(word) in self._figure_latin

    def _term_span(self, start: int, end: int, term: Term) -> TextSpan:
        if term.category == "person":
            replacement = self._person_replacement(term.persons)
        else:
            replacement = self.policy.replacement(term.category)
        return TextSpan(start, end, term.category, replacement, term.persons)

    def _pattern_spans(self, text: str) -> list[TextSpan]:
        spans: list[TextSpan] = []
        rules = {"PHONE": "phone", "UNIT": "unit", "ADDRESS": "address", "DOB": "date_of_birth"}
        for entity in extract_patterns(text):
            if entity.kind in rules:
                category = rules[entity.kind]
                spans.append(
                    TextSpan(entity.start, entity.end, category, self.policy.replacement(category))
                )
        if not self.policy.spoken_phones:
            spans = [
                s for s in spans if s.category != "phone" or re.search(r"\d", text[s.start : s.end])
            ]
        for phone in find_phones(text):
            if self.policy.spoken_phones or re.search(r"\d", phone.text):
                spans.append(
                    TextSpan(phone.start, phone.end, "phone", self.policy.replacement("phone"))
                )
        for m in EN_DOB_RE.finditer(text):
            spans.append(
                TextSpan(
                    m.start(1), m.end(1), "date_of_birth", self.policy.replacement("date_of_birth")
                )
            )
        for iso in self.found.dates:
            for m in re.finditer(date_pattern(iso), text, re.IGNORECASE):
                spans.append(
                    TextSpan(
                        m.start(),
                        m.end(),
                        "date_of_birth",
                        self.policy.replacement("date_of_birth"),
                    )
                )
        for m in EN_ADDRESS_RE.finditer(text):
            spans.append(
                TextSpan(m.start(), m.end(), "address", self.policy.replacement("address"))
            )
        for m in EN_UNIT_RE.finditer(text):
            spans.append(TextSpan(m.start(1), m.end(1), "unit", self.policy.replacement("unit")))
        spans += self._english_number_spans(text)
        return [s for s in spans if self.policy.redacts(s.category)]

    def _english_number_spans(self, text: str) -> list[TextSpan]:
        """Phone and unit numbers said in English words ("nine one six, double five ...")."""
        spans: list[TextSpan] = []
        for run in english_number_runs(text, min_digits=4):
            span = self._digit_span(run.start, run.end, run.digits)
            if span is None and self.policy.spoken_phones and len(run.digits) >= 7:
                span = TextSpan(run.start, run.end, "phone", self.policy.replacement("phone"))
            if span is not None:
                spans.append(span)
        return spans

    def redact(
        self,
        text: str,
        first_pass: Iterable[TextSpan] = (),
        slang: Sequence[tuple[int, int]] = (),
    ) -> RedactedText:
        """Second pass: apply entity spans, known and learnt terms and patterns to `text`."""
        spans = [*first_pass, *self._term_spans(text, slang), *self._pattern_spans(text)]
        spans = [s for s in spans if self.policy.redacts(s.category)]
        return _apply(text, _merge(text, spans, self))


def _overlap(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def _capitalised_names(text: str) -> list[Entity]:
    """Capitalised words pymorphy reads as first names that NER passed over ("Олечке")."""
    from earshot.language.morph import analyzer
    from earshot.language.names import first_names

    found: list[Entity] = []
    for m in _CYR_WORD_RE.finditer(text):
        word = m.group(0)
        if not word[:1].isupper() or len(word) < 3:
            continue
        named = bool(first_names(word)) or any(
            "Name" in p.tag and p.tag.POS == "NOUN" for p in analyzer().parse(word.lower())
        )
        if named:
            found.append(Entity("PER", m.start(), m.end(), word, word))
    return found


def _merge(text: str, spans: list[TextSpan], redactor: Redactor) -> list[TextSpan]:
    """Overlapping spans become one (the higher-priority category); adjacent name words of
    one person become one pseudonym ("Шапкин Денис Алексеевич" -> "Soldier 3")."""
    if not spans:
        return []
    ordered = sorted(spans, key=lambda s: (s.start, -s.end, _PRIORITY.index(s.category)))
    merged: list[TextSpan] = []
    for span in ordered:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            best = min((last, span), key=lambda s: _PRIORITY.index(s.category))
            persons = last.persons | span.persons if best.category == "person" else best.persons
            if best.category == "person" and last.category == span.category == "person":
                persons = (last.persons & span.persons) or last.persons | span.persons
            replacement = (
                redactor._person_replacement(persons)
                if best.category == "person"
                else best.replacement
            )
            merged[-1] = TextSpan(
                last.start, max(last.end, span.end), best.category, replacement, persons
            )
            continue
        if (
            merged
            and span.category == merged[-1].category == "person"
            and not text[merged[-1].end : span.start].strip()
        ):
            last = merged[-1]
            common = last.persons & span.persons
            if common or not last.persons or not span.persons:
                persons = common or last.persons | span.persons
                merged[-1] = TextSpan(
                    last.start, span.end, "person", redactor._person_replacement(persons), persons
                )
                continue
        merged.append(span)
    return merged


def _apply(text: str, spans: list[TextSpan]) -> RedactedText:
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(text[pos : span.start])
        parts.append(span.replacement)
        pos = span.end
    parts.append(text[pos:])
    return RedactedText("".join(parts), tuple(spans))
