"""Login sessions in Redis, shared by several servers and surviving their restarts.

What is stored, and why:

- ``<prefix><sha256 hex of the cookie token>`` -> JSON ``{username, csrf, created,
  last_seen}``. The raw token is never stored: whoever reads a Redis dump or backup gets
  hashes, not cookies. The token is 256 random bits, so a plain (unsalted) hash cannot
  be reversed or guessed.
- ``<prefix>user:<username>`` -> set of those hashes, so :meth:`drop_user` can end every
  session of an account (disabled, password changed) without scanning the keyspace.

Idle expiry is Redis's own TTL (the idle timeout, in milliseconds), renewed by every
:meth:`get`; nothing has to sweep. ``created`` and ``last_seen`` are wall-clock times
(``time.time``) because several processes read them. The user set's TTL is only ever
raised, to the longest of its sessions' (servers sharing a store may run with different
idle timeouts), so it cannot expire while one of its sessions still lives.

When Redis cannot answer, every method raises :class:`SessionStoreError` (fail closed: the
app answers 503; a dropped session is never reported as dropped when it was not).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.client import Pipeline
from redis.exceptions import AuthenticationError, RedisError, ResponseError

from ..errors import SessionStoreError
from .sessions import DEFAULT_PREFIX, LoginSession, new_session

__all__ = ["RedisSessionStore", "redact_url"]

# PEXPIRE only when it lengthens the TTL (or the key has none): what PEXPIRE GT/NX do on
# Redis 7, written as a script so that Redis 6 (still common on LTS systems) works too.
_EXTEND = """
local current = redis.call('PTTL', KEYS[1])
local wanted = tonumber(ARGV[1])
if current == -1 or (current >= 0 and current < wanted) then
  return redis.call('PEXPIRE', KEYS[1], wanted)
end
return 0
"""

_TIMEOUT_S = 5.0
_REASON_CHARS = 200


def redact_url(url: str) -> str:
    """`url` fit for a message or a log: ``user:password@`` becomes ``user:***@`` and every
    query value (redis-py also takes ``?password=``) becomes ``***``.

    Written with plain string operations, not a URL parser, so that a malformed URL (the
    case where it is shown) is redacted too; anything up to the last ``@`` counts as
    credentials, which may hide too much but never too little.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***" if "@" in url else url
    credentials, at, rest = rest.rpartition("@")
    if at:
        user, colon, _ = credentials.partition(":")
        safe_user = colon and not any(c in user for c in "/?#")
        rest = f"{user if safe_user else ''}:***@{rest}"
    base, question, query = rest.partition("?")
    if question:
        names = [part.partition("=")[0] for part in query.split("&") if part]
        base += "?" + "&".join(f"{name}=***" for name in names)
    return f"{scheme}://{base}"


def _secrets_of(url: str) -> list[str]:
    """The password and query values of `url` (raw and unquoted), to scrub from messages."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
        for part in parts.query.split("&"):
            value = part.partition("=")[2]
            found += [value, unquote(value)]
    except ValueError:
        pass
    return sorted({s for s in found if s}, key=len, reverse=True)


class RedisSessionStore:
    """Sessions in the Redis server at `url`, keys under `prefix` (see the module docstring).

    Creating one does not connect; :meth:`ping` (done by ``open_session_store``) does.
    """

    def __init__(self, url: str, idle_timeout: float, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.idle_timeout = idle_timeout
        self.prefix = prefix
        self.label = redact_url(url)
        self._secrets = _secrets_of(url)
        self._ttl_ms = max(1, math.ceil(idle_timeout * 1000))
        try:
            self._client = redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_connect_timeout=_TIMEOUT_S,
                socket_timeout=_TIMEOUT_S,
            )
        except (ValueError, TypeError, RedisError) as exc:
            raise SessionStoreError(
                f"the session store {self.label} is not a valid Redis URL "
                f"({self._reason(exc)}); write it as redis://[user:password@]host:6379/0, "
                "rediss://... for TLS or unix:///path/to/redis.sock, "
                "or set EARSHOT_SESSION_STORE=memory"
            ) from None
        self._extend = self._client.register_script(_EXTEND)

    # -- the SessionStore protocol -------------------------------------------------------

    def create(self, username: str) -> LoginSession:
        session = new_session(username, time.time())
        digest = _digest(session.token)
        user_key = self._user_key(username)
        try:
            with self._client.pipeline(transaction=True) as pipe:
                pipe.set(self.prefix + digest, _encode(session), px=self._ttl_ms)
                pipe.sadd(user_key, digest)
                self._extend(keys=[user_key], args=[self._ttl_ms], client=pipe)
                pipe.execute()
            self._prune(user_key)
        except RedisError as exc:
            raise self._unavailable(exc) from None
        return session

    def get(self, token: str | None) -> LoginSession | None:
        """The live session for `token`, its TTL renewed; None if unknown or expired."""
        if not token:
            return None
        key = self.prefix + _digest(token)
        try:
            raw = self._client.get(key)
            if raw is None:
                return None
            session = _decode(token, raw)
            if session is None:  # not written by this class: never honour it
                self._client.delete(key)
                return None
            session.last_seen = time.time()
            with self._client.pipeline(transaction=False) as pipe:
                # XX: a logout that lands between the GET and here is not undone.
                pipe.set(key, _encode(session), px=self._ttl_ms, xx=True)
                self._extend(
                    keys=[self._user_key(session.username)], args=[self._ttl_ms], client=pipe
                )
                stored = pipe.execute()[0]
        except RedisError as exc:
            raise self._unavailable(exc) from None
        return session if stored else None

    def drop(self, token: str | None) -> None:
        if not token:
            return
        digest = _digest(token)
        key = self.prefix + digest
        try:
            raw = self._client.get(key)
            with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                session = _decode(token, raw) if raw is not None else None
                if session is not None:
                    pipe.srem(self._user_key(session.username), digest)
                pipe.execute()
        except RedisError as exc:
            raise self._unavailable(exc) from None

    def drop_user(self, username: str) -> None:
        """End every session of `username`, on every server sharing this store.

        WATCH (``transaction``) makes it atomic against a login of the same user on another
        server: the set is read and its sessions deleted in one transaction, retried if the
        set changed meanwhile.
        """
        user_key = self._user_key(username)

        def drop_all(pipe: Pipeline) -> None:
            digests = [str(d) for d in pipe.smembers(user_key)]  # immediate: still watching
            pipe.multi()
            pipe.delete(user_key, *(self.prefix + d for d in digests))

        try:
            self._client.transaction(drop_all, user_key)
        except RedisError as exc:
            raise self._unavailable(exc) from None

    def close(self) -> None:
        self._client.close()

    # -- helpers ---------------------------------------------------------------------------

    def ping(self) -> None:
        """Check now that the server answers and accepts the login, with a clear message."""
        try:
            self._client.ping()
        except (AuthenticationError, ResponseError) as exc:
            raise SessionStoreError(
                f"the Redis session store at {self.label} refused the connection "
                f"({self._reason(exc)}); check the user and password in the URL, "
                "or set EARSHOT_SESSION_STORE=memory"
            ) from None
        except RedisError as exc:
            raise SessionStoreError(
                f"cannot reach the Redis session store at {self.label} ({self._reason(exc)}); "
                "start Redis there, or set EARSHOT_SESSION_STORE=memory (or --session-store "
                "memory) to keep logins in this server's memory"
            ) from None

    def _user_key(self, username: str) -> str:
        return f"{self.prefix}user:{username}"

    def _prune(self, user_key: str) -> None:
        """Forget hashes of sessions that expired, so a busy user's set stays small."""
        digests = sorted(str(d) for d in self._client.smembers(user_key))
        with self._client.pipeline(transaction=False) as pipe:
            for digest in digests:
                pipe.exists(self.prefix + digest)
            alive = pipe.execute()
        gone = [d for d, n in zip(digests, alive, strict=True) if not n]
        if gone:
            self._client.srem(user_key, *gone)

    def _reason(self, exc: BaseException) -> str:
        """The exception's text on one line, with anything secret from the URL removed."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:_REASON_CHARS]

    def _unavailable(self, exc: RedisError) -> SessionStoreError:
        return SessionStoreError(
            f"the Redis session store at {self.label} is not answering ({self._reason(exc)}); "
            "logins are unavailable until it is back"
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _encode(session: LoginSession) -> str:
    return json.dumps(
        {
            "username": session.username,
            "csrf": session.csrf,
            "created": session.created,
            "last_seen": session.last_seen,
        },
        separators=(",", ":"),
    )


def _decode(token: str, raw: Any) -> LoginSession | None:
    """The session stored as `raw`, or None if it is not what :func:`_encode` writes."""
    try:
        data = json.loads(raw)
        session = LoginSession(
            token=token,
            username=data["username"],
            csrf=data["csrf"],
            created=float(data["created"]),
            last_seen=float(data["last_seen"]),
        )
    except (TypeError, ValueError, KeyError):
        return None
    if not isinstance(session.username, str) or not isinstance(session.csrf, str):
        return None
    if not session.username or not session.csrf:
        return None
    return session
