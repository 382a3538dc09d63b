"""The language stage: entities, linked persons and places, slang and themes of each call.

It reads the call's *current* verbatim transcript (see :func:`current_transcript`) and
replaces the call's previous analysis in one transaction, so running it twice leaves
one analysis and a new transcript or a new person in the case simply re-runs it.
Natasha's taggers are batched over all segments of a call (and, in
:func:`analyze_case`, over several calls), because per-call overhead dominates on
short telephone segments.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from earshot.errors import EarshotError
from earshot.language.analysis_store import (
    current_transcript,
    known_persons,
    replace_analyses,
    segments_by_call,
    segments_of,
)
from earshot.language.case_lexicon import reapply_case_lexicon
from earshot.language.entities import Entity, EntityExtractor, extract_patterns
from earshot.language.linking import (
    initials,
    inside_slang,
    known_word,
    may_name_something,
    weigh_initials,
)
from earshot.language.morph import lemma
from earshot.language.names import (
    KnownPerson,
    PersonDirectory,
    first_names,
    public_figure,
)
from earshot.language.places import Place, gazetteer
from earshot.language.slang import SlangHit, SlangMatcher, default_matcher
from earshot.language.themes import ThemeHit, ThemeTagger, default_tagger
from earshot.stages import StageInfo, StageOutcome
from earshot.store.batches import batched
from earshot.store.models import Call, Segment, Transcript
from earshot.versions import package_version
from earshot.vocab import StageStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from earshot.store.case import Case

__all__ = [
    "AnalysisOptions",
    "AnalysisReport",
    "CallAnalysis",
    "LanguageAnalyzer",
    "LanguageStage",
    "LinkedEntity",
    "SegmentAnalysis",
    "analyze_case",
    "current_transcript",
    "known_persons",
]

ProgressCallback = Callable[[int, int, int], None]  # (call_id, done, total)


@dataclass(frozen=True)
class AnalysisOptions:
    """`min_person_score`: weakest name match that links a mention to a Person (a bare
    diminutive scores 0.45); `max_places`: gazetteer candidates kept per place mention;
    `calls_per_batch`: calls whose segments go through Natasha together; `workers`:
    analysis processes in :func:`analyze_case` (0: one per available core), used only
    from `pool_min_segments` segments on: one process analyses ~1,400 segments per
    CPU-second and the pool's cold start (loading the models) takes ~4-9 s, so on two
    cores it pays off only for runs of well over ten thousand segments."""

    min_person_score: float = 0.45
    max_places: int = 10
    calls_per_batch: int = 16
    workers: int = 0
    pool_min_segments: int = 20_000


@dataclass(frozen=True)
class LinkedEntity:
    """An entity with the Person it names and the places it may be (best first)."""

    entity: Entity
    person_id: int | None = None
    person_score: float | None = None
    places: tuple[Place, ...] = ()
    figure: str | None = None


@dataclass(frozen=True)
class SegmentAnalysis:
    entities: tuple[LinkedEntity, ...]
    slang: tuple[SlangHit, ...]
    themes: tuple[ThemeHit, ...]


@dataclass(frozen=True)
class CallAnalysis:
    segments: tuple[SegmentAnalysis, ...]
    themes: tuple[str, ...]


@dataclass
class AnalysisReport:
    """What :func:`analyze_case` did: counts per kind, calls without a transcript."""

    info: StageInfo
    calls: int = 0
    segments: int = 0
    entities: dict[str, int] = field(default_factory=dict)
    slang: int = 0
    themes: dict[str, int] = field(default_factory=dict)
    without_transcript: list[int] = field(default_factory=list)
    workers: int = 1
    analysis_cpu_s: float = 0.0  # CPU time of the analysis itself (workers' or this process')

    def as_dict(self) -> dict[str, Any]:
        return {
            "info": self.info.as_dict(),
            "calls": self.calls,
            "segments": self.segments,
            "entities": dict(sorted(self.entities.items())),
            "slang": self.slang,
            "themes": dict(sorted(self.themes.items())),
            "without_transcript": self.without_transcript,
            "workers": self.workers,
        }


# ---------------------------------------------------------------- the analyzer


@cache
def _extractor() -> EntityExtractor:
    return EntityExtractor()


def _data_digest() -> str:
    """Digest of the language data files: an edited lexicon means a new analysis."""
    digest = hashlib.sha256()
    data = resources.files("earshot.language") / "data"
    for item in sorted(data.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            digest.update(item.name.encode() + b"\0" + item.read_bytes())
    return digest.hexdigest()[:12]


class LanguageAnalyzer:
    """Runs NER, linking, slang and themes over a call's segment texts (no database)."""

    def __init__(
        self,
        options: AnalysisOptions | None = None,
        *,
        extractor: EntityExtractor | None = None,
        matcher: SlangMatcher | None = None,
        tagger: ThemeTagger | None = None,
    ) -> None:
        self.options = options or AnalysisOptions()
        self.extractor = extractor or _extractor()
        self.matcher = matcher or default_matcher()
        self.tagger = tagger or default_tagger()
        self.gazetteer = gazetteer()
        self._initials: dict[str, list[str]] = {}

    def analyze_many(
        self,
        calls: Sequence[Sequence[str]],
        directory: PersonDirectory,
        persons: Sequence[KnownPerson] = (),
    ) -> list[CallAnalysis]:
        """Analyse several calls' segment texts with one batched NER pass.

        `persons` (those `directory` was built from) lets initials in call records
        ("Шапкин Д.А.") confirm or rule out a surname match.
        """
        self._initials = {p.id: initials(p.names) for p in persons}
        flat = [text for texts in calls for text in texts]
        entities: list[list[Entity]] = [[] for _ in flat]
        needs_ner = [i for i, text in enumerate(flat) if may_name_something(text)]
        for i, found in zip(
            needs_ner,
            self.extractor.extract_many([flat[i] for i in needs_ner], known_word(directory)),
            strict=True,
        ):
            entities[i] = found
        for i in set(range(len(flat))) - set(needs_ner):
            entities[i] = extract_patterns(flat[i])
        out: list[CallAnalysis] = []
        pos = 0
        for texts in calls:
            segments: list[SegmentAnalysis] = []
            slang_hits = [self.matcher.find(text) for text in texts]
            themes, call_themes = self.tagger.tag_segments(texts, slang_hits)
            for text, found, slang, hits in zip(
                texts, entities[pos : pos + len(texts)], slang_hits, themes, strict=True
            ):
                found = found + self._places_missed(text, found)
                kept = [e for e in found if not inside_slang(e, slang)]
                linked = tuple(self._link(e, directory) for e in kept)
                segments.append(SegmentAnalysis(linked, tuple(slang), tuple(hits)))
            pos += len(texts)
            out.append(CallAnalysis(tuple(segments), tuple(call_themes)))
        return out

    def analyze(
        self,
        texts: Sequence[str],
        directory: PersonDirectory,
        persons: Sequence[KnownPerson] = (),
    ) -> CallAnalysis:
        return self.analyze_many([texts], directory, persons)[0]

    def _places_missed(self, text: str, found: Sequence[Entity]) -> list[Entity]:
        """Towns NER missed: "Иваново, ул. Сосновая" or "под Клещеевкой".

        Only a capitalised word right before an address, or after a place preposition,
        that is no first name and geocodes to a UA/RU place, counts (precision first).
        """
        addresses = {e.start for e in found if e.kind == "ADDRESS"}
        out: list[Entity] = []
        for m in _PLACE_CANDIDATE_RE.finditer(text):
            start, end = m.span("word")
            word = m.group("word")
            before_address = any(a >= end and not text[end:a].strip(" ,") for a in addresses)
            if not (before_address or m.group("prep")):
                continue
            if any(e.start < end and start < e.end for e in found) or first_names(word):
                continue
            places = self.gazetteer.geocode(word)
            if places and places[0].country in ("UA", "RU"):
                out.append(Entity("LOC", start, end, word, lemma(word).capitalize()))
        return out

    def _link(self, entity: Entity, directory: PersonDirectory) -> LinkedEntity:
        if entity.kind == "PER":
            figure = public_figure(entity.normal) or public_figure(entity.text)
            if figure is not None:
                return LinkedEntity(entity, figure=figure.name)
            matches = directory.match(entity.text) or directory.match(entity.normal)
            matches = weigh_initials(matches, entity.text, self._initials)
            if matches and matches[0].score >= self.options.min_person_score:
                tied = len(matches) > 1 and matches[1].score == matches[0].score
                if not tied:
                    return LinkedEntity(entity, int(matches[0].person_id), matches[0].score)
            return LinkedEntity(entity)
        if entity.kind == "LOC":
            places = self.gazetteer.geocode(entity.text) or self.gazetteer.geocode(entity.normal)
            return LinkedEntity(entity, places=tuple(places[: self.options.max_places]))
        return LinkedEntity(entity)


_PLACE_CANDIDATE_RE = re.compile(
    r"(?:(?P<prep>\b(?:в|во|под|из|от|до|около|возле|под|за)\s+)|(?<![А-ЯЁа-яё-]))"
    r"(?P<word>[А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё][а-яё]+)*)"
)
# ---------------------------------------------------------------- the stage


class LanguageStage:
    """Pipeline stage "language": runs after "transcript", on the CPU."""

    name = "language"
    after: tuple[str, ...] = ("transcript",)
    wants_gpu = False

    def __init__(self, options: AnalysisOptions | None = None) -> None:
        self.options = options or AnalysisOptions()
        self._analyzer: LanguageAnalyzer | None = None

    @property
    def analyzer(self) -> LanguageAnalyzer:
        if self._analyzer is None:
            self._analyzer = LanguageAnalyzer(self.options)
        return self._analyzer

    def info(self) -> StageInfo:
        return StageInfo(
            stage=self.name,
            engine="earshot-language",
            version=f"{package_version('earshot')}+data.{_data_digest()}",
            model=f"natasha-{package_version('natasha')}",
            options={
                "min_person_score": self.options.min_person_score,
                "max_places": self.options.max_places,
            },
        )

    def inputs(self, session: Session, call_id: int) -> str:
        """Digest of the current transcript's segments and of the case's person names."""
        transcript = current_transcript(session, call_id)
        body: dict[str, Any] = {"transcript": transcript.id if transcript else None}
        if transcript is not None:
            body["segments"] = [
                [row.id, row.text]
                for row in session.execute(
                    select(Segment.id, Segment.text)
                    .where(Segment.transcript_id == transcript.id)
                    .order_by(Segment.idx)
                )
            ]
        body["persons"] = [[p.id, list(p.names), list(p.aliases)] for p in known_persons(session)]
        encoded = json.dumps(body, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(encoded.encode()).hexdigest()[:16]

    def run(self, case: Case, call_id: int) -> StageOutcome:
        with case.session() as session:
            if session.get(Call, call_id) is None:
                raise EarshotError(
                    f"call {call_id} does not exist in this case; see `earshot calls`"
                )
            segments = segments_of(session, call_id)
            if not segments:
                return StageOutcome(StageStatus.SKIPPED, {"reason": "no verbatim transcript"})
            persons = known_persons(session)
            directory = PersonDirectory(persons)
            analysis = self.analyzer.analyze([s.text for s in segments], directory, persons)
            replace_analyses(session, [(call_id, segments, analysis)], self.info().key)
            reapply_case_lexicon(session, [call_id])
        return StageOutcome(StageStatus.DONE, _counts(analysis))


def _counts(analysis: CallAnalysis) -> dict[str, Any]:
    entities: dict[str, int] = {}
    for segment in analysis.segments:
        for linked in segment.entities:
            entities[linked.entity.kind] = entities.get(linked.entity.kind, 0) + 1
    return {
        "segments": len(analysis.segments),
        "entities": entities,
        "slang": sum(len(s.slang) for s in analysis.segments),
        "themes": list(analysis.themes),
    }


def _workers_for(session: Session, call_ids: Sequence[int], options: AnalysisOptions) -> int:
    """How many processes to analyse with: one per core once there is enough text.

    Starting a worker loads the models again (seconds), so a few calls stay in-process.
    """
    from earshot.language.pool import available_cores

    workers = options.workers or available_cores()
    if workers <= 1:
        return 1
    verbatim = select(Transcript.id).where(
        Transcript.call_id.in_(call_ids), Transcript.kind == "verbatim"
    )
    count = session.execute(
        select(func.count()).select_from(Segment).where(Segment.transcript_id.in_(verbatim))
    ).scalar_one()
    return workers if count >= options.pool_min_segments else 1


def analyze_case(
    case: Case,
    *,
    call_ids: Sequence[int] | None = None,
    progress: ProgressCallback | None = None,
    options: AnalysisOptions | None = None,
) -> AnalysisReport:
    """Analyse the calls (default: all) of `case`, replacing their previous analysis.

    Calls are written a chunk (`calls_per_batch`) per transaction, so a call is never
    left half-replaced and an interrupted run loses at most the chunk in progress.

    Large runs analyse in worker processes (see :mod:`earshot.language.pool`) while
    this process reads transcripts ahead and writes the results.
    """
    stage = LanguageStage(options)
    info = stage.info()
    report = AnalysisReport(info)
    with case.session() as session:
        existing = list(session.execute(select(Call.id).order_by(Call.id)).scalars())
        if call_ids is not None:
            missing = sorted(set(call_ids) - set(existing))
            if missing:
                raise EarshotError(
                    f"no call with id {', '.join(map(str, missing))} in this case; "
                    "see `earshot calls`"
                )
            existing = [c for c in existing if c in set(call_ids)]
        persons = tuple(known_persons(session))
        workers = _workers_for(session, existing, stage.options) if existing else 1
    directory = PersonDirectory(persons)
    chunks = list(batched(existing, stage.options.calls_per_batch))
    texts: dict[int, list[str]] = {}

    def read(chunk: Sequence[int]) -> list[list[str]]:
        with case.session() as session:
            for call_id, segments in segments_by_call(session, chunk).items():
                texts[call_id] = [s.text for s in segments]
        return [texts[c] for c in chunk if texts[c]]

    def analysed(
        results: Iterable[list[CallAnalysis]],
    ) -> Iterable[list[tuple[int, CallAnalysis | None]]]:
        for chunk, found in zip(chunks, results, strict=True):
            by_call = iter(found)
            yield [(c, next(by_call) if texts[c] else None) for c in chunk]

    if workers > 1:
        from earshot.language.pool import AnalysisPool

        with AnalysisPool(workers, stage.options) as pool:
            work = pool.map((read(chunk), persons) for chunk in chunks)
            _store_all(case, stage, analysed(work), texts, report, (progress, len(existing)))
        report.analysis_cpu_s = pool.cpu_seconds
    else:

        def analyse(chunk: Sequence[int]) -> list[CallAnalysis]:
            calls = read(chunk)
            started = time.process_time()
            found = stage.analyzer.analyze_many(calls, directory, persons)
            report.analysis_cpu_s += time.process_time() - started
            return found

        _store_all(
            case, stage, analysed(map(analyse, chunks)), texts, report, (progress, len(existing))
        )
    report.workers = workers
    if existing:
        with case.session() as session:  # re-analysis replaced the case lexicon's hits too
            reapply_case_lexicon(session, existing)
    return report


def _store_all(
    case: Case,
    stage: LanguageStage,
    results: Iterable[list[tuple[int, CallAnalysis | None]]],
    texts: dict[int, list[str]],
    report: AnalysisReport,
    progress: tuple[ProgressCallback | None, int],
) -> None:
    """Write each chunk of calls in one transaction, re-analysing a call changed meanwhile.

    `texts` is filled as `results` reads ahead: the segment texts each call was analysed on.
    """
    key = report.info.key
    done = 0
    for chunk in results:
        with case.session() as session:
            ready: list[tuple[int, Sequence[Segment], CallAnalysis]] = []
            now = segments_by_call(session, [call_id for call_id, _ in chunk])
            for call_id, analysis in chunk:
                if analysis is None:
                    report.without_transcript.append(call_id)
                    continue
                segments = now[call_id]
                if [s.text for s in segments] != texts[call_id]:
                    persons = known_persons(session)
                    analysis = stage.analyzer.analyze(
                        [s.text for s in segments], PersonDirectory(persons), persons
                    )
                ready.append((call_id, segments, analysis))
            replace_analyses(session, ready, key)
        stored = {call_id: analysis for call_id, _, analysis in ready}
        for call_id, _ in chunk:
            done += 1
            if call_id in stored:
                _add_counts(report, stored[call_id])
            if progress[0] is not None:
                progress[0](call_id, done, progress[1])


def _add_counts(report: AnalysisReport, analysis: CallAnalysis) -> None:
    counts = _counts(analysis)
    report.calls += 1
    report.segments += counts["segments"]
    report.slang += counts["slang"]
    for kind, n in counts["entities"].items():
        report.entities[kind] = report.entities.get(kind, 0) + n
    for theme in analysis.themes:
        report.themes[theme] = report.themes.get(theme, 0) + 1
