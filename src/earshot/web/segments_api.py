"""API of the transcript's layout on the call page: split, merge, move a boundary,
change a segment's party. Each route calls :mod:`earshot.workbench` (role check,
rule, version, audit, re-analysis) and only turns its refusals into HTTP answers; a
change based on an older layout is answered 409 with the layout version now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from .. import workbench
from ..errors import StaleEditError
from .api import ERRORS, CallId, _library_edit, needs
from .context import Access

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["workbench"])

Version = Field(ge=0, le=2**31 - 1, description="The call's layout version you loaded.")
Seconds = Field(default=None, ge=0, le=10**6)


class SplitIn(BaseModel):
    word: int = Field(ge=1, le=100_000, description="Split before this word (0-based).")
    at: float | None = Seconds
    version: int = Version


class MergeIn(BaseModel):
    version: int = Version


class BoundsIn(BaseModel):
    start: float | None = Seconds
    end: float | None = Seconds
    version: int = Version


class PartyIn(BaseModel):
    party: str = Field(min_length=1, max_length=4)
    version: int = Version


class SegmentEditOut(BaseModel):
    call_id: int
    version: int
    kind: str
    segment_id: int
    other_segment_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    actor: str
    at: str
    analysis: list[dict[str, Any]]


class LayoutOut(BaseModel):
    call_id: int
    version: int
    history: list[SegmentEditOut]


STALE: dict[int | str, dict[str, Any]] = {
    409: {"description": "The call's transcript was changed since you loaded it."}
}
_BASE = "/cases/{case_id}/calls/{call_id}/segments/{segment_id}"


def _stale(access: Access, call_id: int, exc: StaleEditError) -> JSONResponse:
    with access.case.session() as session:
        now = workbench.layout_version(session, call_id)
    return JSONResponse({"detail": str(exc), "version": now}, status_code=409)


class _Edit(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


def _edit(access: Access, call_id: int, change: Callable[[Session], _Edit]) -> Any:
    """Run one layout change in the library's edit session; a stale one is a 409 that
    carries the layout version now."""
    try:
        with _library_edit(access) as session:
            return change(session).as_dict()
    except StaleEditError as exc:
        return _stale(access, call_id, exc)


@router.get("/cases/{case_id}/calls/{call_id}/layout", response_model=LayoutOut, responses=ERRORS)
def layout(access: Access, call_id: CallId) -> dict[str, Any]:
    """The call's layout version and every change to it (split, merge, move, party)."""
    with _library_edit(access) as session:
        history = workbench.segment_edit_history(session, access.actor, call_id)
        return {
            "call_id": call_id,
            "version": workbench.layout_version(session, call_id),
            "history": [h.as_dict() for h in history],
        }


@router.post(
    f"{_BASE}/split",
    response_model=SegmentEditOut,
    responses={**ERRORS, **STALE},
    openapi_extra=needs("EDIT_TRANSCRIPT"),
)
def split(access: Access, call_id: CallId, segment_id: CallId, body: SplitIn) -> Any:
    """Split a segment before a word (at a time, or where the word falls)."""
    return _edit(
        access,
        call_id,
        lambda session: workbench.split_segment(
            session,
            access.actor,
            call_id=call_id,
            segment_id=segment_id,
            word=body.word,
            at=body.at,
            expected_version=body.version,
        ),
    )


@router.post(
    f"{_BASE}/merge",
    response_model=SegmentEditOut,
    responses={**ERRORS, **STALE},
    openapi_extra=needs("EDIT_TRANSCRIPT"),
)
def merge(access: Access, call_id: CallId, segment_id: CallId, body: MergeIn) -> Any:
    """Merge a segment with the next one (the same party's)."""
    return _edit(
        access,
        call_id,
        lambda session: workbench.merge_segments(
            session,
            access.actor,
            call_id=call_id,
            segment_id=segment_id,
            expected_version=body.version,
        ),
    )


@router.put(
    f"{_BASE}/bounds",
    response_model=SegmentEditOut,
    responses={**ERRORS, **STALE},
    openapi_extra=needs("EDIT_TRANSCRIPT"),
)
def bounds(access: Access, call_id: CallId, segment_id: CallId, body: BoundsIn) -> Any:
    """Move a segment's start and/or end (seconds)."""
    return _edit(
        access,
        call_id,
        lambda session: workbench.move_boundary(
            session,
            access.actor,
            call_id=call_id,
            segment_id=segment_id,
            start=body.start,
            end=body.end,
            expected_version=body.version,
        ),
    )


@router.put(
    f"{_BASE}/party",
    response_model=SegmentEditOut,
    responses={**ERRORS, **STALE},
    openapi_extra=needs("EDIT_TRANSCRIPT"),
)
def party(access: Access, call_id: CallId, segment_id: CallId, body: PartyIn) -> Any:
    """Say which side of the call speaks the segment."""
    return _edit(
        access,
        call_id,
        lambda session: workbench.set_party(
            session,
            access.actor,
            call_id=call_id,
            segment_id=segment_id,
            party=body.party,
            expected_version=body.version,
        ),
    )
