"""Error answers for people: an HTML page for a browser route, JSON for /api.

A browser that follows a stale link or types a wrong call number gets a page with
the site's look and a way back, never the raw JSON an API client wants.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["TITLES", "for_browser", "install_error_pages", "wants_html"]

TITLES = {
    400: "Bad request",
    401: "Log in first",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Changed meanwhile",
    413: "Too large",
    422: "Not understood",
    429: "Too many requests",
}
_CASE = re.compile(r"^/cases/([0-9a-f]{32})(?:/|$)")


def wants_html(request: Request) -> bool:
    """A page route asked for by a browser (not /api, not a static file, accepts HTML)."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path == "/openapi.json":
        return False
    return "text/html" in request.headers.get("accept", "")


def install_error_pages(app: FastAPI) -> None:
    """Answer HTTP errors on browser routes with error.html; the API keeps JSON."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not wants_html(request):
            # A library refusal that names a command-line fix also says it in the
            # browser's words (`message`, which the pages show); `detail` stays the same.
            if isinstance(exc.detail, str) and request.url.path.startswith("/api/"):
                friendly = for_browser(exc.detail)
                if friendly != exc.detail:
                    return JSONResponse(
                        {"detail": exc.detail, "message": friendly},
                        status_code=exc.status_code,
                        headers=exc.headers,
                    )
            return await http_exception_handler(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is no such page. The link may be old, or the call or person removed."
        case = _CASE.match(request.url.path)
        context: dict[str, Any] = {
            "title": f"{exc.status_code} · {TITLES.get(exc.status_code, 'Error')}",
            "detail": detail,
            "back": f"/cases/{case.group(1)}" if case else None,
            "login": getattr(request.state, "login", None),
            "nonce": getattr(request.state, "csp_nonce", ""),
        }
        response: Response = request.app.state.templates.TemplateResponse(
            request, "error.html", context, status_code=exc.status_code, headers=exc.headers
        )
        return response


# The library's messages name the command-line spelling of a fix; a browser shows the
# control that does the same. The CLI keeps its own wording.
_BROWSER_WORDING: tuple[tuple[str, str], ...] = (
    ("pass --allow-rewrite to keep it as a marked rewrite", "tick “Keep it as a marked rewrite”"),
    (
        "pass --allow-unapproved to quote it marked as unapproved",
        "tick “Quote the unapproved translation”",
    ),
    ("(`earshot translation approve`)", "on the call page"),
    ("(`earshot translate`)", "on the call page"),
    ("give --segments FIRST-LAST within it", "choose segments within it"),
    ("give the edited English with --text", "type the edited English"),
    (
        "add it with `earshot evidence add` and pass its id with --evidence",
        "add it under “Add evidence” and tick it",
    ),
    ("name the call sides to move with --calls CALL:PARTY", "tick the call sides to move"),
    ("split the calls with `earshot person split --calls` instead", "use “Split” instead"),
    (
        "to move some calls to a new person use `earshot person split --calls`",
        "to move some calls to a new person use “Split”",
    ),
    ("raise EARSHOT_MAX_FILE_BYTES if this file is genuine", "ask the case admin to raise it"),
    ("run `earshot case upgrade`", "ask the case admin to upgrade the case"),
)
_COMMAND = re.compile(r"\s*\(?`earshot [^`]*`\)?")


def for_browser(message: str) -> str:
    """A library message as a browser user should read it: no command-line flags."""
    for cli, browser in _BROWSER_WORDING:
        message = message.replace(cli, browser)
    message = re.sub(r";?\s*see\s+`earshot [^`]*`", "", message)
    return _COMMAND.sub("", message)
