"""Authorization matrix: every case route x every role x own/other case, from the route table.

The routes are read from the app itself, so a new route is covered (and must declare
its permission) without editing this test. A user with no role on a case gets 404,
exactly like a case that does not exist; another case's audio is never served.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from earshot.security.roles import Permission, Role, allows
from earshot.store.language_models import SegmentEntity
from earshot.store.models import Person, Segment

from .conftest import World

USERS = ("admin", "editor", "translator", "viewer", "outsider", None)
BODIES: dict[str, dict[str, Any]] = {
    "translation": {"text": "Matrix test.", "status": "edited", "version": 0},
    "themes": {"theme": "matrix", "present": True},
    "person": {"person_id": None},
    "verification": {"status": "partly_verified", "reason": "matrix test"},
    "voice-links/1": {"decision": "reject", "note": "matrix test"},
    "quotes/check": {"call_id": 1, "first": 0, "last": 0},
    "quotes": {"call_id": 1, "first": 0, "last": 0, "text": "Matrix test."},
    "pseudonym": {"pseudonym": "Matrix Person"},
    "comments": {"text": "Matrix test note."},
    "text": {"text": "Матричный тест.", "version": 1},
    "voice-matches": {  # no such call: refused after the role check, nothing decided
        "call_a": 1,
        "party_a": "A",
        "call_b": 2**31 - 1,
        "party_b": "A",
        "decision": "reject",
    },
    "proposals/1": {"accept": False},
    "saved-searches": {"name": "matrix", "query": "мобилизация"},
    # The layout edits: an old layout version, so the roles allowed get 409, not a change.
    # (Keys with a {placeholder} match the route's template, the others its path.)
    "{segment_id}/split": {"word": 1, "version": 99},
    "{segment_id}/merge": {"version": 99},
    "bounds": {"start": 0.5, "version": 99},
    "{segment_id}/party": {"party": "A", "version": 99},
    "start": {"process": False},
    # Identity by hand: bodies the library refuses after the role check (nothing changes).
    "unlink": {"person_id": 2**31 - 1},
    "{person_id}/unmerge": {"merge_id": 2**31 - 1},
    "{person_id}/merge": {"other_id": 2**31 - 1},
    "{person_id}/split": {"sides": [], "name": "matrix"},
}


def _all_routes(routes: list[Any]) -> list[Any]:
    """Routes, including those of included routers (newer FastAPI wraps them)."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_all_routes(inner.routes) if inner is not None else [route])
    return out


def _case_routes(app: Any) -> list[tuple[str, str, str]]:
    """(method, path, permission) of every route about a case."""
    found = []
    for route in _all_routes(app.routes):
        if not isinstance(route, APIRoute) or "{case_id}" not in route.path:
            continue
        extra = route.openapi_extra or {}
        for method in sorted(route.methods - {"HEAD"}):
            if method != "GET" or route.path.startswith("/api/"):
                permission = extra.get("x-permission", "READ")
            else:
                permission = "READ"
            found.append((method, route.path, permission))
    return found


def _ids(world: World) -> dict[str, int]:
    with world.own.session() as session:
        seg = session.execute(select(Segment).order_by(Segment.id)).scalars().first()
        person = session.execute(select(Person).order_by(Person.id)).scalars().first()
        entity = session.execute(select(SegmentEntity).order_by(SegmentEntity.id)).scalars().first()
        assert seg and person and entity
        return {
            "call_id": seg.call_id,
            "segment_id": seg.id,
            "person_id": person.id,
            "entity_id": entity.id,
            "link_id": 1,
            "search_id": 1,
            "job_id": 1,
            "upload_id": "0" * 32,
            "party": "A",
        }


def test_every_unsafe_route_declares_its_permission(app_client: TestClient) -> None:
    for method, path, permission in _case_routes(app_client.app):
        assert permission in Permission.__members__, (method, path)
        # Only the caller's own list (saved searches) may change with READ alone.
        if method != "GET" and "/saved-searches" not in path:
            assert permission != "READ", f"{method} {path} changes state but declares only READ"


@pytest.fixture(scope="module")
def clients(world: World, app_client: TestClient) -> dict[str | None, tuple[TestClient, str]]:
    out: dict[str | None, tuple[TestClient, str]] = {}
    for user in USERS:
        client = TestClient(app_client.app, base_url="http://testserver", follow_redirects=False)
        out[user] = (client, world.login(client, user) if user else "")
    return out


def test_authorization_matrix(
    world: World, app_client: TestClient, clients: dict[str | None, tuple[TestClient, str]]
) -> None:
    ids = _ids(world)
    routes = _case_routes(app_client.app)
    assert len(routes) >= 25
    checked = 0
    for method, template, permission in routes:
        for which, case in (("own", world.own), ("other", world.other)):
            path = template.format(case_id=case.case_id, **ids)
            params: dict[str, Any] = {}
            if path.endswith("/clip"):
                params = {"start": 0, "end": 1}
            if path.endswith(("/export", "/export/identifying")) and path.startswith("/api/"):
                params = {"calls": ids["call_id"], "confirm": "true"}
            body = next(
                (b for k, b in BODIES.items() if (template if "{" in k else path).endswith(k)),
                None,
            )
            for user in USERS:
                client, csrf = clients[user]
                response = client.request(
                    method,
                    path,
                    params=params,
                    json=body,
                    headers={"X-CSRF-Token": csrf} if csrf else {},
                )
                status = response.status_code
                label = f"{user} {method} {path} ({which})"
                checked += 1
                if user is None:
                    expected = 401 if path.startswith("/api/") or method != "GET" else 303
                    assert status == expected, label
                    continue
                role = world.accounts.role(user, case.case_id)
                if role is None:
                    assert status == 404, (label, status, response.text[:200])
                    assert case.path.name not in response.text, label
                    continue
                if allows(Role(role), Permission[permission]):
                    assert status not in (401, 403), (label, status, response.text[:200])
                    if method == "GET" and "{" not in template.split("{case_id}")[1]:
                        assert status == 200, (label, status, response.text[:200])
                else:
                    assert status == 403, (label, status, response.text[:200])
    assert checked == len(routes) * 2 * len(USERS)


def test_another_cases_audio_is_never_served(
    world: World, clients: dict[str | None, tuple[TestClient, str]]
) -> None:
    client, _ = clients["editor"]
    own = client.get(f"/api/cases/{world.own.case_id}/calls/1/audio")
    assert own.status_code == 200
    other = client.get(f"/api/cases/{world.other.case_id}/calls/1/audio")
    assert other.status_code == 404 and other.content != own.content
    for probe in ("../other", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", world.other.case_id.upper()):
        probed = client.get(f"/api/cases/{probe}/calls/1/audio")
        assert probed.status_code in (404, 422) and "audio" not in probed.headers.get(
            "content-type", ""
        ), probe
    for bad in (
        "/static/../earshot.db",
        "/static/%2e%2e/%2e%2e/store/case.py",
        "/static/..%2f..%2fapp.py",
    ):
        response = client.get(bad)
        assert response.status_code == 404, bad
