"""The sign-in throttle's state is shared by every server: accounts file or Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from earshot.errors import SessionStoreError
from earshot.security.accounts import AccountPolicy, AccountStore, throttle_from_settings
from earshot.security.errors import AuthenticationError, LockedOutError
from earshot.security.throttle import (
    LoginThrottle,
    RedisThrottle,
    ThrottlePolicy,
    backoff_seconds,
    key_of,
)
from earshot.settings import Settings

REDIS_URL = os.environ.get("EARSHOT_TEST_REDIS", "redis://127.0.0.1:6379/0")
FAST = AccountPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1, max_failures=3)
PASSWORD = "correct horse battery"


def test_backoff_doubles_from_one_second_to_the_cap() -> None:
    assert [backoff_seconds(n, 3, 60) for n in range(2, 11)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_seconds(10**6, 3, 900) == 900


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI needs it")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"earshot:test:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


Maker = Callable[[Engine], LoginThrottle] | None


@pytest.fixture(params=["accounts-db", "redis"])
def make_throttle(request: pytest.FixtureRequest) -> Maker:
    if request.param == "accounts-db":
        return None  # the default: counts in the accounts database
    prefix = request.getfixturevalue("redis_prefix")
    policy = ThrottlePolicy(FAST.max_failures, FAST.lockout_minutes * 60)
    return lambda _engine: RedisThrottle(REDIS_URL, policy, prefix=prefix)


def test_two_servers_share_the_counts(tmp_path: Path, make_throttle: Maker) -> None:
    """Failures seen by one server slow the same pair on the other; a success on one
    clears it for both; an unlock reaches both."""
    first = AccountStore(tmp_path / "a.db", policy=FAST, throttle=make_throttle)
    # With Redis the second server may even have its own accounts file.
    other_file = tmp_path / ("b.db" if make_throttle else "a.db")
    second = AccountStore(other_file, policy=FAST, throttle=make_throttle)
    first.add_user("zoya", PASSWORD)
    if make_throttle is not None:  # separate accounts files: the user exists in both
        second.add_user("zoya", PASSWORD)
    for _ in range(FAST.max_failures):
        with pytest.raises(AuthenticationError):
            first.authenticate("zoya", "wrong password!", client="203.0.113.9")
    with pytest.raises(LockedOutError):
        second.authenticate("zoya", PASSWORD, client="203.0.113.9")
    assert second.unlock(username="zoya") >= 1
    assert first.authenticate("zoya", PASSWORD, client="203.0.113.9").username == "zoya"
    first.close()
    second.close()


def test_redis_holds_only_hashes(redis_prefix: str) -> None:
    throttle = RedisThrottle(REDIS_URL, ThrottlePolicy(), prefix=redis_prefix)
    throttle.failed("zoya", "203.0.113.9", 1000.0)
    throttle.succeeded("zoya", "198.51.100.4", 1001.0)
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    keys = sorted(client.scan_iter(match=redis_prefix + "*"))
    client.close()
    assert keys and not any("zoya" in k or "203.0.113" in k or "198.51" in k for k in keys)
    assert any(key_of("zoya") in k for k in keys)
    raw = redis.Redis.from_url(REDIS_URL)
    assert all(0 < raw.ttl(k) <= 90 * 86400 for k in keys)
    raw.close()
    throttle.close()


def test_redis_throttle_follows_the_session_store_setting(redis_prefix: str) -> None:
    assert throttle_from_settings(Settings(session_store="memory")) is None
    make = throttle_from_settings(Settings(session_store=REDIS_URL))
    assert make is not None
    throttle = make(None)  # type: ignore[arg-type]
    assert isinstance(throttle, RedisThrottle)
    throttle.close()


def test_unreachable_redis_fails_closed(tmp_path: Path) -> None:
    dead = lambda _engine: RedisThrottle(  # noqa: E731
        "redis://127.0.0.1:1/0", ThrottlePolicy(), prefix="x:"
    )
    store = AccountStore(tmp_path / "a.db", policy=FAST, throttle=dead)
    store.add_user("zoya", PASSWORD)
    with pytest.raises(SessionStoreError, match="did not answer"):
        store.authenticate("zoya", PASSWORD, client="203.0.113.9")
