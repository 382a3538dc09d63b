"""Response models of the JSON API: what OpenAPI documents for every answer.

They mirror the library's records (``as_dict()`` of :class:`~earshot.identity.report.
PersonReport`, :class:`~earshot.edits.TranslationRecord`, ...) and the views shaped from
them. Each allows extra keys, so a field the library adds reaches API clients at once;
the declared ones are what clients may rely on.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ..vocab import AttributionBasis, JobStatus, LinkStatus, VerificationStatus, VoiceLinkStatus

__all__ = [
    "CallDetail",
    "CallsPage",
    "CaseOverview",
    "ExportDocument",
    "Graph",
    "JobRecord",
    "Me",
    "Peaks",
    "PersonReport",
    "PersonSummary",
    "Place",
    "PseudonymRow",
    "QuotePreview",
    "QuoteRow",
    "SearchPage",
    "Trends",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CaseRole(_Open):
    id: str
    name: str
    role: str


class Me(_Open):
    username: str
    cases: list[CaseRole]


class ThemeCount(_Open):
    theme: str
    calls: int


class CaseOverview(_Open):
    id: str
    name: str
    role: str
    calls: int
    hours: float
    persons: int
    phones: int
    calls_by_status: dict[str, int]
    open_failures: int
    themes: list[ThemeCount]
    stages: list[dict[str, Any]]
    translations: dict[str, int]


class CallRow(_Open):
    id: int
    source_file: str
    started_at: str | None
    duration: float
    status: str
    caller: str | None
    callee: str | None
    caller_person: str | None
    callee_person: str | None
    themes: list[str]
    translation: dict[str, int]


class CallsPage(_Open):
    calls: list[CallRow]
    total: int
    themes: list[str]
    statuses: list[str]


class SegmentView(_Open):
    id: int
    idx: int
    start: float | None
    end: float | None
    party: str | None
    speaker: str
    text: str
    pieces: list[dict[str, Any]]
    themes: list[str]
    translation: dict[str, Any] | None


class TranscriptView(_Open):
    id: int
    source: str
    language: str | None
    engine: dict[str, Any]


class CallDetail(_Open):
    """``earshot.analysis.call_detail``'s record, as `earshot call CASE CALL --json`."""

    call: dict[str, Any]
    location: str | None
    notes: str | None
    attributes: dict[str, Any] | None
    transcript: TranscriptView | None
    segments: list[SegmentView]
    speakers: list[str]
    themes: list[str]


class PersonSummary(_Open):
    id: int
    name: str
    aliases: list[str]
    role: str | None
    status: VerificationStatus
    phones: list[str]
    calls: int = 0
    call_sides: int
    side_roles: dict[str, int] = {}


class Attribution(_Open):
    link_id: int
    basis: AttributionBasis
    status: LinkStatus
    score: float | None
    actor: str | None
    decided_by: str | None
    note: str | None


class CallSide(_Open):
    call_id: int
    started_at: str | None
    party: str
    phone: str | None
    basis: AttributionBasis | None
    attribution: Attribution | None
    status: VerificationStatus
    other: dict[str, Any] | None


class VoiceMatchRow(_Open):
    id: int | None
    call_a: int
    party_a: str
    call_b: int
    party_b: str
    score: float | None
    status: VoiceLinkStatus
    decided_by: str | None


class PersonReport(_Open):
    """The identity library's person report (``earshot person show --json``)."""

    id: int
    name: str
    aliases: list[str]
    protected: bool
    status: VerificationStatus
    status_history: list[dict[str, Any]]
    phones: list[dict[str, Any]]
    calls: list[CallSide]
    voice_matches: list[VoiceMatchRow]
    evidence: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    link_history: list[dict[str, Any]]
    merges: list[dict[str, Any]]
    splits: list[dict[str, Any]]


class SearchHitView(_Open):
    call_id: int
    segment_id: int
    start: float | None
    speaker: str | None
    kind: str
    text: str
    highlights: list[list[int]]


class SearchPage(_Open):
    query: str
    hits: list[SearchHitView]
    facets: dict[str, list[Any]]
    engine: str | None
    error: str | None


class Trends(_Open):
    interval: str
    periods: list[str]
    calls: list[int] = []  # analysed calls per period
    thin: list[bool] = []  # periods under min_calls: shown greyed
    min_calls: int = 0
    series: dict[str, list[dict[str, Any]]]


class Place(_Open):
    name: str
    lat: float
    lon: float
    country: str | None
    war_zone: bool | None
    calls: list[int]
    mentions: int
    record_calls: list[int] = []


class GraphNode(_Open):
    id: str
    kind: str | None
    label: str
    person_id: int | None


class GraphLink(_Open):
    source: str
    target: str
    kind: str
    calls: int
    call_ids: list[int]


class Graph(_Open):
    nodes: list[GraphNode]
    links: list[GraphLink]


class QuoteRow(_Open):
    id: int
    call_id: int
    start: float
    end: float
    text: str
    verbatim: str
    rewritten: bool
    unapproved: bool
    original_sha256: str | None
    translator: str | None
    approver: str | None


class Peaks(_Open):
    duration: float
    channels: int
    peaks: list[Any]


class QuotePreview(_Open):
    call_id: int
    first: int
    last: int
    start: float
    end: float
    verbatim: str
    text: str
    diff: list[dict[str, Any]]
    added: list[str]
    unmarked_cuts: list[str]
    unapproved: list[int]


class PseudonymRow(_Open):
    person_id: int
    name: str
    pseudonym: str
    kind: str
    set_by: str | None


class JobRecord(_Open):
    """``earshot.ingest.watch.JobSummary``, as `earshot jobs --json` lists it."""

    id: int
    kind: str
    target: str
    status: JobStatus
    operator: str
    pid: int | None
    started_at: str
    heartbeat_at: str
    finished_at: str | None
    files_taken: int
    batches: int
    counts: dict[str, int]
    message: str | None
    attempts: int = 0
    cancel_requested: bool = False
    queue: str = "local"
    progress: dict[str, Any] = {}
    failures: list[str] = []
    eta_seconds: float | None = None


class ExportDocument(_Open):
    """``earshot.publish.document.ExportDocument``: the JSON export (``format=json``), the
    file `earshot export --format json` writes; the calls as `docs/export.schema.json`."""

    warning: str
    format: str
    version: int
    redacted: bool
    calls: list[dict[str, Any]]
    case_lexicon: list[dict[str, Any]] | None = None
