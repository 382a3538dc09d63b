"""A reviewer's rewrite in the browser becomes a new translation of record by the reviewer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from earshot.language.translation.workflow import translation_history

from .conftest import World


def test_reviewers_rewrite_through_the_api(world: World, app_client: TestClient) -> None:
    editor = TestClient(app_client.app, base_url="http://testserver")
    csrf = world.login(editor, "editor")
    translator = TestClient(app_client.app, base_url="http://testserver")
    tcsrf = world.login(translator, "translator")
    calls = editor.get(f"/api/cases/{world.own.case_id}/calls").json()["calls"]
    detail = next(
        d
        for d in (
            editor.get(f"/api/cases/{world.own.case_id}/calls/{c['id']}").json() for c in calls
        )
        if sum(1 for s in d["segments"] if s["translation"]) >= 2
    )
    seg = [s for s in detail["segments"] if s["translation"]][-1]  # not the one test_api uses
    url = (
        f"/api/cases/{world.own.case_id}/calls/{detail['call']['id']}/segments/"
        f"{seg['id']}/translation"
    )
    own_text = "Tell dad the car is fine, we fixed it on Sunday."
    saved = translator.put(
        url,
        json={"text": own_text, "status": "edited", "version": seg["translation"]["version"]},
        headers={"X-CSRF-Token": tcsrf},
    )
    assert saved.status_code == 200, saved.text
    rewrite = "Nobody here has slept for three days; the shelling never stops."
    reviewed = editor.put(
        url,
        json={"text": rewrite, "status": "reviewed", "version": saved.json()["version"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert reviewed.status_code == 200, reviewed.text
    body = reviewed.json()
    assert (body["status"], body["translator"], body["reviewer"]) == ("edited", "editor", None)
    with world.own.session() as session:
        history = translation_history(session, seg["id"])
    assert [h.action for h in history[-2:]] == ["edit", "rewrite"]
    assert history[-2].text == own_text and history[-2].actor == "translator"
