"""Sign-in throttling that slows guessing without locking a newsroom out.

Why not a lockout: "five failures lock the address" lets anyone who shares the
newsroom's address (one NAT, one TLS proxy) lock every colleague out, and lets anyone
who knows a username lock that person out. Instead, failures are counted in two
scopes, each with **exponential back-off** (1 s, 2 s, 4 s, ... up to a cap) once its
free attempts are used up; a back-off refuses the attempt *without checking the
password*:

- **pair** (this account from this client address): after ``max_failures`` failures.
  Other accounts at the same address are never slowed by it.
- **account** (from any address): after ``4 * max_failures`` failures, against
  guessing spread over many addresses; but *not* for an address this account signed in
  from successfully within 90 days, so the owner at a usual address is unaffected.

A success clears the pair's count and remembers the pair; counts are forgotten a day
after their last failure; ``earshot user unlock`` lifts them for an account (every
address) or for an address (every account).

Accounts and addresses are stored as SHA-256 hashes (an IPv4 address can be found from
its hash by trying them all: this keeps them out of casual view, no more). State lives
in the accounts database (every process on the machine sees it) or, with a Redis
session store, in that Redis, so that several servers share it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, delete, select

__all__ = [
    "KNOWN_DAYS",
    "LoginThrottle",
    "RedisThrottle",
    "SqlThrottle",
    "ThrottlePolicy",
    "backoff_seconds",
    "key_of",
]

KNOWN_DAYS = 90.0
FORGET_S = 24 * 3600.0
WIDE_FACTOR = 4  # the account-wide scope allows this many times more failures


@dataclass(frozen=True)
class ThrottlePolicy:
    """Free failures per pair and the longest back-off."""

    max_failures: int = 5
    max_backoff_s: float = 15 * 60.0


def backoff_seconds(failures: int, free: int, cap: float) -> float:
    """Seconds to wait after `failures` when `free` are allowed: 0, then 1, 2, 4, ... <= cap."""
    over = failures - free
    if over < 0:
        return 0.0
    return float(min(cap, 2.0 ** min(over, 40)))


def key_of(value: str) -> str:
    """The stored form of an account name or client address."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


@dataclass
class _Count:
    failures: int
    last: float


class LoginThrottle(Protocol):
    """Where counts live. `account` and `client` may be empty (unknown)."""

    def wait(self, account: str, client: str, now: float) -> float:
        """Seconds before this account may try again from this client (0: go ahead)."""
        ...

    def failed(self, account: str, client: str, now: float) -> None: ...

    def succeeded(self, account: str, client: str, now: float) -> None: ...

    def unlock(self, *, account: str | None = None, client: str | None = None) -> int:
        """Forget the counts of an account (all its pairs) or a client; how many."""
        ...

    def close(self) -> None: ...


def _scopes(account: str, client: str) -> list[tuple[str, str, str]]:
    ak = key_of(account) if account else ""
    ck = key_of(client) if client else ""
    out = []
    if ak and ck:
        out.append(("pair", ak, ck))
    if ak:
        out.append(("account", ak, ""))
    return out


def _wait(
    policy: ThrottlePolicy,
    counts: dict[str, _Count],
    known: bool,
    now: float,
) -> float:
    longest = 0.0
    for scope, count in counts.items():
        if scope != "pair" and known:
            continue
        if now - count.last > FORGET_S:
            continue
        free = policy.max_failures * (1 if scope == "pair" else WIDE_FACTOR)
        # The count includes the latest failure: the first back-off follows failure `free`.
        delay = backoff_seconds(count.failures, free, policy.max_backoff_s)
        longest = max(longest, count.last + delay - now)
    return max(0.0, longest)


_metadata = MetaData()
_counts = Table(
    "login_throttle",
    _metadata,
    Column("scope", String(10), primary_key=True),
    Column("account", String(32), primary_key=True),
    Column("client", String(32), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last", Float, nullable=False),
)
_known = Table(
    "login_known",
    _metadata,
    Column("account", String(32), primary_key=True),
    Column("client", String(32), primary_key=True),
    Column("last", Float, nullable=False),
)


class SqlThrottle:
    """Counts in the accounts database: shared by every process using that file."""

    def __init__(self, engine: Engine, policy: ThrottlePolicy) -> None:
        self.engine = engine
        self.policy = policy
        _metadata.create_all(engine)

    def wait(self, account: str, client: str, now: float) -> float:
        counts: dict[str, _Count] = {}
        with self.engine.connect() as conn:
            for scope, ak, ck in _scopes(account, client):
                row = conn.execute(
                    select(_counts.c.failures, _counts.c.last).where(
                        _counts.c.scope == scope, _counts.c.account == ak, _counts.c.client == ck
                    )
                ).one_or_none()
                if row is not None:
                    counts[scope] = _Count(int(row.failures), float(row.last))
            known = self._known(conn, account, client, now)
        return _wait(self.policy, counts, known, now)

    @staticmethod
    def _known(conn: Any, account: str, client: str, now: float) -> bool:
        if not account or not client:
            return False
        last = conn.execute(
            select(_known.c.last).where(
                _known.c.account == key_of(account), _known.c.client == key_of(client)
            )
        ).scalar_one_or_none()
        return last is not None and now - float(last) < KNOWN_DAYS * 86400

    def failed(self, account: str, client: str, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(_counts).where(_counts.c.last < now - FORGET_S))
            for scope, ak, ck in _scopes(account, client):
                where = (_counts.c.scope == scope, _counts.c.account == ak, _counts.c.client == ck)
                current = conn.execute(
                    select(_counts.c.failures).where(*where)
                ).scalar_one_or_none()
                if current is None:
                    conn.execute(
                        _counts.insert().values(
                            scope=scope, account=ak, client=ck, failures=1, last=now
                        )
                    )
                else:
                    conn.execute(
                        _counts.update().where(*where).values(failures=int(current) + 1, last=now)
                    )

    def succeeded(self, account: str, client: str, now: float) -> None:
        if not account:
            return
        ak, ck = key_of(account), key_of(client) if client else ""
        with self.engine.begin() as conn:
            conn.execute(
                delete(_counts).where(
                    _counts.c.scope == "pair", _counts.c.account == ak, _counts.c.client == ck
                )
            )
            if ck:
                conn.execute(delete(_known).where(_known.c.account == ak, _known.c.client == ck))
                conn.execute(_known.insert().values(account=ak, client=ck, last=now))
            conn.execute(delete(_known).where(_known.c.last < now - KNOWN_DAYS * 86400))

    def unlock(self, *, account: str | None = None, client: str | None = None) -> int:
        if account:
            where = _counts.c.account == key_of(account)
        elif client:
            where = _counts.c.client == key_of(client)
        else:
            return 0
        with self.engine.begin() as conn:
            return int(conn.execute(delete(_counts).where(where)).rowcount or 0)

    def close(self) -> None:
        """The engine belongs to the account store."""


class RedisThrottle:
    """Counts in Redis, shared by every server that uses the same session store.

    ``<prefix><scope>:<account>:<client>`` is a hash {failures, last} that expires a day
    after its last failure; ``<prefix>known:<account>:<client>`` expires after 90 days.
    A Redis that cannot answer raises :class:`SessionStoreError` (sign-in fails closed).
    """

    def __init__(
        self,
        url: str,
        policy: ThrottlePolicy,
        *,
        prefix: str = "earshot:throttle:",
        client: Any = None,
    ) -> None:
        import redis

        self.policy = policy
        self.prefix = prefix
        self._redis: Any = client or redis.Redis.from_url(
            url, socket_timeout=5.0, socket_connect_timeout=5.0
        )

    def _call(self, action: Callable[[], Any]) -> Any:
        from redis.exceptions import RedisError

        from ..errors import SessionStoreError

        try:
            return action()
        except RedisError as exc:
            raise SessionStoreError(
                f"the login throttle's Redis did not answer ({type(exc).__name__})"
            ) from None

    def _key(self, scope: str, ak: str, ck: str) -> str:
        return f"{self.prefix}{scope}:{ak}:{ck}"

    def wait(self, account: str, client: str, now: float) -> float:
        scopes = _scopes(account, client)

        def read() -> tuple[list[Any], Any]:
            pipe = self._redis.pipeline()
            for scope, ak, ck in scopes:
                pipe.hmget(self._key(scope, ak, ck), "failures", "last")
            if account and client:
                pipe.exists(self._key("known", key_of(account), key_of(client)))
            results = pipe.execute()
            return results[: len(scopes)], results[len(scopes)] if account and client else 0

        values, known = self._call(read)
        counts = {
            scope: _Count(int(v[0]), float(v[1]))
            for (scope, _, _), v in zip(scopes, values, strict=True)
            if v[0] is not None and v[1] is not None
        }
        return _wait(self.policy, counts, bool(known), now)

    def failed(self, account: str, client: str, now: float) -> None:
        def write() -> None:
            pipe = self._redis.pipeline()
            for scope, ak, ck in _scopes(account, client):
                key = self._key(scope, ak, ck)
                pipe.hincrby(key, "failures", 1)
                pipe.hset(key, "last", repr(now))
                pipe.expire(key, int(FORGET_S))
            pipe.execute()

        self._call(write)

    def succeeded(self, account: str, client: str, now: float) -> None:
        if not account:
            return
        ak, ck = key_of(account), key_of(client) if client else ""

        def write() -> None:
            pipe = self._redis.pipeline()
            pipe.delete(self._key("pair", ak, ck))
            if ck:
                pipe.set(self._key("known", ak, ck), "1", ex=int(KNOWN_DAYS * 86400))
            pipe.execute()

        self._call(write)

    def unlock(self, *, account: str | None = None, client: str | None = None) -> int:
        if account:
            ak = key_of(account)
            patterns = [self._key("pair", ak, "*"), self._key("account", ak, "")]
        elif client:
            ck = key_of(client)
            patterns = [self._key("pair", "*", ck)]
        else:
            return 0

        def remove() -> int:
            keys = [k for p in patterns for k in self._redis.scan_iter(match=p, count=1000)]
            return int(self._redis.delete(*keys)) if keys else 0

        return int(self._call(remove))

    def close(self) -> None:
        self._call(self._redis.close)
