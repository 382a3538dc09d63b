"""Per-request state shared by pages and the API: the login, the case and the role.

Every case route resolves its case and the user's role *for that case* here; a user
with no role on a case gets 404, exactly as for a case that does not exist, so the
server never reveals which cases it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam

from ..security.roles import Actor, Role
from ..security.tokens import ApiToken, effective_role
from ..store.case import Case
from .access import Accounts, can, role_name
from .proxies import ProxyTrust
from .sessions import LoginSession, SessionStore

__all__ = [
    "CaseAccess",
    "LoginRequiredError",
    "TokenLogin",
    "WebOptions",
    "WebState",
    "case_access",
    "current_login",
]


@dataclass(frozen=True)
class WebOptions:
    """How the server runs; defaults suit one reporter on their own machine."""

    idle_timeout_s: float = 30 * 60.0
    secure_cookies: bool = False
    # Origins whose state-changing requests are accepted (the `public_origin` setting, or
    # the address served on); a request's own Host header is never trusted for this.
    public_origins: tuple[str, ...] = ()
    # Which peers may tell us the client's address (settings trusted_proxies, forwarded_header).
    proxies: ProxyTrust = field(default_factory=ProxyTrust)
    peaks_per_second: int = 50
    max_peaks: int = 20_000
    # Longest clip the browser may ask for; disguise (WORLD vocoder) takes about half a
    # second per second of audio and channel, so disguised clips are kept shorter.
    max_clip_seconds: float = 300.0
    max_disguise_seconds: float = 60.0
    # Redaction policy for every export, sheet and clip made here (None: the shipped one).
    redaction_policy: Path | None = None


@dataclass
class WebState:
    cases: dict[str, Case]
    accounts: Accounts
    options: WebOptions
    sessions: SessionStore
    policy: Any = None  # earshot.publish.policy.RedactionPolicy, None for the default
    jobs: Any = None  # earshot.jobs.JobDispatcher: starts the workers of background jobs
    root: Path = field(default_factory=lambda: Path(__file__).parent)


@dataclass
class TokenLogin(LoginSession):
    """A request authenticated by a personal API token (``Authorization: Bearer``): no
    cookie, so no CSRF token; its role on each case is the user's, capped by the token."""

    api_token: ApiToken | None = None

    def csrf_ok(self, offered: str | None) -> bool:
        return False  # never needed: a bearer request is not a browser session


class LoginRequiredError(Exception):
    """No live session: pages redirect to the login form, the API answers 401."""


def state(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


def current_login(request: Request) -> LoginSession:
    login: LoginSession | None = getattr(request.state, "login", None)
    if login is None:
        raise LoginRequiredError
    return login


@dataclass(frozen=True)
class CaseAccess:
    """The case a request is about, who asks, and in what role."""

    case: Case
    login: LoginSession
    role: Any

    @property
    def user(self) -> str:
        return self.login.username

    @property
    def actor(self) -> Actor:
        """The library's actor for this request: the logged-in user in their role here."""
        return Actor(self.login.username, Role(role_name(self.role)))

    @property
    def role_name(self) -> str:
        return role_name(self.role)

    def can(self, permission: str) -> bool:
        return can(self.role, permission)

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise HTTPException(
                status_code=403,
                detail=f"your role ({self.role_name}) may not do this "
                f"(needs {permission.lower().replace('_', ' ')})",
            )


CASE_ID = PathParam(pattern=r"^[0-9a-f]{32}$", description="The case id (32 hex digits).")


def case_access(
    request: Request,
    case_id: Annotated[str, CASE_ID],
    login: Annotated[LoginSession, Depends(current_login)],
) -> CaseAccess:
    web = state(request)
    case = web.cases.get(case_id)
    role = web.accounts.role(login.username, case_id) if case is not None else None
    role = effective_role(role, getattr(login, "api_token", None))
    if case is None or role is None or not can(role, "READ"):
        raise HTTPException(status_code=404, detail="no such case")
    return CaseAccess(case=case, login=login, role=role)


Access = Annotated[CaseAccess, Depends(case_access)]
Login = Annotated[LoginSession, Depends(current_login)]
