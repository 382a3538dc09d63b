"""The FastAPI application: security middleware, login, static assets, routers.

Security is applied here once for every route rather than per page: the session
cookie is read, state-changing requests must carry the session's CSRF token in the
``X-CSRF-Token`` header (pages send it from htmx/fetch; the login form, the one
request made without a session, has its own token) and come from the configured public
origin (never judged by the request's own Host header), and every response carries a
strict Content-Security-Policy. Styles may use a per-response nonce because
wavesurfer.js builds its waveform in a shadow DOM with its own ``<style>``; scripts
are only ever files from ``/static``.

A session store that cannot answer (Redis gone) makes the request fail closed with a 503
and a generic message: the browser learns nothing about the store, the server log gets
the store's redacted address and the reason, never a password or a stack trace.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from ..errors import EarshotError, SessionStoreError
from ..security.errors import LockedOutError
from ..store.case import Case
from . import (
    api,
    api_publish,
    identity_api,
    intake_api,
    pages,
    segments_api,
    slang,
    workbench_api,
)
from .access import Accounts, role_name
from .context import LoginRequiredError, TokenLogin, WebOptions, WebState
from .errors import install_error_pages
from .sessions import MemorySessionStore, SessionStore

__all__ = ["COOKIE", "create_app"]

COOKIE = "earshot_session"
LOGIN_COOKIE = "earshot_login"
HERE = Path(__file__).parent
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
STORE_DOWN = "logins are unavailable right now (the session store is not answering); try again soon"
# The login page shows only these texts, chosen by a code in the URL: never text from it.
LOGIN_MESSAGES = {
    "expired": "The login form expired; try again.",
    "failed": "Wrong username or password.",
    "wait": "Too many failed sign-ins; wait a little and try again.",
    "unavailable": "Logins are unavailable right now; try again soon.",
}

log = logging.getLogger(__name__)


def _csp(nonce: str) -> str:
    return (
        "default-src 'self'; script-src 'self'; "
        f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def _security_headers(response: Response, nonce: str) -> None:
    headers = response.headers
    headers["Content-Security-Policy"] = _csp(nonce)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
    )
    if "cache-control" not in headers:
        headers["Cache-Control"] = "no-store"


def create_app(
    cases: list[Case],
    accounts: Accounts,
    options: WebOptions | None = None,
    sessions: SessionStore | None = None,
) -> FastAPI:
    """The web app serving `cases`, with logins checked against `accounts`.

    `sessions` is where logins live (``open_session_store``; the caller closes it);
    by default this process's memory, with the idle timeout of `options`.
    """
    options = options or WebOptions()
    dispatcher = _dispatcher(cases)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Jobs outlive the server: those whose worker went with the last server are queued
        # again, and a worker is started for what waits.
        for case in cases:
            try:
                await run_in_threadpool(dispatcher.start, case)
            except EarshotError as exc:
                log.error("background jobs of %s not resumed: %s", case.path, exc)
        dispatcher.supervise(cases)
        yield
        await run_in_threadpool(dispatcher.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="Earshot",
        version="1",
        description="Case data of an Earshot workbench. Every endpoint needs a login: a "
        "personal API token (`Authorization: Bearer`, made with `earshot user token create`) "
        "or the browser's session, whose state changes also need its X-CSRF-Token header.",
        docs_url=None,
        redoc_url=None,
        # Served below behind the login: the schema maps every route and is for users only.
        openapi_url=None,
    )
    app.state.web = WebState(
        cases={c.case_id: c for c in cases},
        accounts=accounts,
        options=options,
        sessions=MemorySessionStore(options.idle_timeout_s) if sessions is None else sessions,
        policy=_load_policy(options.redaction_policy),
        jobs=dispatcher,
    )
    origins = tuple(o.strip().rstrip("/").lower() for o in options.public_origins)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.autoescape = True
    templates.env.globals["role_name"] = role_name
    app.state.templates = templates

    @app.middleware("http")
    async def security(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        web: WebState = request.app.state.web
        nonce = secrets.token_urlsafe(16)
        request.state.csp_nonce = nonce
        token = request.cookies.get(COOKIE)
        bearer = _bearer(request)
        refused: Response | None = None
        try:
            if bearer is not None:
                # An API client: the token is the login (no cookie, no CSRF token).
                request.state.login = await run_in_threadpool(_token_login, web, bearer)
                if request.state.login is None:
                    refused = JSONResponse(
                        {"detail": "invalid, expired or revoked API token"},
                        status_code=401,
                        headers={"WWW-Authenticate": "Bearer"},
                    )
            else:
                # In a worker thread: a Redis round trip must not stall the event loop.
                request.state.login = (
                    await run_in_threadpool(web.sessions.get, token) if token else None
                )
        except SessionStoreError as exc:
            refused = _store_down(exc)
        else:
            refused = refused or (None if bearer is not None else _refuse_unsafe(request, origins))
        response = refused or await call_next(request)
        _security_headers(response, nonce)
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "private, max-age=3600"
        return response

    @app.exception_handler(LoginRequiredError)
    async def login_required(request: Request, exc: LoginRequiredError) -> Response:
        if request.url.path.startswith("/api/") or request.method not in SAFE_METHODS:
            return JSONResponse({"detail": "log in first"}, status_code=401)
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(SessionStoreError)
    async def store_down(request: Request, exc: SessionStoreError) -> Response:
        return _store_down(exc)

    @app.exception_handler(EarshotError)
    async def library_error(request: Request, exc: EarshotError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/", error: str = "") -> Response:
        token = secrets.token_urlsafe(24)
        response = templates.TemplateResponse(
            request,
            "login.html",
            {"login_token": token, "next": _local(next), "error": LOGIN_MESSAGES.get(error, "")},
        )
        _set_cookie(request, response, LOGIN_COOKIE, token, options.secure_cookies, path="/login")
        return response

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=1000)],
        login_token: Annotated[str, Form(max_length=100)],
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        web: WebState = request.app.state.web
        expected = request.cookies.get(LOGIN_COOKIE) or ""
        if not expected or not secrets.compare_digest(expected, login_token):
            return _login_again(next, "expired")
        client = options.proxies.client(
            request.client.host if request.client else None, request.headers
        )
        try:
            user = web.accounts.authenticate(username, password, client=client)
        except SessionStoreError as exc:  # a shared (Redis) throttle that cannot answer
            log.error("%s", exc)
            return _login_again(next, "unavailable")
        except LockedOutError as exc:
            return _login_again(next, "wait", retry_after=exc.retry_after)
        except EarshotError:
            return _login_again(next, "failed")
        try:
            # The account's normalized name ("Alice " -> "alice"), so that roles, the audit
            # log and ending a user's sessions all see one name.
            session = web.sessions.create(user.username)
        except SessionStoreError as exc:
            log.error("%s", exc)  # redacted URL and reason, never the password
            return _login_again(next, "unavailable")
        response = RedirectResponse(_local(next), status_code=303)
        _set_cookie(request, response, COOKIE, session.token, options.secure_cookies)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        web: WebState = request.app.state.web
        web.sessions.drop(request.cookies.get(COOKIE))
        response = Response(status_code=204, headers={"HX-Redirect": "/login"})
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request) -> Response:
        """Interactive API documentation (Swagger UI, vendored) for logged-in users."""
        login = getattr(request.state, "login", None)
        if login is None:
            return RedirectResponse("/login?next=/api/docs", status_code=303)
        return HTMLResponse(API_DOCS.replace("{csrf}", login.csrf))

    install_error_pages(app)

    @app.get(API_SCHEMA, include_in_schema=False)
    def api_schema(request: Request) -> Response:
        """The OpenAPI schema, for a logged-in user or a valid bearer token only."""
        if getattr(request.state, "login", None) is None:
            return JSONResponse(
                {"detail": "log in first"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return JSONResponse(app.openapi())

    _document_security(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(api_publish.router)
    app.include_router(workbench_api.router)
    app.include_router(segments_api.router)
    app.include_router(intake_api.router)
    app.include_router(intake_api.page_router)
    app.include_router(identity_api.router)
    app.include_router(pages.router)
    app.include_router(slang.api_router)
    app.include_router(slang.page_router)
    return app


API_SCHEMA = "/openapi.json"

API_DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Earshot API</title>
<meta name="csrf-token" content="{csrf}">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head><body><div id="swagger-ui" data-spec="/openapi.json"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/js/api-docs.js"></script>
</body></html>
"""

SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (`earshot user token create USER --name ...`); "
        "acts with the user's roles.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE,
        "description": "The browser's login session (POST /login).",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "With the session cookie, every state change carries the session's "
        "CSRF token (the page's csrf-token meta); not needed with a bearer token.",
    },
}


def _document_security(app: FastAPI) -> None:
    """Declare in the OpenAPI schema how /api is authenticated: a bearer token, or the
    session cookie plus the CSRF header for changes."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = plain()
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for method, operation in operations.items():
                cookie: dict[str, list[str]] = {"session": []}
                if method.upper() not in SAFE_METHODS:
                    cookie["csrf"] = []
                operation["security"] = [{"bearer": []}, cookie]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _dispatcher(cases: list[Case]) -> Any:
    """The background jobs' dispatcher (earshot.jobs), its queue settings checked now."""
    from ..jobs import JobDispatcher, rq_target

    for case in cases:  # a bad jobs_queue fails at start, not at the first upload
        rq_target(case.settings.jobs_queue, case.settings.session_store)
    return JobDispatcher()


def _load_policy(path: Path | None) -> Any:
    """The redaction policy named in the options, validated now (a bad file fails at start)."""
    if path is None:
        return None
    from ..publish.policy import load_policy

    return load_policy(path)


def _store_down(exc: SessionStoreError) -> Response:
    """503 for a session store that cannot answer; the details go to the log only."""
    log.error("%s", exc)  # the message holds the store's redacted URL, never its password
    return JSONResponse({"detail": STORE_DOWN}, status_code=503, headers={"Retry-After": "10"})


def _bearer(request: Request) -> str | None:
    """The API token of an ``Authorization: Bearer`` request to /api or the schema, if any."""
    header = request.headers.get("authorization")
    path = request.url.path
    if not header or not (path.startswith("/api/") or path == API_SCHEMA):
        return None
    scheme, _, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else None


def _token_login(web: WebState, secret: str) -> TokenLogin | None:
    tokens = getattr(web.accounts, "tokens", None)
    if tokens is None:
        return None
    try:
        api_token = tokens.authenticate(secret)
    except EarshotError:
        return None
    now = time.time()
    return TokenLogin(
        token="", username=api_token.username, csrf="", created=now, last_seen=now,
        api_token=api_token,
    )  # fmt: skip


def _refuse_unsafe(request: Request, public_origins: tuple[str, ...]) -> Response | None:
    """Refuse a state change without this session's CSRF token or from another origin.

    The Origin is compared with the configured public origin(s), not with the request's
    Host header: a Host header is whatever the client (or a rebinding DNS name) says.
    """
    if request.method in SAFE_METHODS:
        return None
    origin = request.headers.get("origin")
    # "null" is what browsers send under Referrer-Policy no-referrer; the tokens decide then.
    if origin and origin != "null" and origin.rstrip("/").lower() not in public_origins:
        return JSONResponse({"detail": "cross-origin request refused"}, status_code=403)
    if request.url.path == "/login":
        return None  # checked by its own form token: there is no session yet
    login = request.state.login
    if login is None:
        return JSONResponse({"detail": "log in first"}, status_code=401)
    if not login.csrf_ok(request.headers.get("x-csrf-token")):
        return JSONResponse(
            {"detail": "missing or wrong CSRF token; reload the page and try again"},
            status_code=403,
        )
    return None


def _local(target: str) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_again(next_: str, code: str, *, retry_after: int = 0) -> Response:
    """Back to the form with an error *code* (see LOGIN_MESSAGES), never a text."""
    url = f"/login?next={quote(_local(next_), safe='/')}&error={code}"
    response = RedirectResponse(url, status_code=303)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _set_cookie(
    request: Request, response: Response, name: str, value: str, secure: bool, path: str = "/"
) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        path=path,
        secure=secure or request.url.scheme == "https",
    )
