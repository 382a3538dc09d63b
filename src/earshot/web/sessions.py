"""Server-side login sessions: a random token in the cookie, everything else here.

Why server-side: a signed cookie cannot be revoked and would carry the role to the
client. The token is 256 random bits (``secrets``), so it needs no signature; the
session dies on logout, after ``idle_timeout`` without a request, or on restart.
Each session has its own CSRF token, compared in constant time on every change.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

__all__ = ["LoginSession", "SessionStore"]


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


class SessionStore:
    """Thread-safe map token -> session, expiring idle ones on access."""

    def __init__(self, idle_timeout: float) -> None:
        self.idle_timeout = idle_timeout
        self._sessions: dict[str, LoginSession] = {}
        self._lock = threading.Lock()
        self._now = time.monotonic

    def create(self, username: str) -> LoginSession:
        now = self._now()
        session = LoginSession(
            token=secrets.token_urlsafe(32),
            username=username,
            csrf=secrets.token_urlsafe(32),
            created=now,
            last_seen=now,
        )
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
