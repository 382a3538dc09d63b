"""The case lexicon in the browser and the API: list, add, remove entries; jargon candidates.

Every change goes through :mod:`earshot.language.case_lexicon` with the logged-in user as
the actor (so the entry is kept with who added it), needs the TAG permission, and is
audited. The page's form posts form fields (htmx, CSRF header from app.js); the API takes
JSON. Both answer a refused entry with the library's one-line message (422).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from ..language.candidates import find_candidates
from ..language.case_lexicon import (
    CaseLexiconError,
    add_case_entry,
    list_case_entries,
    remove_case_entry,
)
from ..language.lexicon import CATEGORIES
from .access import audit
from .api import ERRORS, needs
from .context import Access, CaseAccess
from .pages import render

__all__ = ["api_router", "page_router"]

api_router = APIRouter(prefix="/api", tags=["slang"])
page_router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def tag_access(access: Access) -> CaseAccess:
    """The case access of a change: checked before the body is read, so a role without
    TAG gets 403 whatever it sent."""
    access.require("TAG")
    return access


Tagger = Annotated[CaseAccess, Depends(tag_access)]


class CaseEntryIn(BaseModel):
    term: str = Field(min_length=1, max_length=80)
    forms: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=50
    )
    gloss: str = Field(min_length=1, max_length=500)
    category: str = Field(min_length=1, max_length=40)
    notes: str = Field(default="", max_length=2000)
    slur: bool = False
    coarse: bool = False


def _add(access: CaseAccess, entry: CaseEntryIn) -> dict[str, Any]:
    access.require("TAG")
    try:
        added = add_case_entry(
            access.case,
            term=entry.term,
            forms=entry.forms,
            gloss=entry.gloss,
            category=entry.category,
            notes=entry.notes,
            slur=entry.slur,
            coarse=entry.coarse,
            actor=access.user,
        )
    except CaseLexiconError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    with access.case.session() as session:
        audit(
            session,
            user=access.user,
            action="slang_add",
            object_type="case_lexicon",
            object_id=added.term,
            detail={"forms": list(added.forms), "gloss": added.gloss, "hits": added.hits},
        )
    return added.as_dict()


@api_router.get("/cases/{case_id}/slang/lexicon", responses=ERRORS)
def lexicon(access: Access) -> dict[str, Any]:
    """The case lexicon: entries editors added, who added each, and their hits."""
    with access.case.session() as session:
        return {"entries": [e.as_dict() for e in list_case_entries(session)]}


@api_router.post("/cases/{case_id}/slang/lexicon", responses=ERRORS, openapi_extra=needs("TAG"))
def add_entry(access: Tagger, entry: CaseEntryIn) -> dict[str, Any]:
    """Add (or replace) a case-lexicon entry and mark it in every segment of the case."""
    return _add(access, entry)


@api_router.delete("/cases/{case_id}/slang/lexicon", responses=ERRORS, openapi_extra=needs("TAG"))
def delete_entry(
    access: Tagger, term: Annotated[str, Query(min_length=1, max_length=80)]
) -> dict[str, Any]:
    """Remove a case-lexicon entry (?term=...) and its hits."""
    try:
        remove_case_entry(access.case, term)
    except CaseLexiconError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    with access.case.session() as session:
        audit(
            session,
            user=access.user,
            action="slang_remove",
            object_type="case_lexicon",
            object_id=term,
        )
    return {"removed": term}


@api_router.get("/cases/{case_id}/slang/candidates", responses=ERRORS)
def candidates(
    access: Access,
    min_count: Annotated[int, Query(ge=1, le=1000)] = 2,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Words, abbreviations and phrases that look like jargon no lexicon knows yet."""
    with access.case.session() as session:
        found = find_candidates(session, min_count=min_count, limit=limit)
    return {"candidates": [c.as_dict() for c in found]}


def _page(request: Request, access: CaseAccess, **extra: Any) -> Response:
    with access.case.session() as session:
        entries = [e.as_dict() for e in list_case_entries(session)]
        found = [c.as_dict() for c in find_candidates(session, limit=30)]
    return render(
        request,
        "slang.html",
        access,
        page="slang",
        entries=entries,
        candidates=found,
        categories=sorted(CATEGORIES),
        **extra,
    )


@page_router.get("/cases/{case_id}/slang")
def slang_page(request: Request, access: Access) -> Response:
    return _page(request, access)


@page_router.post("/cases/{case_id}/slang", openapi_extra=needs("TAG"))
def slang_form(
    request: Request,
    access: Tagger,
    term: Annotated[str, Form(min_length=1, max_length=80)],
    forms: Annotated[str, Form(min_length=1, max_length=2000)],
    gloss: Annotated[str, Form(min_length=1, max_length=500)],
    category: Annotated[str, Form(min_length=1, max_length=40)],
    notes: Annotated[str, Form(max_length=2000)] = "",
    slur: Annotated[bool, Form()] = False,
    coarse: Annotated[bool, Form()] = False,
) -> Response:
    """The page's form: one form per line or comma; answers with the refreshed page."""
    split = [f.strip() for f in forms.replace("\n", ",").split(",") if f.strip()]
    entry = CaseEntryIn(
        term=term.strip(),
        forms=split or [forms],
        gloss=gloss,
        category=category,
        notes=notes,
        slur=slur,
        coarse=coarse,
    )
    try:
        added = _add(access, entry)
    except HTTPException as exc:
        if exc.status_code != 422:
            raise
        return _page(request, access, error=str(exc.detail))
    return _page(request, access, added=added)
