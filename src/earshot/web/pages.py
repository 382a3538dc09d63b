"""Server-rendered pages (Jinja2, autoescaped; HTMX and small scripts from /static).

Each page reads through :mod:`views` / :mod:`insights`, the same functions as the
JSON API, and passes data that scripts need as a JSON data block (never inline
script), so the Content-Security-Policy can forbid inline scripts entirely.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..identity import EVIDENCE_KINDS
from ..vocab import TranslationStatus, VerificationStatus
from . import insights, publishing, views
from .access import audit, load_viewed, role_name
from .context import Access, CaseAccess, Login, WebState

__all__ = ["router"]

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def render(request: Request, name: str, access: CaseAccess | None, **context: Any) -> Response:
    templates = request.app.state.templates
    login = request.state.login
    base = {
        "login": login,
        "csrf": login.csrf if login else "",
        "nonce": request.state.csp_nonce,
        "access": access,
        "case": access.case if access else None,
        "case_url": f"/cases/{access.case.case_id}" if access else "",
        "api_url": f"/api/cases/{access.case.case_id}" if access else "",
        "can": access.can if access else (lambda _p: False),
    }
    response: Response = templates.TemplateResponse(request, name, {**base, **context})
    return response


@router.get("/")
def home(request: Request, login: Login) -> Response:
    web: WebState = request.app.state.web
    mine = []
    for case_id, case in web.cases.items():
        role = web.accounts.role(login.username, case_id)
        if role is not None:
            mine.append({"id": case_id, "name": case.path.name, "role": role_name(role)})
    if len(mine) == 1:
        return RedirectResponse(f"/cases/{mine[0]['id']}", status_code=303)
    return render(request, "home.html", None, cases=mine)


@router.get("/cases/{case_id}")
def overview(request: Request, access: Access) -> Response:
    with access.case.session() as session:
        data = views.case_overview(session)
    return render(request, "overview.html", access, page="overview", data=data)


@router.get("/cases/{case_id}/calls")
def calls(
    request: Request, access: Access, filters: Annotated[views.CallFilters, Query()]
) -> Response:
    with access.case.session() as session:
        data = views.calls_page(session, filters)
    return render(request, "calls.html", access, page="calls", data=data, filters=filters)


@router.get("/cases/{case_id}/calls/{call_id}")
def call(request: Request, access: Access, call_id: RowId) -> Response:
    with access.case.session() as session:
        detail = load_viewed(
            session,
            user=access.user,
            kind="call",
            object_id=call_id,
            load=views.call_detail,
            via="page",
        )
        persons = views.persons_list(session)
        from .. import workbench

        proposals = [p.as_dict() for p in workbench.call_proposals(session, access.actor, call_id)]
        layout = workbench.layout_version(session, call_id)
        side_history = {
            label: [e.as_dict() for e in entries]
            for label, entries in workbench.call_side_histories(
                session, access.actor, call_id
            ).items()
        }
        side_evidence = [
            e.as_dict() for e in workbench.side_evidence(session, access.actor, call_id=call_id)
        ]
    return render(
        request,
        "call.html",
        access,
        page="calls",
        detail=detail,
        persons=persons,
        statuses=[s.value for s in TranslationStatus],
        player={
            "audio": f"/api/cases/{access.case.case_id}/calls/{call_id}/audio",
            "peaks": f"/api/cases/{access.case.case_id}/calls/{call_id}/peaks",
            "translation": f"/api/cases/{access.case.case_id}/calls/{call_id}/segments/",
            "themes": f"/api/cases/{access.case.case_id}/calls/{call_id}/themes",
            "entities": f"/api/cases/{access.case.case_id}/calls/{call_id}/entities/",
            "draft_key": f"earshot:{access.case.case_id}:{call_id}:",
            "clip": f"/api/cases/{access.case.case_id}/calls/{call_id}/clip",
            "comments": f"/api/cases/{access.case.case_id}/calls/{call_id}/comments",
            "can_comment": access.can("EDIT_TRANSLATION"),
            "can_correct": access.can("EDIT_TRANSCRIPT"),
            "layout_version": layout,
            "parties": sorted({p["label"] for p in detail["call"]["parties"]}) or ["A", "B"],
        },
        audio_formats=publishing.AUDIO_FORMATS,
        proposals=proposals,
        side_history=side_history,
        side_evidence=side_evidence,
        evidence_kinds=EVIDENCE_KINDS,
        verification_statuses=[s.value for s in VerificationStatus],
    )


@router.get("/cases/{case_id}/persons")
def persons(
    request: Request,
    access: Access,
    sort: Annotated[Literal["name", "role", "calls", "sides", "status"], Query()] = "name",
    desc: bool = False,
) -> Response:
    from .. import workbench

    with access.case.session() as session:
        people = workbench.persons_overview(session, access.actor, sort=sort, descending=desc)
    return render(
        request,
        "persons.html",
        access,
        page="persons",
        persons=[p.as_dict() for p in people],
        sort=sort,
        desc=desc,
    )


@router.get("/cases/{case_id}/persons/{person_id}")
def person(request: Request, access: Access, person_id: RowId) -> Response:
    with access.case.session() as session:
        detail = load_viewed(
            session,
            user=access.user,
            kind="person",
            object_id=person_id,
            load=views.person_detail,
            via="page",
        )
        from .. import workbench

        proposed = [
            v.as_dict() for v in workbench.person_voice_proposals(session, access.actor, person_id)
        ]
        history = [e.as_dict() for e in workbench.person_history(session, access.actor, person_id)]
        others = [
            {"id": p.id, "name": p.name}
            for p in workbench.persons_overview(session, access.actor)
            if p.id != person_id
        ]
    return render(
        request,
        "person.html",
        access,
        page="persons",
        person=detail,
        voice_proposals=proposed,
        statuses=[s.value for s in VerificationStatus],
        history=history,
        others=others,
        evidence_kinds=EVIDENCE_KINDS,
        open_merge=next((m for m in reversed(detail["merges"]) if not m["reversed_at"]), None),
    )


@router.get("/cases/{case_id}/search")
def search(
    request: Request, access: Access, q: Annotated[str, Query(max_length=insights.MAX_QUERY)] = ""
) -> Response:
    with access.case.session() as session:
        result = insights.search(session, q)
        if q:
            audit(
                session,
                user=access.user,
                action="search",
                object_type="case",
                object_id=access.case.case_id,
                detail={"query": q[:200]},
            )
    base = f"/cases/{access.case.case_id}"
    for hit in result["hits"]:
        hit["pieces"] = views.text_pieces(
            hit["text"], [{"kind": "hit", "start": a, "end": b} for a, b in hit["highlights"]]
        )
        hit["href"] = views.hit_link(base, hit)
    facet_links = views.facet_links(base, result["query"], result["facets"])
    from .. import workbench

    with access.case.session() as session:
        saved = [s.as_dict() for s in workbench.saved_searches(session, access.actor)]
    return render(
        request,
        "search.html",
        access,
        page="search",
        result=result,
        q=q,
        facet_links=facet_links,
        saved=saved,
    )


@router.get("/cases/{case_id}/trends")
def trends(request: Request, access: Access) -> Response:
    return render(request, "trends.html", access, page="trends")


@router.get("/cases/{case_id}/map")
def map_page(request: Request, access: Access) -> Response:
    from ..analysis.places_map import place_map

    with access.case.session() as session:
        found = place_map(session).as_dict()
    return render(
        request,
        "map.html",
        access,
        page="map",
        places=found["places"],
        read_as_slang=found["read_as_slang"],
        unplaced=found["unplaced_records"],
    )


@router.get("/cases/{case_id}/graph")
def graph(request: Request, access: Access) -> Response:
    return render(request, "graph.html", access, page="graph")


@router.get("/cases/{case_id}/quotes")
def quotes(
    request: Request,
    access: Access,
    call: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    with access.case.session() as session:
        listing = views.calls_page(session, views.CallFilters())
        detail = views.call_detail(session, call) if call else None
        saved = publishing.quote_rows(session)
    return render(
        request,
        "quotes.html",
        access,
        page="quotes",
        calls=listing["calls"],
        detail=detail,
        chosen=call,
        saved=saved,
        sheet_formats=publishing.SHEET_FORMATS,
        builder={
            "check": f"/api/cases/{access.case.case_id}/quotes/check",
            "save": f"/api/cases/{access.case.case_id}/quotes",
            "sheet": f"/api/cases/{access.case.case_id}/quotes/sheet",
            "call": call,
            "draft_key": f"earshot:{access.case.case_id}:quote:{call}",
        },
    )


@router.get("/cases/{case_id}/export")
def export(request: Request, access: Access) -> Response:
    with access.case.session() as session:
        listing = views.calls_page(session, views.CallFilters())
        names = publishing.pseudonym_rows(
            session, operator=access.user, assign=access.can("PUBLISH_REDACTED")
        )
    return render(
        request,
        "export.html",
        access,
        page="export",
        calls=listing["calls"],
        formats=publishing.export_format_names(),
        pseudonyms=names,
    )
