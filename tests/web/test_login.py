"""Login hardening: fixed messages, the configured public origin, and client addresses
behind a real reverse proxy (with the throttle in the accounts file or shared in Redis).

The proxy is a small Starlette/httpx reverse proxy on 127.0.0.1 that appends the peer
it saw to X-Forwarded-For, like nginx's ``proxy_add_x_forwarded_for``; the clients
connect from distinct loopback addresses (127.0.0.5, 127.0.0.6, ...), so the proxy
sees them as different machines.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from earshot.cli.web import public_origins
from earshot.errors import ConfigError
from earshot.security.accounts import AccountPolicy, AccountStore
from earshot.security.throttle import RedisThrottle, ThrottlePolicy
from earshot.web.app import LOGIN_MESSAGES, create_app
from earshot.web.context import WebOptions
from earshot.web.proxies import ProxyTrust

from .conftest import PASSWORD, World, _free_port

REDIS_URL = os.environ.get("EARSHOT_TEST_REDIS", "redis://127.0.0.1:6379/0")
POLICY = AccountPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1, max_failures=3)


def _token(page: str) -> str:
    return page.split('name="login_token" value="', 1)[1].split('"', 1)[0]


def _login(client: httpx.Client | TestClient, user: str, password: str) -> httpx.Response:
    form = client.get("/login")
    return client.post(
        "/login",
        data={"username": user, "password": password, "login_token": _token(form.text)},
        follow_redirects=False,
    )


# -- the login page's own messages ----------------------------------------------------


def test_login_page_shows_only_its_own_messages(app_client: TestClient) -> None:
    forged = "Your account is suspended. Call +7 900 000-00-00 to restore it"
    page = app_client.get("/login", params={"error": forged})
    assert page.status_code == 200 and "suspended" not in page.text and "+7 900" not in page.text
    assert 'role="alert"' not in page.text
    for code, text in LOGIN_MESSAGES.items():
        shown = app_client.get("/login", params={"error": code}).text
        assert text.replace("'", "&#39;") in shown


def test_failed_login_redirects_with_a_code_not_a_text(world: World) -> None:
    client = TestClient(create_app([world.own], world.accounts), base_url="http://testserver")
    done = _login(client, "editor", "not the password")
    assert done.status_code == 303 and done.headers["location"].endswith("&error=failed")
    page = client.get(done.headers["location"])
    assert LOGIN_MESSAGES["failed"] in page.text


# -- the Origin check -----------------------------------------------------------------


def test_origin_is_compared_with_the_public_origin_not_the_host_header(world: World) -> None:
    options = WebOptions(public_origins=("https://earshot.example.org",))
    app = create_app([world.own], world.accounts, options)
    client = TestClient(app, base_url="http://testserver")
    world.login(client, "editor")
    page = client.get(f"/cases/{world.own.case_id}")
    csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    url = f"/api/cases/{world.own.case_id}/calls/1/themes"
    body = {"theme": "morale", "present": True}
    # The review's case: an Origin that merely matches the request's own Host header.
    for origin in ("http://testserver", "https://evil.example", "https://earshot.example.org.evil"):
        refused = client.post(url, json=body, headers={"X-CSRF-Token": csrf, "Origin": origin})
        assert refused.status_code == 403 and "cross-origin" in refused.text, origin
    done = client.post(
        url, json=body, headers={"X-CSRF-Token": csrf, "Origin": "https://EARSHOT.example.org"}
    )
    assert done.status_code == 200
    login_from_elsewhere = client.post("/login", headers={"Origin": "http://testserver"})
    assert login_from_elsewhere.status_code == 403


def test_public_origins_from_settings() -> None:
    assert public_origins("https://a.example/, https://b.example", "0.0.0.0", 80) == (
        "https://a.example",
        "https://b.example",
    )
    assert "http://127.0.0.1:8000" in public_origins("", "127.0.0.1", 8000)
    with pytest.raises(ConfigError, match="public_origin"):
        public_origins("", "0.0.0.0", 8000)


# -- client addresses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("x-forwarded-for", "198.51.100.7", "198.51.100.7"),
        ("x-forwarded-for", "203.0.113.1, 198.51.100.7", "198.51.100.7"),  # spoofed left part
        ("x-forwarded-for", "198.51.100.7, 10.0.0.2", "198.51.100.7"),  # two trusted hops
        ("x-forwarded-for", "10.0.0.3, 10.0.0.2", "10.0.0.3"),  # all trusted: the farthest
        ("x-forwarded-for", "not-an-ip", "10.0.0.1"),
        ("forwarded", 'for=198.51.100.7;proto=https, for="[2001:db8::5]:4711"', "2001:db8::5"),
        ("forwarded", "for=_hidden", "10.0.0.1"),
    ],
)
def test_forwarded_client_is_read_from_the_right(header: str, value: str, expected: str) -> None:
    trust = ProxyTrust.parse("10.0.0.0/24, ::1", header)
    assert trust.client("10.0.0.1", {header: value}) == expected
    # From a peer that is not a trusted proxy, the header is just text: ignored.
    assert trust.client("198.51.100.99", {header: value}) == "198.51.100.99"


def test_bad_proxy_settings_are_errors() -> None:
    with pytest.raises(ConfigError, match="trusted_proxies"):
        ProxyTrust.parse("10.0.0.0/33")
    with pytest.raises(ConfigError, match="forwarded_header"):
        ProxyTrust.parse("", "x-real-ip")


# -- behind a real proxy --------------------------------------------------------------


def _start(app: Any, port: int) -> Callable[[], None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return stop


def _proxy(backends: list[str]) -> Starlette:
    """A reverse proxy that appends the peer to X-Forwarded-For; round-robin backends."""
    turn = itertools.cycle(backends)
    hop_by_hop = {"host", "content-length", "connection", "transfer-encoding"}

    async def forward(request: Request) -> Response:
        peer = request.client.host if request.client else "unknown"
        previous = request.headers.get("x-forwarded-for")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in hop_by_hop}
        headers["x-forwarded-for"] = f"{previous}, {peer}" if previous else peer
        url = next(turn) + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        async with httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(local_address="127.0.0.1")
        ) as client:
            answer = await client.request(
                request.method, url, headers=headers, content=await request.body()
            )
        response = Response(answer.content, status_code=answer.status_code)
        response.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.multi_items()
            if k.lower() not in hop_by_hop | {"content-encoding"}
        ] + [(b"content-length", str(len(answer.content)).encode())]
        return response

    methods = ["GET", "POST"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


@pytest.fixture(params=["accounts-db", "redis"])
def behind_proxy(request: pytest.FixtureRequest, world: World, tmp_path: Path) -> Iterator[str]:
    """Two app servers (as two machines would run) behind one proxy; the URL of the proxy.

    With "redis", each server has its own accounts file and the throttle counts live in
    Redis; with "accounts-db", both use one accounts file."""
    prefix = f"earshot:test:{uuid.uuid4().hex}:"
    shared = request.param == "redis"
    if shared:
        probe = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            probe.ping()
        except redis.RedisError:
            if os.environ.get("CI"):
                pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI needs it")
            pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    stops = []
    backends = []
    stores = []
    for i in range(2):
        throttle = None
        if shared:
            policy = ThrottlePolicy(POLICY.max_failures, POLICY.lockout_minutes * 60)
            throttle = lambda _e, p=policy: RedisThrottle(REDIS_URL, p, prefix=prefix)  # noqa: E731
        path = tmp_path / (f"accounts{i}.db" if shared else "accounts.db")
        store = AccountStore(path, policy=POLICY, throttle=throttle)
        for user in ("anna", "boris"):
            if not any(u.username == user for u in store.users()):
                store.add_user(user, PASSWORD)
            store.grant(user, world.own.case_id, "viewer")  # type: ignore[arg-type]
        stores.append(store)
        port = _free_port()
        options = WebOptions(proxies=ProxyTrust.parse("127.0.0.1"))
        stops.append(_start(create_app([world.own], store, options), port))
        backends.append(f"http://127.0.0.1:{port}")
    proxy_port = _free_port()
    stops.append(_start(_proxy(backends), proxy_port))
    yield f"http://127.0.0.1:{proxy_port}"
    for stop in stops:
        stop()
    for store in stores:
        store.close()
    if shared:
        probe.delete(*(list(probe.scan_iter(match=prefix + "*")) or [prefix]))
        probe.close()


def _client(base: str, address: str, **headers: str) -> httpx.Client:
    return httpx.Client(
        base_url=base,
        transport=httpx.HTTPTransport(local_address=address),
        headers=headers,
        timeout=30,
    )


def test_guessing_behind_the_proxy_slows_only_the_guesser(behind_proxy: str) -> None:
    """Everyone reaches the servers from the proxy's address; the servers still tell the
    guesser (127.0.0.5) from anna at her desk (127.0.0.6) and boris beside the guesser."""
    with (
        _client(behind_proxy, "127.0.0.5", **{"X-Forwarded-For": "127.0.0.6"}) as guesser,
        _client(behind_proxy, "127.0.0.6") as anna,
    ):
        for _ in range(POLICY.max_failures):
            assert (
                _login(guesser, "anna", "wrong password!")
                .headers["location"]
                .endswith("error=failed")
            )
        blocked = _login(guesser, "anna", PASSWORD)  # both servers see the same counts
        assert blocked.headers["location"].endswith("error=wait")
        assert int(blocked.headers["retry-after"]) >= 1
        ok = _login(anna, "anna", PASSWORD)  # the spoofed header did not make her the guesser
        assert ok.status_code == 303 and "error" not in ok.headers["location"]
        boris = _login(guesser, "boris", PASSWORD)  # another account from the same machine
        assert boris.status_code == 303 and "error" not in boris.headers["location"]


def test_forwarded_header_from_an_untrusted_peer_is_ignored(world: World, tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "accounts.db", policy=POLICY)
    store.add_user("anna", PASSWORD)
    port = _free_port()
    stop = _start(
        create_app([world.own], store, WebOptions(proxies=ProxyTrust.parse("127.0.0.1"))), port
    )
    try:
        # Straight to the server from 127.0.0.5, pretending to be many different clients.
        for i in range(POLICY.max_failures):
            with _client(
                f"http://127.0.0.1:{port}", "127.0.0.5", **{"X-Forwarded-For": f"10.9.9.{i}"}
            ) as direct:
                _login(direct, "anna", "wrong password!")
        with _client(f"http://127.0.0.1:{port}", "127.0.0.5") as direct:
            assert _login(direct, "anna", PASSWORD).headers["location"].endswith("error=wait")
    finally:
        stop()
        store.close()
