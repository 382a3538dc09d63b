"""Schemathesis against the app's own OpenAPI schema, logged in: no input gives a 5xx."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import World

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402


@pytest.fixture(scope="module")
def fuzz_schema(world: World, app_client: TestClient) -> object:
    client = TestClient(app_client.app, base_url="http://testserver")
    csrf = world.login(client, "admin")
    cookie = client.cookies.get("earshot_session")
    # The schema itself needs the login, like every route it describes.
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app_client.app, headers={"Cookie": f"earshot_session={cookie}"}
    )
    schema.config.headers = {"Cookie": f"earshot_session={cookie}", "X-CSRF-Token": csrf}  # type: ignore[attr-defined]
    # The schema declares bearer tokens too; a made-up one is rightly a 401, so the fuzzer
    # goes in with the session only (tests/security/test_api_tokens.py covers tokens).
    schema.config.generation.update(with_security_parameters=False)  # type: ignore[attr-defined]
    return schema


def test_no_server_error_on_any_input(world: World, fuzz_schema: object) -> None:
    """Every operation, with generated path/query/body values (own case id pinned)."""
    schema = fuzz_schema
    failures = []
    statuses: list[int] = []
    for result in schema.get_all_operations():  # type: ignore[attr-defined]
        operation = result.ok()

        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: object) -> None:
            params = case.path_parameters or {}  # type: ignore[attr-defined]
            if "case_id" in params and hash(str(params)) % 2:
                params["case_id"] = world.own.case_id
            response = case.call(headers=schema.config.headers)  # type: ignore[attr-defined]
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")  # type: ignore[attr-defined]

        run()
    assert not failures, failures
    assert statuses.count(200) >= 10, "the fuzzer never got past the login"
    assert 401 not in statuses
