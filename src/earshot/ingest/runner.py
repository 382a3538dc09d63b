"""`earshot ingest`: take files, folders and zip archives into a case, with custody.

Order of work for each audio file, chosen so that a kill at any instant leaves
nothing half-written and a re-run completes the batch:

1. a worker copies the bytes into the media store while hashing them (atomic rename),
2. the worker decodes the stored copy into working copies (an atomic directory rename),
3. the main process records original, sighting, call, parties, working copies and the
   custody entry in ONE database transaction.

A kill before 3 leaves only content-addressed files that the re-run finds and reuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select

from ..errors import EarshotError
from ..store.case import Case
from ..store.custody import append_custody
from ..store.failures import record_failure, resolve_failure
from ..store.models import Batch, Call, Original, Sighting, utcnow
from .apply_records import RecordOutcome, apply_records
from .discover import AUDIO_SUFFIXES, SIDECAR_SUFFIXES, InputFile, discover
from .filenames import NamePattern, load_patterns, read_file_name
from .fingerprint import fpcalc_path, probable_twins
from .isolated import run_isolated
from .mapping import load_mapping
from .recorder import AudioRecorder, FileResult
from .records import CallRecord, read_record_table
from .transcripts import match_sidecars
from .worker import TakeIn, TakenIn

__all__ = ["FileResult", "IngestOptions", "IngestProgress", "IngestReport", "ingest"]

TABLE_SUFFIXES = frozenset({".xlsx", ".xlsm", ".ods", ".xls", ".tsv"})


@dataclass(frozen=True)
class IngestOptions:
    source: str | None = None
    metadata: Path | None = None
    workers: int | None = None  # None: the case settings
    follow_symlinks: bool = False  # only links to files inside the folder being ingested
    mapping: Path | None = None  # YAML: which column of the call records is which
    encoding: str | None = None  # of the call records; None: detected
    sheet: str | None = None  # of a call-records workbook; None: the first
    timezone: str | None = None  # of naive record and file-name times; None: the case's
    name_patterns: Path | None = None  # YAML: the user's own recorder file-name patterns
    tolerance: float = 120.0  # seconds between a record's time and its recording's
    fingerprints: bool = True  # look for the same conversation in another codec


@dataclass
class IngestReport:
    batch_id: int
    files: list[FileResult] = field(default_factory=list)
    records: RecordOutcome = field(default_factory=RecordOutcome)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said once: zones, encodings, attachments
    near_duplicates: list[dict[str, Any]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch_id,
            "counts": {
                s: self.count(s) for s in ("new", "duplicate", "unchanged", "failed", "skipped")
            },
            "records": {
                "applied": self.records.applied,
                "unchanged": self.records.unchanged,
                "failed": self.records.failed,
                "without_audio": self.records.without_audio,
                "matched_by_time": self.records.matched_by_time,
            },
            "files": [f.__dict__ for f in self.files],
            "errors": self.errors,
            "notes": self.notes,
            "near_duplicates": self.near_duplicates,
        }


class IngestProgress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, result: FileResult) -> None: ...


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, result: FileResult) -> None:
        pass


def classify_inputs(
    items: list[InputFile],
) -> tuple[list[InputFile], list[InputFile], list[InputFile]]:
    """Split inputs into audio candidates, sidecar candidates and CSVs.

    Anything that is neither a sidecar nor a CSV is tried as audio: intercept systems
    use odd extensions, and a file that does not decode is reported, not ignored.
    """
    audio, sidecars, csvs = [], [], []
    for item in items:
        if item.suffix in AUDIO_SUFFIXES:
            audio.append(item)
        elif item.suffix in SIDECAR_SUFFIXES:
            sidecars.append(item)
        elif item.suffix == ".csv" or item.suffix in TABLE_SUFFIXES:
            csvs.append(item)
        else:
            audio.append(item)
    return audio, sidecars, csvs


# One worker process ingests ~30 MB/s of telephone audio and each extra one costs its
# start-up, so several only pay for themselves on batches larger than this.
POOL_MIN_BYTES = 128 * 1024 * 1024


def _run_workers(tasks: Sequence[TakeIn], workers: int) -> Iterator[TakenIn]:
    """Store and decode in child processes, always: a decoder crash costs one file."""
    total = sum(max(task.item.size, 0) for task in tasks)
    if total < POOL_MIN_BYTES:
        workers = 1
    yield from run_isolated(tasks, workers)


def _read_records(
    case: Case, options: IngestOptions, batch_id: int, report: IngestReport
) -> tuple[list[CallRecord], str]:
    metadata = options.metadata
    assert metadata is not None
    display = str(metadata.resolve()) if metadata.exists() else str(metadata)
    key = f"records:{display}"
    zone = options.timezone or case.settings.timezone
    try:
        mapping = (
            load_mapping(options.mapping, region=case.settings.region) if options.mapping else None
        )
        table = read_record_table(
            metadata,
            region=case.settings.region,
            timezone=zone,
            mapping=mapping,
            encoding=options.encoding,
            sheet=options.sheet,
        )
    except (EarshotError, ValueError) as exc:  # RecordError, ConfigError, a bad --encoding
        with case.session() as session:
            record_failure(
                session,
                key=key,
                stage="records",
                path=display,
                message=str(exc),
                batch_id=batch_id,
            )
        report.errors.append(str(exc))
        return [], display
    records, problems = table.records, table.problems
    if table.encoding and table.encoding != "utf-8":
        report.notes.append(f"{metadata.name}: read as {table.encoding}")
    if table.naive_times:
        report.notes.append(
            f"{metadata.name}: {table.naive_times} time(s) without a UTC offset were read in "
            f"{table.timezone}, the case time zone (use --timezone for a batch from elsewhere)"
        )
    with case.session() as session:
        resolve_failure(session, key)
        with metadata.open("rb") as fh:
            sha, size = case.media.put_stream(
                fh, max_bytes=case.settings.max_file_bytes, name=display
            )
        if session.get(Original, sha) is None:
            session.add(
                Original(
                    sha256=sha,
                    kind="records",
                    size=size,
                    stored_path=case.media.relative_original(sha),
                )
            )
            session.flush()
        if (
            session.execute(
                select(Sighting.id).where(Sighting.sha256 == sha, Sighting.original_path == display)
            ).first()
            is None
        ):
            session.add(
                Sighting(
                    sha256=sha,
                    batch_id=batch_id,
                    original_path=display,
                    file_name=metadata.name,
                    source=None,
                    operator=case.settings.operator,
                )
            )
            append_custody(
                session,
                operator=case.settings.operator,
                action="records-received",
                sha256=sha,
                path=display,
                detail={"rows": len(records), "batch": batch_id},
            )
        for problem in problems:
            message = f"{metadata.name} {problem.message}"
            record_failure(
                session,
                key=f"record:{display}:{problem.row}",
                stage="records",
                path=display,
                row=problem.row,
                message=message,
                batch_id=batch_id,
            )
            report.errors.append(message)
    return records, display


def _near_duplicates(case: Case, report: IngestReport, batch_id: int) -> None:
    """Fingerprint the batch's new calls and flag (never merge) probable duplicates."""
    new_calls = sorted({f.call_id for f in report.files if f.status == "new" and f.call_id})
    if not new_calls:
        return
    fpcalc = fpcalc_path()
    if fpcalc is None:
        report.notes.append(
            "near-duplicate recordings were not looked for: Chromaprint's fpcalc is not "
            "installed (apt-get install libchromaprint-tools)"
        )
        return
    for call_id in new_calls:
        with case.session() as session:
            call = session.get(Call, call_id)
            if call is None:
                continue
            for link in probable_twins(case, session, call, fpcalc, batch_id=batch_id):
                report.near_duplicates.append(
                    {
                        "call": link.call_id,
                        "twin": link.twin_call_id,
                        "similarity": link.similarity,
                        "basis": link.basis,
                    }
                )


def ingest(
    case: Case,
    paths: Iterable[Path],
    options: IngestOptions | None = None,
    progress: IngestProgress | None = None,
) -> IngestReport:
    """Ingest `paths` into `case`. Bad inputs are reported and recorded, never fatal."""
    options = options or IngestOptions()
    progress = progress or _NoProgress()
    paths = [Path(p) for p in paths]
    settings = case.settings
    case.media.unlock()  # an encrypted case with a wrong or missing key: fail before writing
    with case.exclusive("ingest"):
        with case.session() as session:
            for stale in session.execute(select(Batch).where(Batch.status == "running")).scalars():
                stale.status = "interrupted"
            batch = Batch(
                operator=settings.operator,
                source=options.source,
                inputs=[str(p) for p in paths],
                status="running",
            )
            session.add(batch)
            session.flush()
            batch_id = batch.id
        report = IngestReport(batch_id)
        records: list[CallRecord] = []
        csv_display = ""
        if options.metadata is not None:
            records, csv_display = _read_records(case, options, batch_id, report)
        by_file: dict[str, CallRecord] = {r.file: r for r in records if r.file is not None}
        patterns: list[NamePattern] = (
            load_patterns(options.name_patterns) if options.name_patterns else []
        )
        zone = options.timezone or settings.timezone

        items, problems = discover(
            paths,
            max_zip_total=settings.zip_max_total_bytes,
            max_zip_ratio=settings.zip_max_ratio,
            exclude=[options.metadata] if options.metadata else [],
            follow_symlinks=options.follow_symlinks,
        )
        audio, sidecar_items, csvs = classify_inputs(items)
        matches, orphans = match_sidecars(audio, sidecar_items)
        progress.start(len(audio) + sum(not p.notice for p in problems) + len(orphans) + len(csvs))
        recorder = AudioRecorder(case, batch_id, options.source, tolerance=options.tolerance)

        with case.session() as session:
            for problem in problems:
                if problem.notice:
                    report.notes.append(problem.message)
                    continue
                if problem.skipped:
                    result = FileResult(problem.path, "skipped", message=problem.message)
                    report.files.append(result)
                    progress.advance(result)
                    continue
                record_failure(
                    session,
                    key=f"input:{problem.path}",
                    stage="ingest",
                    path=problem.path,
                    message=problem.message,
                    batch_id=batch_id,
                )
                result = FileResult(problem.path, "failed", message=problem.message)
                report.files.append(result)
                progress.advance(result)
            for orphan in orphans:
                message = (
                    f"{orphan.display}: sidecar transcript without an audio file named "
                    f"{orphan.stem}.* beside it; put it next to its audio or rename it"
                )
                record_failure(
                    session,
                    key=f"sidecar:{orphan.display}",
                    stage="sidecar",
                    path=orphan.display,
                    message=message,
                    batch_id=batch_id,
                )
                result = FileResult(orphan.display, "failed", message=message)
                report.files.append(result)
                progress.advance(result)
            for csv_item in csvs:
                result = FileResult(
                    csv_item.display,
                    "skipped",
                    message="table not read as call records; pass it with --metadata",
                )
                report.files.append(result)
                progress.advance(result)

        media_key = case.media.data_key()  # travels in memory only
        tasks = [
            TakeIn(
                item,
                str(case.path),
                settings.max_file_bytes,
                settings.max_audio_seconds,
                media_key=media_key,
            )
            for item in audio
        ]
        workers = options.workers or settings.workers
        for taken in _run_workers(tasks, workers):
            facts = read_file_name(
                taken.item.name, region=settings.region, timezone=zone, extra=patterns
            )
            with case.session() as session:
                result = recorder.audio(
                    session,
                    taken,
                    matches.get(taken.item.display, []),
                    by_file.get(taken.item.name),
                    facts,
                )
            report.files.append(result)
            progress.advance(result)

        if options.fingerprints:  # before the records: a row describes both twins
            _near_duplicates(case, report, batch_id)
        if records:
            with case.session() as session:
                report.records = apply_records(
                    session,
                    records,
                    csv_display=csv_display,
                    batch_id=batch_id,
                    batch_calls=recorder.batch_calls,
                    operator=settings.operator,
                    media=case.media,
                    max_bytes=settings.max_file_bytes,
                    tolerance=options.tolerance,
                )
        if recorder.attached:
            report.notes.append(
                f"{recorder.attached} recording(s) attached to calls known from earlier call "
                "records"
            )
        with case.session() as session:
            from ..store.failures import list_failures

            open_failures = [f.message for f in list_failures(session) if f.batch_id == batch_id]
            for message in open_failures:
                if message not in report.errors:
                    report.errors.append(message)
            batch_row = session.get(Batch, batch_id)
            assert batch_row is not None
            batch_row.status = "done"
            batch_row.finished_at = utcnow()
            batch_row.counts = report.as_dict()["counts"]
    return report
