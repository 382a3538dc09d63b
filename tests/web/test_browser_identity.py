"""Identity review by hand in Debian's Chromium: link a call side to a new person from the
call page, upload evidence and verify the person citing it, merge and split, the
history shown; then the same pages on a 390 px phone, checked by axe-core.

Shares the served world and the Chromium driver of ``test_browser``; every side linked
here is unlinked again at the end, so the other browser tests find the world as it was.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from earshot import workbench
from earshot.security.roles import Actor, Role
from earshot.store.models import Call, Party, Person

from . import test_browser
from .conftest import World
from .test_browser import Browser, shoot, wait_js
from .test_browser_workbench import _axe

chrome = test_browser.chrome  # the same module-scoped Chromium fixture


def _free_sides(world: World, n: int) -> list[tuple[int, str]]:
    """`n` call sides nobody is linked to, each of a different call."""
    out: list[tuple[int, str]] = []
    with world.own.session() as session:
        rows = session.execute(
            select(Party.call_id, Party.label)
            .join(Call, Call.id == Party.call_id)
            .where(Party.person_id.is_(None), ~Call.source_file.contains("evil"))
            .order_by(Party.call_id, Party.label)
        ).all()
    for call_id, label in rows:
        if all(call_id != c for c, _ in out):
            out.append((int(call_id), str(label)))
    assert len(out) >= n, out
    return out[:n]


def _person(world: World, name: str) -> int:
    with world.own.session() as session:
        found = session.scalars(select(Person.id).where(Person.name == name)).first()
        assert found is not None, name
        return int(found)


def _unlink_all(world: World, sides: list[tuple[int, str]]) -> None:
    with world.own.session() as session:
        for call_id, label in sides:
            party = session.scalars(
                select(Party).where(Party.call_id == call_id, Party.label == label)
            ).one()
            if party.person_id is not None:
                workbench.unlink_side(
                    session, Actor("test", Role.EDITOR), call_id=call_id, party=label
                )


def test_link_upload_verify_merge_split_and_history(
    chrome: Browser, world: World, tmp_path: Path
) -> None:
    (call_a, side_a), (call_b, side_b) = _free_sides(world, 2)
    base = f"{chrome.base}/cases/{world.own.case_id}"
    page = chrome.page()
    chrome.login(page, "editor")
    try:
        # 1. On the call page, link a side to a new person.
        page.goto(f"{base}/calls/{call_a}")  # type: ignore[attr-defined]
        page.click("#call-sides > summary")  # type: ignore[attr-defined]
        block = f"#side-{side_a}"
        page.select_option(f"{block} select[name=person_id]", "")  # type: ignore[attr-defined]
        page.fill(f"{block} input[name=new_name]", "Тётя Галя")  # type: ignore[attr-defined]
        page.select_option(f"{block} select[name=new_role]", "relative")  # type: ignore[attr-defined]
        page.fill(f"{block} input[name=note]", "she greets her nephew by name")  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click(f"{block} button[type=submit]")  # type: ignore[attr-defined]
        assert "Тётя Галя" in page.inner_text(f"{block} p")  # type: ignore[attr-defined]
        page.click(f"{block} details.side-history summary")  # type: ignore[attr-defined]
        assert "accepted Тётя Галя (editor) by editor" in page.inner_text(f"{block} ol")  # type: ignore[attr-defined]
        galya = _person(world, "Тётя Галя")
        # 2. On her page: upload a file as evidence; verifying without citing it is refused
        #    in the browser's words; citing it, accepted.
        scan = tmp_path / "postcard.jpg"
        scan.write_bytes(b"\xff\xd8\xff fictional postcard scan " * 500)
        page.goto(f"{base}/persons/{galya}")  # type: ignore[attr-defined]
        form = "#evidence-form"
        page.select_option(f"{form} select[name=kind]", "document")  # type: ignore[attr-defined]
        page.fill(f"{form} textarea[name=summary]", "postcard she signed, same nickname")  # type: ignore[attr-defined]
        page.set_input_files(f"{form} input[name=file]", str(scan))  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click(f"{form} button[type=submit]")  # type: ignore[attr-defined]
        assert "postcard.jpg" in page.inner_text("main")  # type: ignore[attr-defined]
        with world.own.session() as session:
            from earshot.identity import list_evidence

            items = list_evidence(session, person_ids=[galya])
            assert len(items) == 1 and items[0].file_name == "postcard.jpg"
            evidence_id, sha = items[0].id, items[0].sha256
        assert sha and world.own.media.original_path(sha).read_bytes() == scan.read_bytes()
        page.select_option("#verify-form select[name=status]", "verified")  # type: ignore[attr-defined]
        page.fill("#verify-form textarea[name=reason]", "the postcard matches her voice")  # type: ignore[attr-defined]
        page.click("#verify-form button[type=submit]")  # type: ignore[attr-defined]
        wait_js(page, "document.getElementById('toast').textContent.includes('evidence')")
        refusal = page.inner_text("#toast")  # type: ignore[attr-defined]
        assert "Add evidence" in refusal and "--" not in refusal and "`" not in refusal
        chrome.errors[:] = [e for e in chrome.errors if "status of 422" not in e]
        page.check(f"#verify-form input[name=evidence][value='{evidence_id}']")  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click("#verify-form button[type=submit]")  # type: ignore[attr-defined]
        assert page.inner_text("#verification-status") == "verified"  # type: ignore[attr-defined]
        # The side on the call page, verified citing the same evidence.
        page.goto(f"{base}/calls/{call_a}")  # type: ignore[attr-defined]
        page.click("#call-sides > summary")  # type: ignore[attr-defined]
        page.click(f"{block} details.side-verify summary")  # type: ignore[attr-defined]
        page.select_option(f"{block} select[name=status]", "partly_verified")  # type: ignore[attr-defined]
        page.fill(f"{block} input[name=reason]", "her postcard, her voice")  # type: ignore[attr-defined]
        page.check(f"{block} input[name=evidence][value='{evidence_id}']")  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click(f"{block} form.side-verify-form button[type=submit]")  # type: ignore[attr-defined]
        page.click(f"{block} details.side-history summary")  # type: ignore[attr-defined]
        side_history = page.inner_text(f"{block} details.side-history")  # type: ignore[attr-defined]
        assert "verification partly verified" in side_history and f"#{evidence_id}" in side_history
        # 3. Another person on another call is found to be her: merge, then split back.
        with world.own.session() as session:
            workbench.link_side(
                session, Actor("editor", Role.EDITOR), call_id=call_b, party=side_b,
                new_name="Галина", new_role="relative",
            )  # fmt: skip
        galina = _person(world, "Галина")
        page.goto(f"{base}/persons/{galya}")  # type: ignore[attr-defined]
        page.select_option("#merge-form select[name=other_id]", str(galina))  # type: ignore[attr-defined]
        page.fill("#merge-form input[name=reason]", "one voice, one postcard")  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click("#merge-form button[type=submit]")  # type: ignore[attr-defined]
        rows = page.query_selector_all("#person-calls tbody tr")  # type: ignore[attr-defined]
        merged_page = page.context.new_page()  # type: ignore[attr-defined]
        merged_page.goto(f"{base}/persons/{galina}")
        assert f"/persons/{galya}" in merged_page.get_attribute("#merged-into a", "href")
        merged_page.close()
        assert {r.get_attribute("data-side") for r in rows} == {
            f"{call_a}:{side_a}",
            f"{call_b}:{side_b}",
        }
        page.check(f"input.split-pick[value='{call_b}:{side_b}']")  # type: ignore[attr-defined]
        page.fill("#split-form input[name=name]", "Галина Петровна")  # type: ignore[attr-defined]
        page.fill("#split-form input[name=reason]", "a second voice after all")  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click("#split-form button[type=submit]")  # type: ignore[attr-defined]
        rows = page.query_selector_all("#person-calls tbody tr")  # type: ignore[attr-defined]
        assert [r.get_attribute("data-side") for r in rows] == [f"{call_a}:{side_a}"]
        shoot(page, "identity-person")
        # 4. The history: the link and why, the evidence, the decision citing it, the merge
        #    with the other person, the split.
        history = page.inner_text("#history")  # type: ignore[attr-defined]
        for expected in (
            "she greets her nephew by name",
            "evidence: document",
            "verification: verified",
            f"#{evidence_id}",
            "merge: merged in",
            "Галина",
            "split: split off to",
            "Галина Петровна",
        ):
            assert expected in history, (expected, history)
        # 5. Unlink from her page: the side is nobody's again, kept in the history.
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click(
                f"#person-calls button.unlink[data-url$='/calls/{call_a}/sides/{side_a}/unlink']"
            )  # type: ignore[attr-defined]
        assert page.query_selector("#person-calls tbody tr") is None  # type: ignore[attr-defined]
        assert "unlinked by editor" in page.inner_text("#history")  # type: ignore[attr-defined]
    finally:
        page.context.close()  # type: ignore[attr-defined]
        _unlink_all(world, [(call_a, side_a), (call_b, side_b)])
    assert not chrome.errors, chrome.errors


def test_identity_pages_on_a_phone(chrome: Browser, world: World) -> None:
    """At 390 px: link a side to an existing person from the call page, the person and
    persons pages fit the width, axe-core finds nothing serious, and unlink again."""
    ((call_id, side),) = _free_sides(world, 1)
    with world.own.session() as session:
        named = session.scalars(
            select(Party).where(Party.person_id.is_not(None)).order_by(Party.id)
        ).first()
        assert named is not None and named.person_id is not None
        person = int(named.person_id)
    base = f"{chrome.base}/cases/{world.own.case_id}"
    page = chrome.page(390, 844)
    chrome.login(page, "editor")
    try:
        page.goto(f"{base}/calls/{call_id}")  # type: ignore[attr-defined]
        page.click("#call-sides > summary")  # type: ignore[attr-defined]
        block = f"#side-{side}"
        page.select_option(f"{block} select[name=person_id]", str(person))  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click(f"{block} button[type=submit]")  # type: ignore[attr-defined]
        assert page.query_selector(f"{block} a[href$='/persons/{person}']") is not None  # type: ignore[attr-defined]
        page.locator("#call-sides").scroll_into_view_if_needed()  # type: ignore[attr-defined]
        shoot(page, "identity-call-sides-390")
        # Evidence about the call (a web address), then citable for the side's decision.
        page.click("#call-sides details.side:has(#call-evidence-form) > summary")  # type: ignore[attr-defined]
        page.select_option("#call-evidence-form select[name=kind]", "osint_profile")  # type: ignore[attr-defined]
        page.fill("#call-evidence-form input[name=summary]", "the number in a public ad")  # type: ignore[attr-defined]
        page.fill("#call-evidence-form input[name=url]", "https://ads.example/0002")  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click("#call-evidence-form button[type=submit]")  # type: ignore[attr-defined]
        page.click(f"{block} details.side-verify summary")  # type: ignore[attr-defined]
        assert "the number in a public ad" in page.inner_text(f"{block} form.side-verify-form")  # type: ignore[attr-defined]
        problems = {"call": _axe(page, chrome)}
        assert page.evaluate("document.documentElement.scrollWidth") <= 392  # type: ignore[attr-defined]
        page.goto(f"{base}/persons/{person}")  # type: ignore[attr-defined]
        assert page.query_selector(f"#person-calls tr[data-side='{call_id}:{side}']") is not None  # type: ignore[attr-defined]
        assert page.evaluate("document.documentElement.scrollWidth") <= 392  # type: ignore[attr-defined]
        problems["person"] = _axe(page, chrome)
        shoot(page, "identity-person-390")
        page.goto(f"{base}/persons?sort=calls&desc=true")  # type: ignore[attr-defined]
        calls = [
            int(c.inner_text())
            for c in page.query_selector_all("#persons-table td.calls")  # type: ignore[attr-defined]
        ]
        assert calls == sorted(calls, reverse=True) and calls[0] >= 1
        assert page.get_attribute("th[aria-sort]", "aria-sort") == "descending"  # type: ignore[attr-defined]
        problems["persons"] = _axe(page, chrome)
        assert not any(problems.values()), problems
        page.goto(f"{base}/calls/{call_id}")  # type: ignore[attr-defined]
        page.click("#call-sides > summary")  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click(f"{block} button.unlink")  # type: ignore[attr-defined]
        assert "nobody linked" in page.inner_text(f"{block} p")  # type: ignore[attr-defined]
    finally:
        page.context.close()  # type: ignore[attr-defined]
        _unlink_all(world, [(call_id, side)])
    assert not chrome.errors, chrome.errors
