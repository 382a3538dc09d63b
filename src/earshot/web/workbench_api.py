"""API of the workbench's additions on the call page: segment comments and the
history of a segment's translation. Each route calls :mod:`earshot.workbench`
(role check, rule, audit) and only turns its refusals into HTTP answers."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .. import edits, workbench
from ..errors import StaleEditError
from .api import ERRORS, CallId, RowId, _library_edit, needs
from .context import Access

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["workbench"])


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=workbench.MAX_COMMENT)
    parent_id: RowId | None = None


class CommentOut(BaseModel):
    id: int
    segment_id: int
    call_id: int
    parent_id: int | None
    author: str
    text: str
    at: str


class TranslationVersionOut(BaseModel):
    version: int
    status: str
    text: str
    actor: str
    action: str
    at: str
    note: str | None


@router.get(
    "/cases/{case_id}/calls/{call_id}/comments",
    response_model=list[CommentOut],
    responses=ERRORS,
)
def comments(access: Access, call_id: CallId) -> list[dict[str, Any]]:
    """Every comment on the call's segments, oldest first (threads by parent_id)."""
    with _library_edit(access) as session:
        return [c.as_dict() for c in workbench.call_comments(session, access.actor, call_id)]


@router.post(
    "/cases/{case_id}/calls/{call_id}/segments/{segment_id}/comments",
    response_model=CommentOut,
    responses=ERRORS,
    openapi_extra=needs("EDIT_TRANSLATION"),
)
def add_comment(
    access: Access, call_id: CallId, segment_id: CallId, comment: CommentIn
) -> dict[str, Any]:
    """Comment on a segment, or reply to a comment (parent_id); audited, never exported."""
    with _library_edit(access) as session:
        return workbench.add_comment(
            session,
            access.actor,
            call_id=call_id,
            segment_id=segment_id,
            text=comment.text,
            parent_id=comment.parent_id,
        ).as_dict()


@router.get(
    "/cases/{case_id}/calls/{call_id}/segments/{segment_id}/translation/history",
    response_model=list[TranslationVersionOut],
    responses=ERRORS,
)
def translation_history(
    access: Access, call_id: CallId, segment_id: CallId
) -> list[dict[str, Any]]:
    """Every saved state of the segment's English: version, status, who, what, when."""
    with _library_edit(access) as session:
        return [
            v.as_dict()
            for v in workbench.segment_translation_history(
                session, access.actor, call_id=call_id, segment_id=segment_id
            )
        ]


class SegmentTextIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    version: int = Field(ge=1, le=2**31 - 1)


class SegmentTextOut(BaseModel):
    segment_id: int
    call_id: int
    version: int
    text: str
    actor: str
    at: str
    analysis: dict[str, Any] | None = None


@router.put(
    "/cases/{case_id}/calls/{call_id}/segments/{segment_id}/text",
    response_model=SegmentTextOut,
    responses={
        **ERRORS,
        409: {"description": "Someone corrected the segment since you loaded it."},
    },
    openapi_extra=needs("EDIT_TRANSCRIPT"),
)
def correct_text(access: Access, call_id: CallId, segment_id: CallId, edit: SegmentTextIn) -> Any:
    """Correct a segment's Russian; only that segment is re-analysed and re-indexed.
    Refused with 409 (and the current text) if it changed since `version`."""
    try:
        with _library_edit(access) as session:
            return workbench.correct_segment_text(
                session,
                access.actor,
                call_id=call_id,
                segment_id=segment_id,
                text=edit.text,
                expected_version=edit.version,
            ).as_dict()
    except StaleEditError as exc:
        with access.case.session() as session:
            versions = workbench.segment_text_versions(
                session, access.actor, call_id=call_id, segment_id=segment_id
            )
        current = versions[-1].as_dict() if versions else {}
        return JSONResponse({"detail": str(exc), "current": current}, status_code=409)


@router.get(
    "/cases/{case_id}/calls/{call_id}/segments/{segment_id}/text/history",
    response_model=list[SegmentTextOut],
    responses=ERRORS,
)
def text_history(access: Access, call_id: CallId, segment_id: CallId) -> list[dict[str, Any]]:
    """Every recorded state of the segment's Russian (empty: never corrected)."""
    with _library_edit(access) as session:
        return [
            v.as_dict()
            for v in workbench.segment_text_versions(
                session, access.actor, call_id=call_id, segment_id=segment_id
            )
        ]


class VoiceMatchDecision(BaseModel):
    call_a: CallId
    party_a: str = Field(pattern="^[AB]$")
    call_b: CallId
    party_b: str = Field(pattern="^[AB]$")
    decision: Literal["confirm", "reject"]
    note: str | None = Field(default=None, max_length=2000)


@router.post(
    "/cases/{case_id}/voice-matches",
    response_model=edits.VoiceLinkRecord,
    responses=ERRORS,
    openapi_extra=needs("VERIFY"),
)
def decide_voice_match(access: Access, decision: VoiceMatchDecision) -> Any:
    """Confirm (same voice: both sides become one person) or reject a proposed voice
    match named by its two call sides."""
    with _library_edit(access) as session:
        return edits.decide_voice_link(
            session,
            access.actor,
            confirm=decision.decision == "confirm",
            sides=((decision.call_a, decision.party_a), (decision.call_b, decision.party_b)),
            note=decision.note,
        ).as_dict()


class ProposalDecision(BaseModel):
    accept: bool
    note: str | None = Field(default=None, max_length=2000)


@router.post(
    "/cases/{case_id}/proposals/{link_id}",
    responses=ERRORS,
    openapi_extra=needs("VERIFY"),
)
def decide_proposal(access: Access, link_id: RowId, decision: ProposalDecision) -> Any:
    """Accept or reject an attribution proposal (a self-identification, a voice proposal)."""
    with _library_edit(access) as session:
        return workbench.decide_attribution(
            session, access.actor, link_id, accept=decision.accept, note=decision.note
        ).as_dict()


class SavedSearchIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    query: str = Field(min_length=1, max_length=500)


class SavedSearchOut(BaseModel):
    id: int
    name: str
    query: str
    owner: str
    at: str


@router.get(
    "/cases/{case_id}/saved-searches", response_model=list[SavedSearchOut], responses=ERRORS
)
def saved_searches(access: Access) -> list[dict[str, Any]]:
    """Your saved searches in this case, by name."""
    with _library_edit(access) as session:
        return [s.as_dict() for s in workbench.saved_searches(session, access.actor)]


@router.post(
    "/cases/{case_id}/saved-searches",
    response_model=SavedSearchOut,
    responses=ERRORS,
    openapi_extra=needs("READ"),
)
def save_search(access: Access, saved: SavedSearchIn) -> dict[str, Any]:
    """Save a query under a name (the same name replaces it); a malformed query is refused."""
    with _library_edit(access) as session:
        return workbench.save_search(
            session, access.actor, name=saved.name, query=saved.query
        ).as_dict()


@router.delete(
    "/cases/{case_id}/saved-searches/{search_id}",
    status_code=204,
    responses=ERRORS,
    openapi_extra=needs("READ"),
)
def delete_saved_search(access: Access, search_id: RowId) -> None:
    """Remove one of your saved searches."""
    with _library_edit(access) as session:
        workbench.delete_saved_search(session, access.actor, search_id)
