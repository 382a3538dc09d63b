"""Publication routes under ``/api``: quotes, the quote sheet, exports, clips, pseudonyms.

Each route checks its permission on the case (declared as ``x-permission`` so the
authorization matrix covers it): preparing redacted material needs
PUBLISH_REDACTED (editor, admin), an export that identifies people also needs
EXPORT_UNREDACTED and an explicit confirmation. Files are made by
``earshot.publish`` (which redacts, runs the leak guard, and writes the audit log
and custody), written to a private directory of the case, streamed with an ASCII
file name, and removed. A leak-guard refusal comes back as 422 with what was
found where: only people allowed to prepare publications ever reach these routes.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from .. import edits
from ..errors import EarshotError
from ..publish.formats import export_formats
from ..security.errors import PermissionDeniedError
from . import publishing, schemas
from .context import Access, CaseAccess, Login, WebState
from .errors import for_browser
from .publishing import TempFile, safe_filename, stamp, suffix_for

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["publication"])

CallId = Annotated[int, Field(ge=1, le=2**31 - 1)]
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Position = Annotated[int, Field(ge=0, le=1_000_000)]
ExportFormatName = Annotated[
    str,
    Query(
        pattern=r"^[a-z0-9_-]{1,20}$",
        description="A registered export format (GET /api/formats lists them).",
    ),
]
SheetFormat = Literal["md", "html", "pdf", "docx"]
AudioFormat = Literal["wav", "flac", "ogg", "mp3"]


class Problem(BaseModel):
    detail: str


class LeakRow(BaseModel):
    location: str
    found: str
    category: str
    kind: str


class Refusal(BaseModel):
    detail: str
    reason: str | None = None
    leaks: list[LeakRow] = []


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not logged in."},
    403: {"model": Problem, "description": "Role does not allow this, or no CSRF token."},
    404: {"model": Problem, "description": "No such case (or no role on it), or no such object."},
    422: {"model": Refusal, "description": "Refused: the reason, and any leaks found."},
}
FILE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file, as an attachment.", "content": {"*/*": {}}}
}


# An export: the file; with format=json, the export document (typed in the schema).
EXPORT_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment; with format=json the export document.",
        "model": schemas.ExportDocument,
        "content": {"*/*": {}},
    }
}


def needs(permission: str) -> dict[str, Any]:
    """The permission a route checks (besides READ), for the schema and the matrix test."""
    return {"x-permission": permission}


def _policy(request: Request) -> Any:
    web: WebState = request.app.state.web
    return web.policy


def _refusal(access: CaseAccess, exc: EarshotError, reason: str | None = None) -> JSONResponse:
    """422 with the library's message; what the leak guard found goes only to people who
    may prepare publications (the refused identifiers are what they must fix)."""
    shown = access.can("PUBLISH_REDACTED")
    leaks = publishing.leak_list(exc) if shown else []
    detail = str(exc) if shown or not leaks else "refused by the leak guard"
    # `detail` is the library's own message (the CLI prints the same); `message` is how
    # the pages put it, naming the control instead of the command-line flag.
    return JSONResponse(
        {"detail": detail, "message": for_browser(detail), "reason": reason, "leaks": leaks},
        status_code=422,
    )


def _download(tmp: TempFile, filename: str, fmt: str) -> FileResponse:
    return FileResponse(
        tmp.path,
        media_type=publishing.media_type(fmt),
        filename=filename,
        background=BackgroundTask(tmp.remove),
        headers={"Cache-Control": "private, no-store"},
    )


def _permission_error(exc: Exception) -> HTTPException | None:
    if isinstance(exc, PermissionDeniedError):
        return HTTPException(status_code=403, detail=str(exc))
    return None


# -- quotes ---------------------------------------------------------------------------
class QuoteDraft(BaseModel):
    call_id: CallId
    first: Position = Field(description="First segment: its position in the call's transcript.")
    last: Position = Field(description="Last segment (inclusive).")
    text: str | None = Field(
        default=None, max_length=20_000, description="The edited English; none: the verbatim."
    )
    allow_rewrite: bool = Field(default=False, description="Keep added words, marked rewritten.")
    allow_unapproved: bool = Field(
        default=False, description="Quote a translation nobody approved, marked UNAPPROVED."
    )


@router.get("/cases/{case_id}/quotes", response_model=list[schemas.QuoteRow], responses=ERRORS)
def list_quotes(
    access: Access, call: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
) -> list[dict[str, Any]]:
    """Saved quotes with provenance: call, seconds, SHA-256, translator, approver, flags."""
    with access.case.session() as session:
        return publishing.quote_rows(session, None if call is None else [call])


@router.post(
    "/cases/{case_id}/quotes/check",
    response_model=schemas.QuotePreview,
    responses=ERRORS,
    openapi_extra=needs("PUBLISH_REDACTED"),
)
def check_quote(access: Access, draft: QuoteDraft) -> dict[str, Any]:
    """The verbatim English of a span and the word diff of the edited text against it."""
    access.require("PUBLISH_REDACTED")
    from ..publish.quotes import QuoteError

    with access.case.session() as session:
        try:
            return publishing.preview_quote(
                session, draft.call_id, draft.first, draft.last, draft.text
            )
        except QuoteError as exc:
            return _refusal(access, exc, "invalid")  # type: ignore[return-value]


@router.post(
    "/cases/{case_id}/quotes",
    response_model=schemas.QuoteRow,
    responses=ERRORS,
    openapi_extra=needs("PUBLISH_REDACTED"),
)
def create_quote(access: Access, draft: QuoteDraft) -> dict[str, Any]:
    """Save a quote (cuts only, unless allow_rewrite); refusals name their override."""
    try:
        with access.case.session() as session:
            return publishing.save_quote(
                session,
                access.actor,
                draft.call_id,
                draft.first,
                draft.last,
                draft.text or "",
                allow_rewrite=draft.allow_rewrite,
                allow_unapproved=draft.allow_unapproved,
            )
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None
    except publishing.QuoteRefusedError as exc:
        return _refusal(access, exc, exc.reason)  # type: ignore[return-value]


@router.get(
    "/cases/{case_id}/quotes/sheet",
    responses={**ERRORS, **FILE},
    response_class=Response,
    openapi_extra=needs("PUBLISH_REDACTED"),
)
def quote_sheet(
    request: Request,
    access: Access,
    format: SheetFormat = "md",
    quotes: Annotated[list[RowId] | None, Query(max_length=1000)] = None,
) -> Response:
    """The redacted quote sheet (all quotes, or those named), checked by the leak guard."""
    access.require("PUBLISH_REDACTED")
    from ..publish.quote_sheet import QuoteSheetOptions, export_quote_sheet

    name = safe_filename("earshot-quotes", access.case.case_id[:8], stamp(), suffix=format)
    tmp = publishing.temp_output(access.case, name)
    try:
        export_quote_sheet(
            access.case,
            tmp.path,
            QuoteSheetOptions(
                fmt=format,
                quote_ids=quotes or None,
                policy=_policy(request),
                operator=access.user,
            ),
        )
    except EarshotError as exc:
        tmp.remove()
        return _refusal(access, exc, "leak" if publishing.leak_list(exc) else "invalid")
    except BaseException:
        tmp.remove()
        raise
    return _download(tmp, name, format)


class FormatInfo(BaseModel):
    name: str
    suffix: str
    media_type: str
    guard_reads: str
    description: str


@router.get("/formats", response_model=list[FormatInfo], responses=ERRORS)
def formats(login: Login) -> list[dict[str, Any]]:
    """The export formats this server writes, from the format registry."""
    return [spec.as_dict() for spec in export_formats().values()]


# -- exports --------------------------------------------------------------------------
def _export(
    request: Request,
    access: Access,
    calls: list[int],
    fmt: str,
    *,
    redact: bool,
) -> Response:
    from ..publish.export import ExportOptions, export_case

    kind = "export" if redact else "export-IDENTIFYING"
    name = safe_filename("earshot", kind, access.case.case_id[:8], stamp(), suffix=suffix_for(fmt))
    tmp = publishing.temp_output(access.case, name)
    try:
        export_case(
            access.case,
            tmp.path,
            ExportOptions(
                fmt=fmt,
                redact=redact,
                call_ids=sorted(set(calls)),
                policy=_policy(request),
                operator=access.user,
                role=None if redact else access.role_name,
            ),
        )
    except EarshotError as exc:
        tmp.remove()
        denied = _permission_error(exc)
        if denied is not None:
            raise denied from None
        return _refusal(access, exc, "leak" if publishing.leak_list(exc) else "invalid")
    except BaseException:
        tmp.remove()
        raise
    return _download(tmp, name, fmt)


@router.get(
    "/cases/{case_id}/export",
    responses={**ERRORS, **EXPORT_FILE},
    response_class=Response,
    openapi_extra=needs("PUBLISH_REDACTED"),
)
def export_redacted(
    request: Request,
    access: Access,
    calls: Annotated[list[RowId], Query(min_length=1, max_length=10_000)],
    format: ExportFormatName = "json",
) -> Response:
    """A redacted export of the chosen calls (names by pseudonym, identifiers withheld)."""
    access.require("PUBLISH_REDACTED")
    return _export(request, access, calls, format, redact=True)


@router.get(
    "/cases/{case_id}/export/identifying",
    responses={**ERRORS, **EXPORT_FILE},
    response_class=Response,
    openapi_extra=needs("EXPORT_UNREDACTED"),
)
def export_identifying(
    request: Request,
    access: Access,
    calls: Annotated[list[RowId], Query(min_length=1, max_length=10_000)],
    format: ExportFormatName = "json",
    confirm: Annotated[
        bool, Query(description="Must be true: the caller confirms the file identifies people.")
    ] = False,
) -> Response:
    """An UNREDACTED export (identifies people): editors and admins, confirmed explicitly."""
    access.require("EXPORT_UNREDACTED")
    if not confirm:
        return JSONResponse(
            {
                "detail": "an unredacted export identifies people; confirm that you want one "
                "(confirm=true), or make a redacted export",
                "reason": "confirm",
                "leaks": [],
            },
            status_code=422,
        )
    return _export(request, access, calls, format, redact=False)


# -- clips ----------------------------------------------------------------------------
@router.get(
    "/cases/{case_id}/calls/{call_id}/clip",
    responses={**ERRORS, 200: {"content": {"application/zip": {}}, "description": "Zip."}},
    response_class=Response,
    openapi_extra=needs("PUBLISH_REDACTED"),
)
def clip(
    request: Request,
    access: Access,
    call_id: CallId,
    start: Annotated[float, Query(ge=0, le=86_400)],
    end: Annotated[float, Query(gt=0, le=86_400)],
    mode: Literal["bleep", "silence"] = "bleep",
    disguise: bool = False,
    audio: AudioFormat = "wav",
) -> Response:
    """A redacted audio clip of [start, end] s with its provenance JSON, as one zip."""
    access.require("PUBLISH_REDACTED")
    from ..publish.clip import ClipOptions, clip_call
    from ..publish.clip_audio import Disguise

    options = request.app.state.web.options
    limit = options.max_disguise_seconds if disguise else options.max_clip_seconds
    if end - start > limit:
        return JSONResponse(
            {
                "detail": f"a {'disguised ' if disguise else ''}clip may last at most "
                f"{limit:g} s here; choose a shorter stretch (or use `earshot clip`)",
                "reason": "invalid",
                "leaks": [],
            },
            status_code=422,
        )
    base = safe_filename("earshot-clip", f"call{call_id}", f"{start:.1f}-{end:.1f}s", suffix=audio)
    tmp = publishing.temp_output(access.case, base)
    try:
        result = clip_call(
            access.case,
            call_id,
            tmp.path,
            ClipOptions(
                start=start,
                end=end,
                mode=mode,
                disguise=Disguise() if disguise else None,
                policy=_policy(request),
                operator=access.user,
            ),
        )
        bundle = tmp.directory / (Path(base).stem + ".zip")
        # The provenance is internal: a folder of its own, never beside the clip.
        _zip(bundle, [result.path, result.sidecar], {result.sidecar: INTERNAL_FOLDER})
    except EarshotError as exc:
        tmp.remove()
        return _refusal(access, exc, "leak" if publishing.leak_list(exc) else "invalid")
    except BaseException:
        tmp.remove()
        raise
    return _download(TempFile(tmp.directory, bundle), bundle.name, "zip")


INTERNAL_FOLDER = "INTERNAL-do-not-publish"


def _zip(target: Path, members: list[Path], folders: dict[Path, str] | None = None) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            # Audio is compressed already (or PCM that barely shrinks); store it as is.
            compress = zipfile.ZIP_DEFLATED if member.suffix == ".json" else zipfile.ZIP_STORED
            folder = (folders or {}).get(member)
            name = f"{folder}/{member.name}" if folder else member.name
            archive.write(member, name, compress_type=compress)
    target.write_bytes(buffer.getvalue())


# -- pseudonyms -------------------------------------------------------------------------
class PseudonymEdit(BaseModel):
    pseudonym: str = Field(min_length=1, max_length=80)


@router.get(
    "/cases/{case_id}/pseudonyms", response_model=list[schemas.PseudonymRow], responses=ERRORS
)
def pseudonyms(access: Access) -> list[dict[str, Any]]:
    """Each person's published name (defaults are assigned on first need, for good)."""
    with access.case.session() as session:
        return publishing.pseudonym_rows(
            session, operator=access.user, assign=access.can("PUBLISH_REDACTED")
        )


@router.put(
    "/cases/{case_id}/persons/{person_id}/pseudonym",
    responses=ERRORS,
    response_model=edits.PseudonymRecord,
    openapi_extra=needs("PUBLISH_REDACTED"),
)
def set_pseudonym(access: Access, person_id: RowId, edit: PseudonymEdit) -> Any:
    """Give a person an editorial pseudonym (unique in the case, case-insensitively)."""
    try:
        with access.case.session() as session:
            return edits.set_pseudonym(
                session, access.actor, person_id=person_id, pseudonym=edit.pseudonym
            ).as_dict()
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None
    except EarshotError as exc:
        return _refusal(access, exc, "invalid")
