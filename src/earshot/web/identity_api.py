"""API of identity review by hand: link and unlink call sides, merge and split persons,
add evidence (a file streamed to disk, or a web address), and the histories.

Each route calls :mod:`earshot.workbench` (role check, rule, custody, audit) and only
turns its refusals into HTTP answers; a refusal carries the library's message in
``detail`` and the same message in browser words (no command-line flags) in ``message``.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from .. import edits, workbench
from ..errors import UploadTooLargeError
from ..identity import EVIDENCE_KINDS, ROLES
from ..jobs import UploadWriter
from ..security.errors import PermissionDeniedError
from ..vocab import VerificationStatus
from .api import ERRORS, CallId, Problem, RowId, _library_edit, needs
from .context import Access
from .errors import for_browser

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["identity"])

Side = Annotated[str, Path(pattern="^[AB]$", description="The call side: A (caller) or B.")]
PersonPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
CallPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Note = Annotated[str | None, Field(default=None, max_length=2000)]


def _refusal(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "message": for_browser(detail)}, status_code=status)


def _decide(access: Access, call: Callable[[Session], Any]) -> Any:
    """Run one library change in a transaction; a refusal as JSON with browser words."""
    try:
        with _library_edit(access) as session:
            return call(session)
    except HTTPException as exc:
        return _refusal(exc.status_code, str(exc.detail))


class SideLinkIn(BaseModel):
    person_id: RowId | None = None
    new_name: str | None = Field(default=None, max_length=200)
    new_role: Literal["soldier", "relative", "other"] = "other"
    note: Note = None


class SideUnlinkIn(BaseModel):
    person_id: RowId | None = Field(
        default=None, description="Who the page showed: refused if the side changed since."
    )
    note: Note = None


class SideLinkOut(BaseModel):
    call_id: int
    party: str
    person_id: int | None
    person: str | None
    basis: str | None
    link_id: int | None
    previous_person_id: int | None
    new_person: bool


class HistoryOut(BaseModel):
    at: str | None
    kind: str
    actor: str | None
    status: str | None
    basis: str | None
    call_id: int | None
    party: str | None
    person_id: int | None
    person: str | None
    evidence_ids: list[int]
    note: str | None
    superseded_at: str | None
    said: str | None


@router.post(
    "/cases/{case_id}/calls/{call_id}/sides/{party}/person",
    response_model=SideLinkOut,
    responses=ERRORS,
    openapi_extra=needs("VERIFY"),
)
def link_side(access: Access, call_id: CallPath, party: Side, link: SideLinkIn) -> Any:
    """Attribute a call side to a person by hand: an existing one or a new one."""
    assert link.new_role in ROLES
    return _decide(
        access,
        lambda s: workbench.link_side(
            s,
            access.actor,
            call_id=call_id,
            party=party,
            person_id=link.person_id,
            new_name=link.new_name,
            new_role=link.new_role,
            note=link.note,
        ).as_dict(),
    )


@router.post(
    "/cases/{case_id}/calls/{call_id}/sides/{party}/unlink",
    response_model=SideLinkOut,
    responses=ERRORS,
    openapi_extra=needs("VERIFY"),
)
def unlink_side(access: Access, call_id: CallPath, party: Side, unlink: SideUnlinkIn) -> Any:
    """Withdraw a call side's attribution (kept in the history as withdrawn)."""
    return _decide(
        access,
        lambda s: workbench.unlink_side(
            s,
            access.actor,
            call_id=call_id,
            party=party,
            person_id=unlink.person_id,
            note=unlink.note,
        ).as_dict(),
    )


class SideVerificationIn(BaseModel):
    status: VerificationStatus
    reason: str = Field(min_length=1, max_length=5000)
    evidence_ids: list[RowId] = Field(default_factory=list, max_length=200)


@router.post(
    "/cases/{case_id}/calls/{call_id}/sides/{party}/verification",
    response_model=edits.VerificationRecord,
    responses=ERRORS,
    openapi_extra=needs("VERIFY"),
)
def verify_side(
    access: Access, call_id: CallPath, party: Side, decision: SideVerificationIn
) -> Any:
    """Set one call side's verification status, citing evidence (refused without it
    unless unverified), as `earshot verify-identity CALL:PARTY`."""
    return _decide(
        access,
        lambda s: workbench.verify_side(
            s,
            access.actor,
            call_id=call_id,
            party=party,
            status=decision.status,
            reason=decision.reason,
            evidence_ids=decision.evidence_ids,
        ).as_dict(),
    )


@router.get(
    "/cases/{case_id}/calls/{call_id}/sides/{party}/history",
    response_model=list[HistoryOut],
    responses=ERRORS,
)
def side_history(access: Access, call_id: CallPath, party: Side) -> Any:
    """Every attribution of the side, its verification decisions and voice decisions."""
    return _decide(
        access,
        lambda s: [e.as_dict() for e in workbench.side_history(s, access.actor, call_id, party)],
    )


@router.get(
    "/cases/{case_id}/persons/{person_id}/history",
    response_model=list[HistoryOut],
    responses=ERRORS,
)
def person_history(access: Access, person_id: PersonPath) -> Any:
    """The person's attributions (proposals rejected included), verification decisions,
    evidence, voice decisions, merges and splits, oldest first."""
    return _decide(
        access,
        lambda s: [e.as_dict() for e in workbench.person_history(s, access.actor, person_id)],
    )


class MergeIn(BaseModel):
    other_id: RowId = Field(description="The person merged into this one.")
    reason: Note = None


class UnmergeIn(BaseModel):
    merge_id: RowId | None = None


class MergeOut(BaseModel):
    merge_id: int
    kept_id: int
    merged_id: int
    moved: dict[str, Any]
    undone: bool


@router.post(
    "/cases/{case_id}/persons/{person_id}/merge",
    response_model=MergeOut,
    responses=ERRORS,
    openapi_extra=needs("VERIFY"),
)
def merge(access: Access, person_id: PersonPath, body: MergeIn) -> Any:
    """Merge another person into this one (found to be one person); every link moves."""
    return _decide(
        access,
        lambda s: workbench.merge(
            s, access.actor, keep_id=person_id, other_id=body.other_id, reason=body.reason
        ).as_dict(),
    )


@router.post(
    "/cases/{case_id}/persons/{person_id}/unmerge",
    response_model=MergeOut,
    responses=ERRORS,
    openapi_extra=needs("VERIFY"),
)
def unmerge(access: Access, person_id: PersonPath, body: UnmergeIn) -> Any:
    """Undo the person's latest merge (or `merge_id`) exactly."""
    return _decide(
        access,
        lambda s: workbench.undo_merge(
            s, access.actor, person_id=person_id, merge_id=body.merge_id
        ).as_dict(),
    )


class SideRef(BaseModel):
    call_id: CallId
    party: str = Field(pattern="^[AB]$")


class SplitIn(BaseModel):
    sides: list[SideRef] = Field(max_length=10_000)
    name: str = Field(min_length=1, max_length=200)
    reason: Note = None


class SplitOut(BaseModel):
    split_id: int
    from_id: int
    new_id: int
    new_name: str
    sides: list[tuple[int, str]]


@router.post(
    "/cases/{case_id}/persons/{person_id}/split",
    response_model=SplitOut,
    responses=ERRORS,
    openapi_extra=needs("VERIFY"),
)
def split(access: Access, person_id: PersonPath, body: SplitIn) -> Any:
    """Move chosen call sides of the person to a new person."""
    return _decide(
        access,
        lambda s: workbench.split(
            s,
            access.actor,
            person_id=person_id,
            sides=[(side.call_id, side.party) for side in body.sides],
            new_name=body.name,
            reason=body.reason,
        ).as_dict(),
    )


class EvidenceOut(BaseModel):
    id: int
    person_id: int | None
    phone_id: int | None
    call_id: int | None
    kind: str
    summary: str
    url: str | None
    sha256: str | None
    file_name: str | None
    collected_by: str
    collected_at: str | None
    added_by: str
    added_at: str | None


async def _spool(request: Request, folder: FilePath, limit: int) -> FilePath | None:
    """The request body, streamed to a private file (0600) in the case's staging folder
    chunk by chunk, never whole in memory (the intake's `UploadWriter`); None when there
    is no body."""
    writer = UploadWriter(
        folder / f"upload-{secrets.token_hex(8)}",
        limit,
        too_large="the file is larger than this case's limit of {limit:,} bytes",
    )
    try:
        async for chunk in request.stream():
            writer.write(chunk)
        size = writer.close()
    except UploadTooLargeError as exc:
        raise HTTPException(status_code=413, detail=str(exc)) from None
    except BaseException:
        writer.abort()
        raise
    if size == 0:
        writer.target.unlink()
        return None
    return writer.target


_UPLOAD: dict[str, Any] = {
    **needs("EDIT_TRANSLATION"),
    "requestBody": {
        "description": "The file itself (any type), or nothing for a web address.",
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
    },
}
_UPLOAD_ERRORS = {**ERRORS, 413: {"model": Problem, "description": "Larger than the limit."}}
Kind = Annotated[str, Query(max_length=40, description=", ".join(EVIDENCE_KINDS))]
Summary = Annotated[str, Query(max_length=5000)]
Url = Annotated[str | None, Query(max_length=2000)]
FileName = Annotated[str | None, Query(max_length=255, description="The file's name.")]


@dataclass(frozen=True)
class _EvidenceQuery:
    kind: str
    summary: str
    url: str | None
    name: str | None
    person_id: int | None = None
    call_id: int | None = None


async def _evidence(request: Request, access: Access, q: _EvidenceQuery) -> Any:
    """Role first (before a byte is read), then the body spooled to disk under the
    case's limit, then the library call; the staging file is removed in any case."""
    try:
        workbench.may_add_evidence(access.actor)
    except PermissionDeniedError as exc:
        return _refusal(403, str(exc))
    case = access.case
    limit = case.settings.max_file_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _refusal(413, f"the file is larger than this case's limit of {limit:,} bytes")
    case.media.tmp.mkdir(parents=True, exist_ok=True)
    try:
        upload = await _spool(request, case.media.tmp, limit)
    except HTTPException as exc:
        return _refusal(exc.status_code, str(exc.detail))
    try:
        return await run_in_threadpool(
            _decide,
            access,
            lambda s: workbench.add_evidence(
                s,
                access.actor,
                person_id=q.person_id,
                call_id=q.call_id,
                kind=q.kind,
                summary=q.summary,
                url=q.url,
                file_name=q.name,
                upload=upload,
                media=case.media,
                max_bytes=limit,
            ).as_dict(),
        )
    finally:
        if upload is not None:
            with contextlib.suppress(OSError):
                upload.unlink()


@router.post(
    "/cases/{case_id}/persons/{person_id}/evidence",
    response_model=EvidenceOut,
    responses=_UPLOAD_ERRORS,
    openapi_extra=_UPLOAD,
)
async def add_evidence(
    request: Request,
    access: Access,
    person_id: PersonPath,
    kind: Kind = "",
    summary: Summary = "",
    url: Url = None,
    name: FileName = None,
) -> Any:
    """Evidence about the person: the request body is the file (streamed to disk, kept
    under its SHA-256 with a custody entry), and/or `url`, a web address stored as text
    and never fetched. Metadata travel in the query."""
    query = _EvidenceQuery(kind, summary, url, name, person_id=person_id)
    return await _evidence(request, access, query)


@router.post(
    "/cases/{case_id}/calls/{call_id}/evidence",
    response_model=EvidenceOut,
    responses=_UPLOAD_ERRORS,
    openapi_extra=_UPLOAD,
)
async def add_call_evidence(
    request: Request,
    access: Access,
    call_id: CallPath,
    kind: Kind = "",
    summary: Summary = "",
    url: Url = None,
    name: FileName = None,
) -> Any:
    """Evidence about the call (another recording of the same voice, a document that
    dates it), as for a person."""
    query = _EvidenceQuery(kind, summary, url, name, call_id=call_id)
    return await _evidence(request, access, query)
