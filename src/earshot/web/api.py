"""The JSON API under ``/api``: the same data as the pages, described by OpenAPI.

Reads need the READ permission on the case, changes the permission named at each
route; every view of a call, playback, search, edit and export is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from .. import edits
from ..audio.playback import (
    AudioUnavailableError,
    ByteRange,
    RangeNotSatisfiableError,
    parse_range,
    playback_source,
)
from ..audio.playback import (
    call_peaks as waveform_peaks,
)
from ..errors import EarshotError
from ..identity.errors import IdentityNotFoundError
from ..ingest.watch import list_jobs
from ..language.translation.workflow import StaleEditError
from ..security.errors import PermissionDeniedError
from ..vocab import TranslationStatus, VerificationStatus
from . import insights, schemas, views
from .access import audit, load_viewed, role_name
from .context import Access, Login, WebState
from .errors import for_browser

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["api"])

CallId = Annotated[int, Field(ge=1, le=2**31 - 1)]
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Problem(BaseModel):
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not logged in."},
    403: {"model": Problem, "description": "Role does not allow this, or no CSRF token."},
    404: {"model": Problem, "description": "No such case (or no role on it), or no such object."},
}


def needs(permission: str) -> dict[str, Any]:
    """Declare the permission a route checks (besides READ), for the schema and the
    authorization-matrix test, which verifies every declared route enforces it."""
    return {"x-permission": permission}


def _web(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"no such {what}")


def _refused(exc: EarshotError) -> HTTPException:
    return HTTPException(status_code=422, detail=str(exc))


@contextmanager
def _library_edit(access: Access) -> Iterator[Session]:
    """One change through the API: a transaction around the library call, and the
    library's typed refusals as HTTP answers (the message is the library's own).

    The role check, the rule and the audit entry are the library's
    (:mod:`earshot.edits`); a stale translation is left to the endpoint (409).
    """
    try:
        with access.case.session() as session:
            yield session
    except StaleEditError:
        raise
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None
    except IdentityNotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except EarshotError as exc:
        raise _refused(exc) from None


@router.get("/me", response_model=schemas.Me, responses=ERRORS)
def me(request: Request, login: Login) -> dict[str, Any]:
    """Who is logged in, and their role on each case this server holds for them."""
    web = _web(request)
    cases = []
    for case_id in web.cases:
        role = web.accounts.role(login.username, case_id)
        if role is not None:
            cases.append(
                {"id": case_id, "name": web.cases[case_id].path.name, "role": role_name(role)}
            )
    return {"username": login.username, "cases": cases}


@router.get("/cases/{case_id}", response_model=schemas.CaseOverview, responses=ERRORS)
def overview(access: Access) -> dict[str, Any]:
    """Counts, themes and processing status of the case."""
    with access.case.session() as session:
        return {
            "id": access.case.case_id,
            "name": access.case.path.name,
            "role": access.role_name,
            **views.case_overview(session),
        }


@router.get("/cases/{case_id}/jobs", response_model=list[schemas.JobRecord], responses=ERRORS)
def jobs(access: Access) -> list[dict[str, Any]]:
    """The case's long-running jobs (drop-folder watches), as `earshot jobs --json`."""
    return [job.as_dict() for job in list_jobs(access.case)]


@router.get("/cases/{case_id}/calls", response_model=schemas.CallsPage, responses=ERRORS)
def calls(access: Access, filters: Annotated[views.CallFilters, Query()]) -> dict[str, Any]:
    """The case's calls, filtered and sorted."""
    with access.case.session() as session:
        return views.calls_page(session, filters)


def _viewed(
    access: Access,
    kind: str,
    object_id: int,
    load: Callable[[Session, int], dict[str, Any] | None],
) -> dict[str, Any]:
    """Load one object for the API, 404 if absent, and record the view in the audit log."""
    with access.case.session() as session:
        return load_viewed(
            session, user=access.user, kind=kind, object_id=object_id, load=load, via="api"
        )


@router.get("/cases/{case_id}/calls/{call_id}", response_model=schemas.CallDetail, responses=ERRORS)
def call(access: Access, call_id: CallId) -> dict[str, Any]:
    """One call: parties, transcript segments with translations, entities, slang, themes."""
    return _viewed(access, "call", call_id, views.call_detail)


@router.get(
    "/cases/{case_id}/calls/{call_id}/audio",
    responses={
        **ERRORS,
        206: {"content": {"audio/wav": {}}, "description": "A byte range."},
        200: {"content": {"audio/wav": {}}, "description": "The whole stream."},
        416: {"model": Problem, "description": "Range outside the stream."},
    },
    response_class=Response,
)
def audio(
    access: Access,
    call_id: CallId,
    range_: Annotated[str | None, Header(alias="range", max_length=200)] = None,
) -> Response:
    """The call's audio as WAV (all channels), with HTTP Range for seeking."""
    with access.case.session() as session:
        try:
            source = playback_source(session, access.case.media.root, call_id)
        except AudioUnavailableError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        try:
            wanted = parse_range(range_, source.size)
        except RangeNotSatisfiableError as exc:
            return JSONResponse(
                {"detail": str(exc)},
                status_code=416,
                headers={"Content-Range": f"bytes */{source.size}"},
            )
        if wanted is None or wanted.start == 0:
            audit(
                session,
                user=access.user,
                action="play",
                object_type="call",
                object_id=call_id,
                detail={},
            )
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if wanted is None:
        body = ByteRange(0, source.size - 1)
        headers["Content-Length"] = str(source.size)
        return StreamingResponse(source.iter_bytes(body), media_type="audio/wav", headers=headers)
    headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{source.size}"
    headers["Content-Length"] = str(wanted.length)
    return StreamingResponse(
        source.iter_bytes(wanted), status_code=206, media_type="audio/wav", headers=headers
    )


@router.get(
    "/cases/{case_id}/calls/{call_id}/peaks", response_model=schemas.Peaks, responses=ERRORS
)
def call_peaks(request: Request, access: Access, call_id: CallId) -> dict[str, Any]:
    """Waveform peaks per channel, so the player draws without decoding the audio."""
    options = _web(request).options
    with access.case.session() as session:
        try:
            found = waveform_peaks(
                session, access.case.media.root, call_id,
                per_second=options.peaks_per_second, max_buckets=options.max_peaks,
            )  # fmt: skip
        except AudioUnavailableError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
    return found.as_dict()


class TranslationEdit(BaseModel):
    text: str = Field(max_length=edits.MAX_TEXT)
    status: TranslationStatus
    version: int = Field(
        ge=0, le=2**31 - 1, description="The version the editor loaded; 0 if none."
    )


class StaleTranslation(BaseModel):
    detail: str
    current: dict[str, Any]


EDIT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    422: {"model": Problem, "description": "Refused by the library (the message says why)."},
}


def _stale_message(row: edits.TranslationRecord | None, expected: int) -> str:
    """What a refused stale edit tells the editor: who changed it, when, and what to do."""
    if row is None:
        return "not saved: this translation was removed since you loaded it; reload the call"
    who = row.approver or row.reviewer or row.translator or "someone"
    when = (row.updated_at or "recently")[:16].replace("T", " ")
    return (
        f"not saved: {who} changed this translation at {when} (now version {row.version}, "
        f"you loaded version {expected}); your text is kept in the editor: compare, then save "
        f"again"
    )


@router.put(
    "/cases/{case_id}/calls/{call_id}/segments/{segment_id}/translation",
    response_model=edits.TranslationRecord,
    responses={
        **EDIT_ERRORS,
        409: {"model": StaleTranslation, "description": "Someone saved since you loaded it."},
    },
    openapi_extra=needs("EDIT_TRANSLATION"),
)
def save_translation(
    access: Access, call_id: CallId, segment_id: CallId, edit: TranslationEdit
) -> Any:
    """Save a segment's English; refused with 409 if it changed since `version`."""
    try:
        with _library_edit(access) as session:
            return edits.save_translation(
                session,
                access.actor,
                call_id=call_id,
                segment_id=segment_id,
                text=edit.text,
                status=edit.status,
                expected_version=edit.version,
                four_eyes=access.case.settings.translation_four_eyes,
            ).as_dict()
    except StaleEditError:
        with access.case.session() as session:
            latest = edits.current_translation(session, segment_id)
        return JSONResponse(
            {
                "detail": _stale_message(latest, edit.version),
                "current": latest.as_dict() if latest else {},
            },
            status_code=409,
        )


class ThemeEdit(BaseModel):
    theme: str = Field(min_length=1, max_length=60)
    present: bool


@router.post(
    "/cases/{case_id}/calls/{call_id}/themes",
    response_model=edits.CallThemes,
    responses=EDIT_ERRORS,
    openapi_extra=needs("TAG"),
)
def edit_theme(access: Access, call_id: CallId, edit: ThemeEdit) -> Any:
    """Add (present=true) or remove a theme tag of a call."""
    with _library_edit(access) as session:
        return edits.set_call_theme(
            session, access.actor, call_id=call_id, theme=edit.theme, present=edit.present
        ).as_dict()


class EntityLinkEdit(BaseModel):
    person_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


@router.put(
    "/cases/{case_id}/calls/{call_id}/entities/{entity_id}/person",
    response_model=edits.EntityLink,
    responses=EDIT_ERRORS,
    openapi_extra=needs("TAG"),
)
def link_entity(access: Access, call_id: CallId, entity_id: CallId, link: EntityLinkEdit) -> Any:
    """Link a name heard in a call to a person of the case (null unlinks)."""
    with _library_edit(access) as session:
        return edits.link_entity(
            session, access.actor, call_id=call_id, entity_id=entity_id, person_id=link.person_id
        ).as_dict()


class VoiceDecision(BaseModel):
    decision: Literal["confirm", "reject"]
    note: str = Field(default="", max_length=2000)


@router.post(
    "/cases/{case_id}/voice-links/{link_id}",
    response_model=edits.VoiceLinkRecord,
    responses=EDIT_ERRORS,
    openapi_extra=needs("VERIFY"),
)
def decide_voice(access: Access, link_id: CallId, decision: VoiceDecision) -> Any:
    """Confirm (links both call sides to one person, basis voice_match) or reject a
    proposed voice match; the same decision as `earshot voices --confirm/--reject`."""
    with _library_edit(access) as session:
        return edits.decide_voice_link(
            session,
            access.actor,
            link_id=link_id,
            confirm=decision.decision == "confirm",
            note=decision.note,
        ).as_dict()


class VerificationDecision(BaseModel):
    status: VerificationStatus
    reason: str = Field(min_length=1, max_length=5000)
    evidence_ids: list[RowId] = Field(
        default_factory=list,
        max_length=200,
        description="Ids of the evidence items the decision rests on (required unless "
        "the status is unverified), as `earshot verify-identity --evidence`.",
    )


@router.post(
    "/cases/{case_id}/persons/{person_id}/verification",
    response_model=edits.VerificationRecord,
    responses=EDIT_ERRORS,
    openapi_extra=needs("VERIFY"),
)
def verify_person(access: Access, person_id: CallId, decision: VerificationDecision) -> Any:
    """Set a person's verification status with the reason and the evidence it rests on;
    refused without evidence exactly as `earshot verify-identity` (``message``: the
    refusal in the browser's words)."""
    try:
        with _library_edit(access) as session:
            return edits.verify(
                session,
                access.actor,
                person_id=person_id,
                status=decision.status,
                reason=decision.reason,
                evidence_ids=decision.evidence_ids,
            ).as_dict()
    except HTTPException as exc:
        detail = str(exc.detail)
        return JSONResponse(
            {"detail": detail, "message": for_browser(detail)}, status_code=exc.status_code
        )


@router.get(
    "/cases/{case_id}/persons", response_model=list[schemas.PersonSummary], responses=ERRORS
)
def persons(
    access: Access,
    sort: Annotated[Literal["name", "role", "calls", "sides", "status"], Query()] = "name",
    desc: bool = False,
) -> list[dict[str, Any]]:
    """Persons of the case with their verification status, the number of calls and call
    sides each is heard on and the sides' roles, sorted."""
    from .. import workbench

    with _library_edit(access) as session:
        rows = workbench.persons_overview(session, access.actor, sort=sort, descending=desc)
        return [row.as_dict() for row in rows]


@router.get(
    "/cases/{case_id}/persons/{person_id}",
    response_model=schemas.PersonReport,
    responses=ERRORS,
)
def person(access: Access, person_id: CallId) -> dict[str, Any]:
    """One person: phones, calls, voice matches, evidence, verification history."""
    return _viewed(access, "person", person_id, views.person_detail)


@router.get("/cases/{case_id}/search", response_model=schemas.SearchPage, responses=ERRORS)
def search(
    access: Access, q: Annotated[str, Query(max_length=insights.MAX_QUERY)] = ""
) -> dict[str, Any]:
    """Search transcripts and translations (the search layer's query language)."""
    with access.case.session() as session:
        result = insights.search(session, q)
        audit(
            session,
            user=access.user,
            action="search",
            object_type="case",
            object_id=access.case.case_id,
            detail={"query": q[:200]},
        )
        return result


@router.get("/cases/{case_id}/trends", response_model=schemas.Trends, responses=ERRORS)
def trends(access: Access, interval: Literal["day", "week", "month"] = "month") -> dict[str, Any]:
    """Calls per theme per interval."""
    with access.case.session() as session:
        return insights.trends(session, interval)


@router.get("/cases/{case_id}/places", response_model=list[schemas.Place], responses=ERRORS)
def places(access: Access) -> list[dict[str, Any]]:
    """Places to pin: mentioned in calls (not where the slang decoder read the words as
    slang) or given by the call records, with the calls for each."""
    from ..analysis.places_map import place_map

    with access.case.session() as session:
        found: list[dict[str, Any]] = place_map(session).as_dict()["places"]
        return found


@router.get("/cases/{case_id}/graph", response_model=schemas.Graph, responses=ERRORS)
def graph(access: Access) -> dict[str, Any]:
    """Phones and persons, linked by calls and by use."""
    with access.case.session() as session:
        return insights.call_graph(session)
