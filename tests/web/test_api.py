"""The JSON API and the pages through the ASGI app: data, edits, concurrency, audio."""

from __future__ import annotations

import wave

from fastapi.testclient import TestClient

from earshot.store.models import Call

from .conftest import PASSWORD, World


def _client(world: World, app_client: TestClient, user: str) -> tuple[TestClient, str]:
    client = TestClient(app_client.app, base_url="http://testserver")
    return client, world.login(client, user)


def _first_call_with_segments(world: World, client: TestClient) -> dict:
    calls = client.get(f"/api/cases/{world.own.case_id}/calls").json()["calls"]
    for c in calls:
        detail = client.get(f"/api/cases/{world.own.case_id}/calls/{c['id']}").json()
        if detail["segments"] and any(s["translation"] for s in detail["segments"]):
            return detail
    raise AssertionError("no call with translated segments in the sample case")


def test_every_page_renders_for_an_editor(world: World, app_client: TestClient) -> None:
    client, _ = _client(world, app_client, "editor")
    base = f"/cases/{world.own.case_id}"
    detail = _first_call_with_segments(world, client)
    person = client.get(f"/api/cases/{world.own.case_id}/persons").json()
    assert person, "the sample records name persons"
    for path in [
        "",
        "/calls",
        f"/calls/{detail['call']['id']}",
        "/persons",
        f"/persons/{person[0]['id']}",
        "/search?q=мама",
        "/trends",
        "/map",
        "/graph",
        f"/quotes?call={detail['call']['id']}",
        "/export",
    ]:
        page = client.get(base + path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "<script>alert" not in page.text, path
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"


def test_api_serves_the_case_data(world: World, app_client: TestClient) -> None:
    client, _ = _client(world, app_client, "viewer")
    api = f"/api/cases/{world.own.case_id}"
    overview = client.get(api).json()
    with world.own.session() as session:
        assert overview["calls"] == session.query(Call).count()
    assert overview["themes"], "analysis tagged themes"
    calls = client.get(f"{api}/calls", params={"sort": "-duration"}).json()["calls"]
    durations = [c["duration"] for c in calls]
    assert durations == sorted(durations, reverse=True)
    theme = overview["themes"][0]["theme"]
    tagged = client.get(f"{api}/calls", params={"theme": theme}).json()["calls"]
    assert tagged and all(theme in c["themes"] for c in tagged)
    hits = client.get(f"{api}/search", params={"q": "мам"}).json()
    assert hits["hits"] and all("мам" in h["text"].lower() for h in hits["hits"])
    graph = client.get(f"{api}/graph").json()
    assert graph["nodes"] and graph["links"]
    trends = client.get(f"{api}/trends", params={"interval": "month"}).json()
    assert trends["periods"] and trends["series"]
    schema = client.get("/openapi.json").json()
    assert "/api/cases/{case_id}/calls/{call_id}/audio" in schema["paths"]


def test_audio_streams_with_ranges(world: World, app_client: TestClient) -> None:
    client, _ = _client(world, app_client, "viewer")
    detail = _first_call_with_segments(world, client)
    url = f"/api/cases/{world.own.case_id}/calls/{detail['call']['id']}/audio"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert int(whole.headers["content-length"]) == len(whole.content)
    part = client.get(url, headers={"Range": "bytes=100-4099"})
    assert part.status_code == 206 and part.content == whole.content[100:4100]
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == whole.content[-10:]
    assert client.get(url, headers={"Range": f"bytes={len(whole.content)}-"}).status_code == 416
    path = world.root / "played.wav"
    path.write_bytes(whole.content)
    with wave.open(str(path)) as played:
        assert played.getnframes() > 0 and played.getframerate() == 16000
    peaks = client.get(url.replace("/audio", "/peaks")).json()
    assert len(peaks["peaks"]) == peaks["channels"] and max(peaks["peaks"][0]) > 0


def test_translation_edit_review_approve_and_stale_refusal(
    world: World, app_client: TestClient
) -> None:
    editor, csrf = _client(world, app_client, "editor")
    translator, tcsrf = _client(world, app_client, "translator")
    detail = _first_call_with_segments(world, editor)
    seg = next(s for s in detail["segments"] if s["translation"])
    url = (
        f"/api/cases/{world.own.case_id}/calls/{detail['call']['id']}/segments/"
        f"{seg['id']}/translation"
    )
    version = seg["translation"]["version"]
    saved = translator.put(
        url,
        json={"text": "Hello, mum.", "status": "edited", "version": version},
        headers={"X-CSRF-Token": tcsrf},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] > version and saved.json()["translator"] == "translator"
    stale = editor.put(
        url,
        json={"text": "Hi mum", "status": "edited", "version": version},
        headers={"X-CSRF-Token": csrf},
    )
    assert stale.status_code == 409
    assert (
        "translator" in stale.json()["detail"] and stale.json()["current"]["text"] == "Hello, mum."
    )
    fresh = saved.json()["version"]
    refused = translator.put(
        url,
        json={"text": "Hello, mum.", "status": "approved", "version": fresh},
        headers={"X-CSRF-Token": tcsrf},
    )
    assert refused.status_code == 403
    reviewed = editor.put(
        url,
        json={"text": "Hello, mum.", "status": "reviewed", "version": fresh},
        headers={"X-CSRF-Token": csrf},
    )
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "reviewed"
    assert reviewed.json()["translator"] == "translator"
    after_review = reviewed.json()["version"]
    own_review = editor.put(  # four eyes: the reviewer does not approve their own review
        url,
        json={"text": "Hello, mum.", "status": "approved", "version": after_review},
        headers={"X-CSRF-Token": csrf},
    )
    assert own_review.status_code == 422
    assert "editor reviewed segment" in own_review.json()["detail"]
    admin, acsrf = _client(world, app_client, "admin")
    approved = admin.put(
        url,
        json={"text": "Hello, mum.", "status": "approved", "version": after_review},
        headers={"X-CSRF-Token": acsrf},
    )
    assert approved.json()["status"] == "approved" and approved.json()["approver"] == "admin"
    assert approved.json()["reviewer"] == "editor"
    from earshot.language.translation.workflow import translation_history

    with world.own.session() as session:
        actions = [h.action for h in translation_history(session, seg["id"])]
    assert actions[-3:] == ["edit", "review", "approve"]


def test_state_changes_need_the_csrf_token_and_same_origin(
    world: World, app_client: TestClient
) -> None:
    client, csrf = _client(world, app_client, "editor")
    url = f"/api/cases/{world.own.case_id}/calls/1/themes"
    body = {"theme": "morale", "present": True}
    assert client.post(url, json=body).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert (
        client.post(
            url, json=body, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    done = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and "morale" in done.json()["themes"]
    removed = client.post(url, json={**body, "present": False}, headers={"X-CSRF-Token": csrf})
    assert "morale" not in removed.json()["themes"]


def test_session_cookie_flags_logout_and_idle_timeout(world: World, app_client: TestClient) -> None:
    client = TestClient(app_client.app, base_url="http://testserver")
    form = client.get("/login")
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/api/me").json()["username"] == "viewer"
    web = app_client.app.state.web
    session = web.sessions.get(client.cookies.get("earshot_session"))
    session.last_seen -= web.options.idle_timeout_s + 1
    assert client.get("/api/me").status_code == 401
    page = client.get(f"/cases/{world.own.case_id}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_wrong_passwords_slow_the_account_from_that_address(
    world: World, app_client: TestClient
) -> None:
    world.accounts.add_user("victim", PASSWORD)
    client = TestClient(app_client.app, base_url="http://testserver", client=("10.0.0.66", 4000))
    for _ in range(6):
        form = client.get("/login")
        token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
        done = client.post(
            "/login",
            data={"username": "victim", "password": "wrong password!", "login_token": token},
            follow_redirects=False,
        )
        assert "/login?" in done.headers["location"]
    form = client.get("/login")
    token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        "/login",
        data={"username": "victim", "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    assert done.headers["location"].endswith("&error=wait")
    assert int(done.headers["retry-after"]) >= 1
