"""Login session stores: one contract for memory and Redis, shared logins, failing closed.

Redis is the real server at 127.0.0.1:6379 (``EARSHOT_TEST_REDIS``); every test keys under
its own prefix (tests run in parallel) and deletes what it wrote.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from earshot.errors import SessionStoreError
from earshot.store.case import Case
from earshot.web.app import COOKIE, create_app
from earshot.web.sessions import MemorySessionStore, SessionStore, open_session_store
from earshot.web.sessions_redis import RedisSessionStore, redact_url

from ..conftest import Cli
from .conftest import PASSWORD, World

REDIS_URL = os.environ.get("EARSHOT_TEST_REDIS", "redis://127.0.0.1:6379/0")
DEAD = "redis://:secretpw@127.0.0.1:1/0"  # nothing listens on port 1
IDLE = 3.0  # seconds: margins of 0.4 x IDLE on a loaded CI machine, short enough to wait


def _redis_available() -> bool:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_ok() -> bool:
    return _redis_available()


@pytest.fixture
def prefix(redis_ok: bool) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    if not redis_ok:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI needs it")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    name = f"earshot:test:{uuid.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=name + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def raw(prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    client.close()


@dataclass
class Kit:
    """A store under test and how to let time pass for it."""

    store: SessionStore
    advance: Callable[[float], None]


@pytest.fixture(params=["memory", "redis"])
def kit(request: pytest.FixtureRequest) -> Iterator[Kit]:
    if request.param == "memory":
        memory = MemorySessionStore(IDLE)
        clock = [1000.0]
        memory._now = lambda: clock[0]

        def advance(seconds: float) -> None:
            clock[0] += seconds

        yield Kit(memory, advance)
        return
    store = open_session_store(REDIS_URL, IDLE, prefix=request.getfixturevalue("prefix"))
    yield Kit(store, time.sleep)  # Redis expires by its own clock: really wait
    store.close()


# -- the contract, on both stores ---------------------------------------------------------


def test_create_then_get_returns_the_session(kit: Kit) -> None:
    made = kit.store.create("alice")
    other = kit.store.create("alice")
    assert made.token != other.token and made.csrf != other.csrf
    assert len(made.token) >= 43 and made.created == made.last_seen
    found = kit.store.get(made.token)
    assert found is not None
    assert (found.token, found.username, found.csrf) == (made.token, "alice", made.csrf)
    assert found.created == made.created and found.last_seen >= made.last_seen
    assert found.csrf_ok(made.csrf) and not found.csrf_ok(other.csrf) and not found.csrf_ok(None)
    assert kit.store.get(None) is None and kit.store.get("") is None
    assert kit.store.get("no-such-token") is None


def test_drop_ends_one_session(kit: Kit) -> None:
    first, second = kit.store.create("alice"), kit.store.create("alice")
    kit.store.drop(first.token)
    assert kit.store.get(first.token) is None
    assert kit.store.get(second.token) is not None
    kit.store.drop(None)
    kit.store.drop("no-such-token")
    kit.store.drop(first.token)  # twice is fine


def test_drop_user_ends_every_session_of_that_user(kit: Kit) -> None:
    alice = [kit.store.create("alice") for _ in range(3)]
    bob = kit.store.create("bob")
    kit.store.drop_user("alice")
    assert all(kit.store.get(s.token) is None for s in alice)
    assert kit.store.get(bob.token) is not None
    kit.store.drop_user("nobody")
    again = kit.store.create("alice")  # a later login works as before
    assert kit.store.get(again.token) is not None


def test_idle_sessions_expire_and_use_keeps_them_alive(kit: Kit) -> None:
    kept, idle = kit.store.create("alice"), kit.store.create("bob")
    kit.advance(IDLE * 0.6)
    assert kit.store.get(kept.token) is not None
    kit.advance(IDLE * 0.6)  # 1.2 x IDLE after login, 0.6 x IDLE after the last use
    assert kit.store.get(kept.token) is not None
    assert kit.store.get(idle.token) is None
    kit.advance(IDLE * 1.3)
    assert kit.store.get(kept.token) is None


# -- Redis specifics ----------------------------------------------------------------------


def test_redis_holds_no_raw_token(prefix: str, raw: redis.Redis) -> None:
    store = open_session_store(REDIS_URL, 60, prefix=prefix)
    sessions = [store.create(user) for user in ("alice", "alice", "bob")]
    assert store.get(sessions[0].token) is not None
    keys = sorted(raw.scan_iter(match=prefix + "*"))
    assert len(keys) == 5  # three sessions, two users' sets
    stored = []
    for key in keys:
        kind = raw.type(key)
        stored.append(key + " " + (raw.get(key) if kind == "string" else str(raw.smembers(key))))
        assert 0 < raw.pttl(key) <= 60_000, key
    dump = "\n".join(stored)
    for session in sessions:
        assert session.token not in dump
        digest = hashlib.sha256(session.token.encode()).hexdigest()
        assert raw.exists(prefix + digest)
    assert raw.smembers(prefix + "user:alice") == {
        hashlib.sha256(s.token.encode()).hexdigest() for s in sessions[:2]
    }
    store.drop_user("alice")
    store.drop(sessions[2].token)
    assert list(raw.scan_iter(match=prefix + "*")) == []
    store.close()


def test_redis_user_set_outlives_its_sessions(prefix: str, raw: redis.Redis) -> None:
    """A server with a shorter idle timeout must not shorten the user set's TTL below that of
    a session made by a server with a longer one (drop_user would then miss it)."""
    long = open_session_store(REDIS_URL, 600, prefix=prefix)
    short = open_session_store(REDIS_URL, 5, prefix=prefix)
    kept = long.create("alice")
    brief = short.create("alice")
    assert short.get(brief.token) is not None
    assert raw.pttl(prefix + "user:alice") > 500_000
    short.drop_user("alice")
    assert long.get(kept.token) is None
    long.close()
    short.close()


def test_redis_ignores_values_it_did_not_write(prefix: str, raw: redis.Redis) -> None:
    store = open_session_store(REDIS_URL, 60, prefix=prefix)
    token = "planted-token"
    key = prefix + hashlib.sha256(token.encode()).hexdigest()
    raw.set(key, '{"username": "admin"}', ex=60)
    assert store.get(token) is None
    assert not raw.exists(key)
    store.close()


def test_memory_is_the_default_store() -> None:
    store = open_session_store("memory", 60)
    assert isinstance(store, MemorySessionStore) and store.idle_timeout == 60


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:secretpw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("redis://alice:secretpw@host/1", "redis://alice:***@host/1"),
        ("rediss://secretpw@host", "rediss://:***@host"),
        ("redis://ho/st@secretpw:x@host", "redis://:***@host"),
        ("redis://host:6379/0?password=secretpw&db=1", "redis://host:6379/0?password=***&db=***"),
        ("unix://:secretpw@/run/redis.sock?db=0", "unix://:***@/run/redis.sock?db=***"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("memory", "memory"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown and "secretpw" not in redact_url(url)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (DEAD, "cannot reach the Redis session store at redis://:***@127.0.0.1:1/0"),
        ("redis://alice:secretpw@127.0.0.1:1/0", "redis://alice:***@127.0.0.1:1/0"),
        ("unix://:secretpw@/nonexistent/redis.sock", "cannot reach"),
        ("redis://:secretpw@127.0.0.1:notaport/0", "is not a valid Redis URL"),
        ("postgresql://u:secretpw@127.0.0.1/db", "unknown session store"),
        ("memroy", "unknown session store 'memroy'"),
    ],
)
def test_unusable_store_gives_one_clear_line_without_the_password(spec: str, says: str) -> None:
    started = time.monotonic()
    with pytest.raises(SessionStoreError) as caught:
        open_session_store(spec, 60)
    message = str(caught.value)
    assert says in message and "EARSHOT_SESSION_STORE" in message
    assert "secretpw" not in message and "\n" not in message
    assert time.monotonic() - started < 15


def test_store_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARSHOT_TEST_STORE_URL", DEAD)
    with pytest.raises(SessionStoreError) as caught:
        open_session_store("env:EARSHOT_TEST_STORE_URL", 60)
    assert "redis://:***@127.0.0.1:1/0" in str(caught.value)
    assert "secretpw" not in str(caught.value)


# -- through the web app ------------------------------------------------------------------


def _client(world: World, store: SessionStore) -> TestClient:
    app = create_app([world.own, world.other], world.accounts, sessions=store)
    return TestClient(app, base_url="http://testserver")


def test_two_servers_share_logins_and_logouts(world: World, prefix: str) -> None:
    """A login on one server works on another (or after a restart); a logout ends it on both."""
    one = open_session_store(REDIS_URL, 600, prefix=prefix)
    two = open_session_store(REDIS_URL, 600, prefix=prefix)
    first, second = _client(world, one), _client(world, two)
    page = f"/cases/{world.own.case_id}"
    csrf = world.login(first, "editor")
    cookie = first.cookies[COOKIE]
    second.cookies.set(COOKIE, cookie)
    assert second.get(page, follow_redirects=False).status_code == 200
    assert second.get(f"/api/cases/{world.own.case_id}/calls").status_code == 200
    assert second.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert first.get(page, follow_redirects=False).status_code == 303
    stranger = _client(world, two)
    stranger.cookies.set(COOKIE, cookie)
    assert stranger.get(f"/api/cases/{world.own.case_id}/calls").status_code == 401
    one.close()
    two.close()


def test_redis_outage_fails_closed_without_leaking(
    world: World, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With Redis gone, a request with a session cookie gets a plain 503 (not a login page
    that would pretend the session ended, nor a stack trace); the log names the store with
    its password redacted; logging in says logins are unavailable."""
    store = RedisSessionStore(DEAD, 600, prefix=prefix)  # not pinged: "went away later"
    client = _client(world, store)
    caplog.set_level(logging.ERROR, logger="earshot.web.app")
    client.cookies.set(COOKIE, "some-session-token")
    for response in (
        client.get(f"/cases/{world.own.case_id}", follow_redirects=False),
        client.get(f"/api/cases/{world.own.case_id}/calls"),
        client.post("/logout", headers={"X-CSRF-Token": "x"}),
    ):
        assert response.status_code == 503, response.text
        assert response.json() == {"detail": response.json()["detail"]}
        assert "unavailable" in response.text
        for secret in ("secretpw", "127.0.0.1:1", "redis", "Traceback", "some-session-token"):
            assert secret not in response.text
        assert "Content-Security-Policy" in response.headers
    client.cookies.clear()
    form = client.get("/login")
    assert form.status_code == 200
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "login_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "unavailable" in done.headers["location"]
    assert COOKIE not in done.cookies
    logged = caplog.text
    assert "redis://:***@127.0.0.1:1/0" in logged and "secretpw" not in logged
    assert "some-session-token" not in logged
    store.close()


# -- through the CLI: only the failure path (a working store would start a server) ---------


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a store ever open in these tests, fail instead of serving forever."""
    from earshot.cli import web as web_cli

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the server must not start in this test")

    monkeypatch.setattr(web_cli, "_serve", refuse)


def test_serve_with_unreachable_store_fails_in_one_line(
    tmp_path: Path, run_cli: Cli, no_server: None
) -> None:
    Case.init(tmp_path / "case").close()
    result = run_cli(
        "serve", tmp_path / "case", "--session-store", DEAD,
        "--accounts", tmp_path / "accounts.db", code=2,
    )  # fmt: skip
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "cannot reach the Redis session store" in result.stderr
    assert "EARSHOT_SESSION_STORE=memory" in result.stderr
    assert "secretpw" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "serving" not in result.stdout
    assert not (tmp_path / "accounts.db").exists()  # nothing was started before the check


def test_serve_and_demo_take_the_store_from_the_environment(
    tmp_path: Path, run_cli: Cli, no_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARSHOT_SESSION_STORE", "env:EARSHOT_TEST_REDIS_URL")
    monkeypatch.setenv("EARSHOT_TEST_REDIS_URL", DEAD)
    Case.init(tmp_path / "case").close()
    served = run_cli(
        "serve", tmp_path / "case", "--accounts", tmp_path / "accounts.db", "--json", code=2
    )
    demo = run_cli("demo", "--case", tmp_path / "demo", code=2)  # fails before building
    for result in (served, demo):
        assert "redis://:***@127.0.0.1:1/0" in result.stderr
        assert "secretpw" not in result.stdout + result.stderr
    assert not (tmp_path / "demo").exists()
    bad = run_cli("serve", tmp_path / "case", "--session-store", "memroy", code=2)
    assert "unknown session store 'memroy'" in bad.stderr


def test_password_change_and_disable_end_the_users_sessions(
    world: World, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`earshot user passwd/disable` end the user's sessions on every server (Redis store).

    The CLI uses the default key prefix, so the account has a name of its own; a login
    typed in capitals is stored under the account's normalized name, which the CLI ends.
    """
    from click.testing import CliRunner

    from earshot.cli import cli
    from earshot.security.accounts import AccountStore
    from earshot.security.roles import Role

    from .conftest import FAST

    def user_command(*args: str, password: str | None = None) -> dict[str, Any]:
        result = CliRunner().invoke(
            cli, ["user", *args, "--json"], input=None if password is None else password + "\n"
        )
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    name = f"rosa.{uuid.uuid4().hex[:10]}"
    accounts = AccountStore(tmp_path / "accounts.db", policy=FAST)
    accounts.add_user(name, PASSWORD)
    accounts.grant(name, world.own.case_id, Role.EDITOR)
    monkeypatch.setenv("EARSHOT_ACCOUNTS", str(tmp_path / "accounts.db"))
    monkeypatch.setenv("EARSHOT_SESSION_STORE", REDIS_URL)
    store = open_session_store(REDIS_URL, 600)
    team = World(world.own, world.other, accounts, tmp_path)
    app = create_app([world.own], accounts, sessions=store)
    calls = f"/api/cases/{world.own.case_id}/calls"
    first, second = (TestClient(app, base_url="http://testserver") for _ in range(2))
    team.login(first, name.upper())
    team.login(second, name)
    assert first.get(calls).status_code == second.get(calls).status_code == 200
    changed = user_command("passwd", name, "--password-stdin", password=PASSWORD + "-new")
    assert changed["sessions_ended"] is True
    assert first.get(calls).status_code == second.get(calls).status_code == 401
    # with the in-memory store the sessions live in the server process: not reachable
    accounts.set_password(name, PASSWORD)
    team.login(first, name)
    monkeypatch.setenv("EARSHOT_SESSION_STORE", "memory")
    kept = user_command("passwd", name, "--password-stdin", password=PASSWORD)
    assert kept["sessions_ended"] is None and first.get(calls).status_code == 200
    monkeypatch.setenv("EARSHOT_SESSION_STORE", REDIS_URL)
    assert user_command("disable", name)["sessions_ended"] is True
    assert first.get(calls).status_code == 401
    store.close()
