"""Personal API tokens: made and revoked with `earshot user token`, shown once, kept
only hashed, and accepted on /api as `Authorization: Bearer` with the user's roles
(never more); the OpenAPI schema declares how /api is authenticated and /api/docs
serves the vendored Swagger UI to logged-in users only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from earshot.cli import cli
from earshot.security.accounts import AccountPolicy, AccountStore
from earshot.security.roles import Role
from earshot.store.case import Case
from earshot.web.app import create_app

PASSWORD = "a long enough passphrase"
FAST = AccountPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1, max_failures=5)


def _run(*args: str | Path, stdin: str | None = None, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], input=stdin, catch_exceptions=False)
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    return result


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "accounts.db"
    monkeypatch.setenv("EARSHOT_ACCOUNTS", str(path))
    return path


@pytest.fixture
def served(tmp_path: Path, accounts: Path) -> tuple[TestClient, Case, AccountStore]:
    case = Case.init(tmp_path / "case")
    store = AccountStore(accounts, policy=FAST)
    for name, role in (("ed", Role.EDITOR), ("vera", Role.VIEWER)):
        store.add_user(name, PASSWORD)
        store.grant(name, case.case_id, role)
    store.add_user("nobody", PASSWORD)
    client = TestClient(create_app([case], store), base_url="http://testserver")
    return client, case, store


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_token_lifecycle_through_the_cli(accounts: Path) -> None:
    _run("user", "add", "olena", "--password-stdin", stdin=PASSWORD + "\n")
    made = json.loads(
        _run("user", "token", "create", "olena", "--name", "nightly sync", "--json").stdout
    )
    secret = made["token"]
    assert secret.startswith("esk_") and len(secret) > 40
    assert made["hint"] == secret[:10] and made["expires_at"] > made["created_at"]
    # Kept only as a hash: the secret is nowhere in the accounts database.
    assert secret not in accounts.read_bytes().decode("latin-1")
    assert secret[4:] not in accounts.read_bytes().decode("latin-1")
    plain = _run("user", "token", "create", "olena", "--name", "notebook", "--read-only")
    shown = plain.stdout.strip()
    assert shown.startswith("esk_") and "not shown again" in plain.stderr
    listed = json.loads(_run("user", "token", "list", "olena", "--json").stdout)
    assert [(t["name"], t["read_only"], t["active"]) for t in listed] == [
        ("nightly sync", False, True),
        ("notebook", True, True),
    ]
    assert secret not in json.dumps(listed) and shown not in json.dumps(listed)
    _run("user", "token", "revoke", "olena", str(made["id"]))
    after = json.loads(_run("user", "token", "list", "olena", "--json").stdout)
    assert [t["active"] for t in after] == [False, True]
    again = _run("user", "token", "revoke", "olena", str(made["id"]), code=2)
    assert "no active token" in again.stderr
    missing = _run("user", "token", "create", "ghost", "--name", "x", code=2)
    assert "ghost" in missing.stderr


def test_bearer_token_acts_with_the_users_roles(
    served: tuple[TestClient, Case, AccountStore],
) -> None:
    client, case, store = served
    editor = store.tokens.create("ed", "script").secret
    reader = store.tokens.create("ed", "notebook", read_only=True).secret
    viewer = store.tokens.create("vera", "dashboard").secret
    outsider = store.tokens.create("nobody", "probe").secret
    me = client.get("/api/me", headers=_bearer(editor))
    assert me.status_code == 200 and me.json()["username"] == "ed"
    assert me.json()["cases"] == [{"id": case.case_id, "name": "case", "role": "editor"}]
    verify = f"/api/cases/{case.case_id}/persons/1/verification"
    body = {"status": "unverified", "reason": "token test"}
    # A change needs no CSRF token with a bearer token; the library decides (no person #1).
    done = client.post(verify, json=body, headers=_bearer(editor))
    assert done.status_code == 404 and "no person #1" in done.json()["detail"]
    # The roles are the user's, capped by a read-only token: viewers may not verify.
    for secret in (reader, viewer):
        refused = client.post(verify, json=body, headers=_bearer(secret))
        assert refused.status_code == 403, refused.text
    assert client.get(f"/api/cases/{case.case_id}", headers=_bearer(reader)).status_code == 200
    # No role on the case: it does not exist for that user.
    assert client.get(f"/api/cases/{case.case_id}", headers=_bearer(outsider)).status_code == 404
    # Unknown, malformed, revoked, expired tokens and disabled users are all 401.
    for bad in ("esk_" + "x" * 43, "not-a-token", ""):
        answer = client.get("/api/me", headers=_bearer(bad))
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    token_id = store.tokens.list("vera")[0].id
    store.tokens.revoke("vera", token_id)
    assert client.get("/api/me", headers=_bearer(viewer)).status_code == 401
    store.disable("ed")
    assert client.get("/api/me", headers=_bearer(editor)).status_code == 401
    # Bearer tokens open /api only, never the pages.
    page = client.get(f"/cases/{case.case_id}", headers=_bearer(reader), follow_redirects=False)
    assert page.status_code == 303


def test_an_expired_token_is_refused(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = AccountStore(tmp_path / "accounts.db", policy=FAST, clock=lambda: now[0])
    store.add_user("ed", PASSWORD)
    made = store.tokens.create("ed", "short-lived", days=1)
    assert store.tokens.authenticate(made.secret).id == made.token.id
    now[0] += 86_401
    with pytest.raises(Exception, match="invalid, expired or revoked"):
        store.tokens.authenticate(made.secret)


def test_openapi_declares_bearer_session_and_csrf(
    served: tuple[TestClient, Case, AccountStore],
) -> None:
    client, _, store = served
    # The schema maps every route: only for a login or a valid token, like /api/docs.
    anonymous = client.get("/openapi.json")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert "paths" not in anonymous.text
    bad = client.get("/openapi.json", headers=_bearer("esk_" + "y" * 43))
    assert bad.status_code == 401 and "paths" not in bad.text
    for undocumented in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(undocumented, follow_redirects=False).status_code in (303, 404)
    secret = store.tokens.create("vera", "schema reader", read_only=True).secret
    schema = client.get("/openapi.json", headers=_bearer(secret)).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["csrf"]["in"] == "header" and schemes["csrf"]["name"] == "X-CSRF-Token"
    assert schemes["session"]["in"] == "cookie"
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            expected = [{"bearer": []}, {"session": []}]
            if method != "get":
                expected = [{"bearer": []}, {"session": [], "csrf": []}]
            assert operation["security"] == expected, (method, path)
    # Every JSON API answer is described by a response model.
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation["responses"].get("200", {}).get("content", {})
            if path.startswith("/api/") and "application/json" in content:
                assert content["application/json"]["schema"], (method, path)
    verification = schema["paths"]["/api/cases/{case_id}/persons/{person_id}/verification"]
    answer = verification["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/VerificationRecord")


def test_api_docs_for_logged_in_users_from_vendored_assets(
    served: tuple[TestClient, Case, AccountStore],
) -> None:
    client, _, _ = served
    anonymous = client.get("/api/docs", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    form = client.get("/login")
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"username": "vera", "password": PASSWORD, "login_token": token})
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert not re.search(r"(src|href)=\"(https?:)?//", docs.text), "no CDN"
    for asset in re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", docs.text):
        served_asset = client.get(asset)
        assert served_asset.status_code == 200 and len(served_asset.content) > 400, asset
    assert "swagger-ui-bundle.js" in docs.text
    # The session that opens the docs page also fetches the schema the page loads.
    assert client.get("/openapi.json").json()["components"]["securitySchemes"]
