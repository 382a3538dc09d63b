"""The case lexicon over the web: API and form, with the logged-in user kept as the actor."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from earshot.language.case_lexicon import CASE_INFO_KEY
from earshot.store.language_models import CaseSlangEntry, SegmentSlang

from .conftest import World


def _client(world: World, app_client: TestClient, user: str) -> tuple[TestClient, str]:
    client = TestClient(app_client.app, base_url="http://testserver")
    return client, world.login(client, user)


def _a_word(world: World) -> str:
    """A lower-case word of the case's first segment, to make a case-lexicon entry of."""
    from earshot.store.models import Segment, Transcript

    with world.own.session() as session:
        texts = session.execute(
            select(Segment.text)
            .join(Transcript, Transcript.id == Segment.transcript_id)
            .where(Transcript.kind == "verbatim")
            .order_by(Segment.id)
            .limit(50)
        ).scalars()
        words = [w.strip(".,!?«»—…") for text in texts for w in text.split()]
    return next(w for w in words if len(w) > 5 and w.islower() and all("а" <= c <= "я" for c in w))


def test_editor_adds_lists_and_removes_an_entry(world: World, app_client: TestClient) -> None:
    client, csrf = _client(world, app_client, "editor")
    api = f"/api/cases/{world.own.case_id}/slang"
    word = _a_word(world)
    refused = client.post(
        f"{api}/lexicon",
        json={"term": "200", "forms": [word], "gloss": "g", "category": "casualties"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 422 and "built-in" in refused.json()["detail"]
    added = client.post(
        f"{api}/lexicon",
        json={"term": "web_word", "forms": [word], "gloss": "test gloss", "category": "units"},
        headers={"X-CSRF-Token": csrf},
    )
    assert added.status_code == 200, added.text
    assert added.json()["actor"] == "editor" and added.json()["hits"] >= 1
    listed = client.get(f"{api}/lexicon").json()["entries"]
    assert [(e["term"], e["actor"]) for e in listed] == [("web_word", "editor")]
    with world.own.session() as session:
        assert session.get(CaseSlangEntry, "web_word") is not None
        hits = session.execute(
            select(SegmentSlang.text).where(SegmentSlang.info_key == CASE_INFO_KEY)
        ).scalars()
        assert word in {h.lower() for h in hits}
    page = client.get(f"/cases/{world.own.case_id}/slang")
    assert page.status_code == 200 and "web_word" in page.text and "Candidates" in page.text
    assert "candidates" in client.get(f"{api}/candidates").json()
    removed = client.delete(
        f"{api}/lexicon", params={"term": "web_word"}, headers={"X-CSRF-Token": csrf}
    )
    assert removed.status_code == 200
    assert client.get(f"{api}/lexicon").json()["entries"] == []


def test_form_posts_and_viewer_is_refused(world: World, app_client: TestClient) -> None:
    client, csrf = _client(world, app_client, "editor")
    word = _a_word(world)
    url = f"/cases/{world.own.case_id}/slang"
    form = {"term": "form_word", "forms": f"{word}, {word}ы", "gloss": "g", "category": "units"}
    answer = client.post(url, data=form, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200 and "form_word" in answer.text and "Added" in answer.text
    bad = client.post(url, data={**form, "category": "food"}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 200 and "unknown category" in bad.text
    viewer, viewer_csrf = _client(world, app_client, "viewer")
    assert viewer.post(url, data=form, headers={"X-CSRF-Token": viewer_csrf}).status_code == 403
    client.delete(
        f"/api/cases/{world.own.case_id}/slang/lexicon",
        params={"term": "form_word"},
        headers={"X-CSRF-Token": csrf},
    )
