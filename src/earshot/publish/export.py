"""Writing an export: build, redact, guard, render, guard again, write, audit.

A redacted export is scanned by the leak guard twice, once as a document and
once as rendered (what the file really holds), and is written only if both find
nothing. An export without redaction identifies people: it needs the editor role
(the CLI's explicit ``--identifying``), and says so on its first line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from earshot.language.entities import EntityExtractor
from earshot.store.case import Case

from .document import ExportDocument
from .export_json import WARNING, build_export
from .formats import Rendered, get_writer
from .formats.registry import get_format
from .leakguard import LeakGuard, document_strings
from .nicknames import require_nickname_decisions
from .output import ExportRefusedError, authorise_identifying, write_guarded
from .policy import RedactionPolicy, default_policy
from .redact_export import RedactionSummary, redact_export

__all__ = [
    "ExportDocument",
    "ExportOptions",
    "ExportRefusedError",
    "ExportResult",
    "document_for",
    "export_case",
    "redacted_document",
]


@dataclass(frozen=True)
class ExportOptions:
    """fmt: a name from FORMATS; role: the caller's role when known (web), else
    ``identifying`` is the local operator's explicit request for an identifying export."""

    fmt: str = "json"
    redact: bool = True
    call_ids: Sequence[int] | None = None
    policy: RedactionPolicy | None = None
    operator: str = "unknown"
    identifying: bool = False
    role: str | None = None
    allow_proposed: bool = False
    phone_groups: bool = False


@dataclass
class ExportResult:
    path: Path
    fmt: str
    redacted: bool
    calls: int
    bytes: int
    summary: RedactionSummary = field(default_factory=RedactionSummary)
    document: ExportDocument | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "path": str(self.path),
            "format": self.fmt,
            "redacted": self.redacted,
            "calls": self.calls,
            "bytes": self.bytes,
            **self.summary.as_dict(),
        }
        if self.document is not None:  # the written document's top level
            out["document"] = self.document.header()
        return out


def redacted_document(
    session: Session,
    call_ids: Sequence[int] | None,
    *,
    policy: RedactionPolicy | None,
    operator: str,
    extractor: EntityExtractor | None = None,
    allow_proposed: bool = False,
    phone_groups: bool = False,
) -> tuple[dict[str, Any], RedactionSummary, LeakGuard]:
    """The redacted export document, already checked by the leak guard.

    Refused (:class:`~earshot.publish.nicknames.NicknameReviewError`) while a term of
    address that looks like a nickname waits for an editor's decision.
    """
    policy = policy or default_policy()
    doc = build_export(session, call_ids)
    if policy.review_nicknames:
        require_nickname_decisions(session, [int(c["id"]) for c in doc["calls"]])
    redacted, summary = redact_export(
        session,
        doc,
        policy=policy,
        operator=operator,
        extractor=extractor,
        allow_proposed=allow_proposed,
        phone_groups=phone_groups,
    )
    guard = LeakGuard.for_case(session)
    guard.check(document_strings(redacted), "redacted export")
    return redacted, summary, guard


def document_for(case: Case, session: Session, doc: dict[str, Any], fmt: str) -> ExportDocument:
    """`doc` as the typed record, with what one writer needs beyond it: the format's own
    `prepare` hook in the registry (FtM: the case namespace and audio hashes)."""
    prepare = get_format(fmt).prepare
    return ExportDocument.from_dict(doc if prepare is None else prepare(session, case, doc))


def export_case(
    case: Case, out: Path, options: ExportOptions, *, extractor: EntityExtractor | None = None
) -> ExportResult:
    """Write an export of `case` to `out` (refused, and nothing written, on any leak)."""
    writer = get_writer(options.fmt)
    summary = RedactionSummary()
    guard: LeakGuard | None = None  # stays None for an identifying export
    with case.session() as session:
        if options.redact:
            doc, summary, guard = redacted_document(
                session,
                options.call_ids,
                policy=options.policy,
                operator=options.operator,
                extractor=extractor,
                allow_proposed=options.allow_proposed,
                phone_groups=options.phone_groups,
            )
            document = document_for(case, session, doc, options.fmt)
        else:
            authorise_identifying(
                f"a {options.fmt} export", identifying=options.identifying, role=options.role
            )
            doc = build_export(session, options.call_ids)
            doc["warning"] = WARNING
            document = document_for(case, session, doc, options.fmt)
        rendered: Rendered = writer(document.as_dict())
        write_guarded(
            session,
            out,
            rendered,
            guard=guard,
            what="export",
            fmt=options.fmt,
            action="export",
            operator=options.operator,
            detail={
                "format": options.fmt,
                "redacted": options.redact,
                "calls": document.call_ids,
                "file": out.name,
                "allow_proposed": options.allow_proposed,
                **summary.as_dict(),
            },
        )
    return ExportResult(
        out, options.fmt, options.redact, len(document.calls), len(rendered.data), summary, document
    )
