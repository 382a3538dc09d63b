"""`earshot ingest --dry-run`: how columns map and which rows match which files; writes nothing.

Before a batch of strangers' material goes into the case's chain of custody, the person
ingesting it should see how Earshot reads it: which column became the caller, in which
encoding and time zone the table was read, what each recorder file name gives, and which
record row will land on which recording — or become a call without audio. The preview uses
the same readers and matching rules as the ingest itself and only reads the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..errors import EarshotError
from ..store.case import Case
from .discover import discover
from .filenames import NameFacts, load_patterns, read_file_name
from .mapping import load_mapping
from .matching import call_for_record
from .records import CallRecord, RecordTable, read_record_table
from .runner import IngestOptions, classify_inputs

__all__ = ["IngestPreview", "RowMatch", "preview_ingest"]


@dataclass(frozen=True)
class RowMatch:
    """Where one record row will go."""

    row: int
    started_at: str
    caller: str
    callee: str
    file: str | None  # the recording it lands on, if any
    basis: str  # file name | number pair and time | call already in the case | no recording

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IngestPreview:
    records_file: str | None = None
    encoding: str | None = None
    timezone: str | None = None
    naive_times: int = 0
    columns: list[dict[str, str]] = field(default_factory=list)
    rows: list[RowMatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "records_file": self.records_file,
            "encoding": self.encoding,
            "timezone": self.timezone,
            "naive_times": self.naive_times,
            "columns": self.columns,
            "rows": [r.as_dict() for r in self.rows],
            "problems": self.problems,
            "files": self.files,
            "errors": self.errors,
            "counts": {
                "rows": len(self.rows),
                "rows_with_recording": sum(r.file is not None for r in self.rows),
                "rows_without_recording": sum(r.file is None for r in self.rows),
                "files": len(self.files),
                "files_without_record": sum(f["record_row"] is None for f in self.files),
            },
        }


def _facts_dict(facts: NameFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {
        "pattern": facts.pattern,
        "app": facts.app,
        "number": facts.number,
        "name": facts.name,
        "direction": facts.direction,
        "started_at": facts.started_at.isoformat() if facts.started_at else None,
    }


def _by_numbers(
    record: CallRecord, facts: dict[str, NameFacts], tolerance: float, used: set[str]
) -> str | None:
    window = timedelta(seconds=tolerance)
    best: tuple[float, str] | None = None
    for name, fact in facts.items():
        if name in used or fact.started_at is None or fact.number is None:
            continue
        if fact.number not in (record.caller, record.callee):
            continue
        if abs(fact.started_at - record.started_at) > window:
            continue
        apart = abs((fact.started_at - record.started_at).total_seconds())
        if best is None or apart < best[0]:
            best = (apart, name)
    return best[1] if best else None


def preview_ingest(case: Case, paths: list[Path], options: IngestOptions) -> IngestPreview:
    """What `ingest` would do with `paths` and `options`; reads, never writes."""
    settings = case.settings
    zone = options.timezone or settings.timezone
    result = IngestPreview()
    table: RecordTable | None = None
    if options.metadata is not None:
        result.records_file = str(options.metadata)
        try:
            mapping = (
                load_mapping(options.mapping, region=settings.region) if options.mapping else None
            )
            table = read_record_table(
                options.metadata,
                region=settings.region,
                timezone=zone,
                mapping=mapping,
                encoding=options.encoding,
                sheet=options.sheet,
            )
        except (EarshotError, ValueError) as exc:
            result.errors.append(str(exc))
        if table is not None:
            result.encoding, result.timezone = table.encoding, table.timezone
            result.naive_times = table.naive_times
            result.columns = [
                {"column": heading, "field": name, "basis": basis}
                for heading, name, basis in table.columns.describe()
            ]
            result.problems = [p.message for p in table.problems]
    patterns = load_patterns(options.name_patterns) if options.name_patterns else []
    items, problems = discover(
        paths,
        max_zip_total=settings.zip_max_total_bytes,
        max_zip_ratio=settings.zip_max_ratio,
        exclude=[options.metadata] if options.metadata else [],
    )
    result.errors += [p.message for p in problems if not p.skipped and not p.notice]
    audio, _sidecars, _tables = classify_inputs(items)
    facts = {
        item.name: f
        for item in audio
        if (f := read_file_name(item.name, region=settings.region, timezone=zone, extra=patterns))
    }
    names = {item.name for item in audio}
    used: set[str] = set()
    file_rows: dict[str, int] = {}
    with case.session() as session:
        for record in table.records if table else []:
            target: str | None = None
            basis = "no recording: becomes a call without audio"
            if record.file is not None and record.file in names:
                target, basis = record.file, "file name"
            elif record.file is None:
                target = _by_numbers(record, facts, options.tolerance, used)
                if target is not None:
                    basis = "number pair and time"
                else:
                    earlier = call_for_record(session, record, options.tolerance, set())
                    if earlier is not None:
                        target = earlier.call.source_file
                        basis = f"number pair and time (call {earlier.call.id}, already in case)"
            if target is not None:
                used.add(target)
                file_rows.setdefault(target, record.row)
            result.rows.append(
                RowMatch(
                    record.row,
                    record.started_at.isoformat(),
                    record.caller,
                    record.callee,
                    target,
                    basis,
                )
            )
    for item in audio:
        result.files.append(
            {
                "file": item.display,
                "name": item.name,
                "record_row": file_rows.get(item.name),
                "file_name": _facts_dict(facts.get(item.name)),
            }
        )
    return result
