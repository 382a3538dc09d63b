"""Server-side login sessions: a random token in the cookie, everything else here.

Why server-side: a signed cookie cannot be revoked and would carry the role to the
client. The token is 256 random bits (``secrets``), so it needs no signature; the
session dies on logout, after ``idle_timeout`` without a request, or when its store
forgets it. Each session has its own CSRF token, compared in constant time on every change.

Where sessions live is a :class:`SessionStore`, chosen by the ``session_store`` setting
through :func:`open_session_store`: ``memory`` (this process only; a restart logs everyone
out) or a Redis URL (:mod:`earshot.web.sessions_redis`), shared by several servers and
surviving their restarts.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from ..errors import SessionStoreError
from ..settings import resolve_secret

__all__ = [
    "DEFAULT_PREFIX",
    "REDIS_SCHEMES",
    "LoginSession",
    "MemorySessionStore",
    "SessionStore",
    "new_session",
    "open_session_store",
]

DEFAULT_PREFIX = "earshot:session:"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass
class LoginSession:
    """One logged-in browser."""

    token: str
    username: str
    csrf: str
    created: float
    last_seen: float

    def csrf_ok(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(self.csrf, offered)


def new_session(username: str, now: float) -> LoginSession:
    """A fresh session with its own random cookie token and CSRF token."""
    return LoginSession(
        token=secrets.token_urlsafe(32),
        username=username,
        csrf=secrets.token_urlsafe(32),
        created=now,
        last_seen=now,
    )


class SessionStore(Protocol):
    """What the web app needs from a session store; every method is thread-safe.

    A store that cannot answer (Redis gone) raises :class:`SessionStoreError` rather than
    guessing: the app then refuses the request with 503 instead of logging people out
    or, worse, keeping a revoked session alive.
    """

    def create(self, username: str) -> LoginSession:
        """A new session for `username`, already stored."""
        ...

    def get(self, token: str | None) -> LoginSession | None:
        """The live session for `token`, touched; None if unknown or idle too long."""
        ...

    def drop(self, token: str | None) -> None:
        """End one session (logout); unknown tokens are ignored."""
        ...

    def drop_user(self, username: str) -> None:
        """End every session of `username` (account disabled, password changed)."""
        ...

    def close(self) -> None:
        """Release connections; the sessions themselves stay where they are stored."""
        ...


class MemorySessionStore:
    """Thread-safe map token -> session in this process, expiring idle ones on access.

    For one server process: nothing survives a restart and other processes see nothing.
    Times are monotonic (``_now`` is the tests' clock seam).
    """

    def __init__(self, idle_timeout: float) -> None:
        self.idle_timeout = idle_timeout
        self._sessions: dict[str, LoginSession] = {}
        self._lock = threading.Lock()
        self._now = time.monotonic

    def create(self, username: str) -> LoginSession:
        session = new_session(username, self._now())
        with self._lock:
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> LoginSession | None:
        """The live session for `token`, touched; None if unknown or idle too long."""
        if not token:
            return None
        now = self._now()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.last_seen > self.idle_timeout:
                del self._sessions[token]
                return None
            session.last_seen = now
            return session

    def drop(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(token, None)

    def drop_user(self, username: str) -> None:
        with self._lock:
            for token in [t for t, s in self._sessions.items() if s.username == username]:
                del self._sessions[token]

    def close(self) -> None:
        """Nothing to release; the sessions die with the process."""


def open_session_store(
    spec: str, idle_timeout: float, *, prefix: str = DEFAULT_PREFIX
) -> SessionStore:
    """The store named by the ``session_store`` setting, checked now so a bad one fails at start.

    `spec` is ``memory`` or a ``redis://``, ``rediss://`` or ``unix://`` URL, possibly as
    ``env:VAR`` (resolved here, so the URL and its password stay out of the case config).
    A Redis server is pinged once; an unknown, malformed or unreachable store raises
    :class:`SessionStoreError` with the password redacted from the message.
    """
    resolved = resolve_secret(spec.strip()).strip()
    if resolved == "memory":
        return MemorySessionStore(idle_timeout)
    from .sessions_redis import RedisSessionStore, redact_url

    origin = f" (from {spec.strip()})" if spec.strip().startswith("env:") else ""
    if not resolved.lower().startswith(REDIS_SCHEMES):
        raise SessionStoreError(
            f"unknown session store {redact_url(resolved)!r}{origin}: use 'memory' or a "
            "redis://, rediss:// or unix:// URL (setting session_store, EARSHOT_SESSION_STORE, "
            "or --session-store)"
        )
    store = RedisSessionStore(resolved, idle_timeout, prefix=prefix)
    try:
        store.ping()
    except SessionStoreError:
        store.close()
        raise
    return store
