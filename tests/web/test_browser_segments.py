"""The transcript's layout edited in Debian's Chromium: change a line's party, merge,
split before a word, drag a boundary on the waveform and nudge it with Alt+[ / ], then
search finds the changed text; and the phone's full-height editor.

Works on call09 of the served world, which the other browser tests leave alone.
"""

from __future__ import annotations

from sqlalchemy import select

from earshot.language.analysis import current_transcript
from earshot.store.models import Segment

from . import test_browser
from .conftest import World
from .test_browser import Browser, wait_js
from .test_browser_workbench import _axe, _call_of

chrome = test_browser.chrome  # the same module-scoped Chromium fixture


def _segments(world: World, call_id: int) -> list[Segment]:
    with world.own.session() as session:
        transcript = current_transcript(session, call_id)
        assert transcript is not None
        rows = list(
            session.scalars(
                select(Segment).where(Segment.transcript_id == transcript.id).order_by(Segment.idx)
            )
        )
        session.expunge_all()
        return rows


def _wait_layout(
    page: object, world: World, call_id: int, check: object, timeout: float = 20.0
) -> list[Segment]:
    """Poll the case until `check` holds, letting Playwright answer the page's requests
    meanwhile (every request passes this process's route handler)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        rows = _segments(world, call_id)
        if check(rows):  # type: ignore[operator]
            return rows
        if time.monotonic() > deadline:
            from earshot import workbench
            from earshot.security.roles import Actor, Role

            with world.own.session() as session:
                done = workbench.segment_edit_history(session, Actor("v", Role.VIEWER), call_id)
            raise AssertionError(
                [(s.idx, s.party, s.start, s.end, s.text[:20]) for s in rows],
                [(h.kind, h.segment_id, h.other_segment_id, h.after) for h in done],
            )
        page.wait_for_timeout(100)  # type: ignore[attr-defined]


def _ready(page: object) -> None:
    """The player of the page now (a split or merge reloads the page)."""
    import time

    for _ in range(50):
        try:
            wait_js(page, "window.earshotPlayer && window.earshotPlayer.getDuration() > 0")
            return
        except Exception as exc:  # a navigation between two polls
            if "destroyed" not in str(exc):
                raise
            time.sleep(0.1)


def _open(chrome: Browser, world: World, call_id: int, page: object) -> None:
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/calls/{call_id}")  # type: ignore[attr-defined]
    wait_js(page, "window.earshotPlayer && window.earshotPlayer.getDuration() > 0")


def test_party_merge_split_drag_and_keys_then_search(chrome: Browser, world: World) -> None:
    call_id = _call_of(world, "call09.wav")
    before = _segments(world, call_id)
    assert [s.party for s in before[:3]] == ["A", "B", "A"]
    s0, s1, s2, s4 = before[0].id, before[1].id, before[2].id, before[4].id
    page = chrome.page()
    chrome.login(page, "editor")
    _open(chrome, world, call_id, page)
    # The help lists the layout keys.
    page.keyboard.press("?")  # type: ignore[attr-defined]
    keys = page.text_content("#keys-help")  # type: ignore[attr-defined]
    assert "Alt" in keys and "[" in keys and "split" in keys and "merge" in keys
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    # 1. The second line is said by A, not B.
    page.click(f"#seg-{s1} button.seg-party")  # type: ignore[attr-defined]
    _wait_layout(page, world, call_id, lambda rows: rows[1].party == "A")
    page.wait_for_selector(f"#seg-{s1} .speaker:has-text('A')")  # type: ignore[attr-defined]
    # 2. Now the first two lines are one speaker's: merge them.
    page.click(f"#seg-{s0} button.seg-merge")  # type: ignore[attr-defined]
    merged = _wait_layout(page, world, call_id, lambda rows: rows[0].text.endswith("домой."))
    assert merged[0].text.startswith("Маринка, это Рома.") and len(merged) == len(before) - 1
    assert all(s.id != s1 for s in merged)
    page.wait_for_selector(f"#seg-{s1}", state="detached")  # type: ignore[attr-defined]
    _ready(page)
    # 3. Split «Какой домой. Путин указ подписал, …» before «Путин».
    page.click(f"#seg-{s2} button.seg-split")  # type: ignore[attr-defined]
    page.click(f"#seg-{s2} .split-pick button.split-word:text-is('Путин')")  # type: ignore[attr-defined]
    split = _wait_layout(page, world, call_id, lambda rows: rows[1].text == "Какой домой.")
    new = split[2]
    assert new.text.startswith("Путин указ подписал") and new.party == "A"
    assert split[1].end == new.start
    page.wait_for_selector(f"#seg-{new.id}")  # type: ignore[attr-defined]
    _ready(page)
    # 4. Drag the end of «Тут никого не спрашивают…» to 19.0 s on the waveform.
    line = next(s for s in split if s.id == s4)
    page.click(f"#seg-{s4} button.seek")  # type: ignore[attr-defined]
    page.evaluate("window.earshotPlayer.pause()")  # type: ignore[attr-defined]
    picked = "window.earshotLayout.selected()"
    wait_js(page, f"{picked} && {picked}.id === 'seg-{s4}'")
    page.wait_for_selector(".seg-handle-end:not([hidden])")  # type: ignore[attr-defined]
    box = page.locator(".seg-handle-end").bounding_box()  # type: ignore[attr-defined]
    wrap = page.locator("#wave-wrap").bounding_box()  # type: ignore[attr-defined]
    duration = page.evaluate("window.earshotPlayer.getDuration()")  # type: ignore[attr-defined]
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)  # type: ignore[attr-defined]
    page.mouse.down()  # type: ignore[attr-defined]
    target = wrap["x"] + wrap["width"] * 19.0 / duration
    page.mouse.move(target, y, steps=8)  # type: ignore[attr-defined]
    page.mouse.up()  # type: ignore[attr-defined]

    def _at_19(rows: list[Segment]) -> bool:
        end = next(s for s in rows if s.id == s4).end
        return end is not None and abs(end - 19.0) < 0.25

    dragged = _wait_layout(page, world, call_id, _at_19)
    assert next(s for s in dragged if s.id == s4).start == line.start
    # 5. Alt+[ twice: the start 0.2 s earlier; Alt+Shift+]: the end 0.1 s later.
    end = next(s for s in dragged if s.id == s4).end
    page.focus(f"#seg-{s4} button.seek")  # type: ignore[attr-defined]
    page.keyboard.press("Alt+BracketLeft")  # type: ignore[attr-defined]
    page.keyboard.press("Alt+BracketLeft")  # type: ignore[attr-defined]
    page.keyboard.press("Alt+Shift+BracketRight")  # type: ignore[attr-defined]
    assert line.start is not None and end is not None
    nudged = _wait_layout(
        page,
        world,
        call_id,
        lambda rows: next(s for s in rows if s.id == s4).end == round(end + 0.1, 2),
    )
    assert next(s for s in nudged if s.id == s4).start == round(line.start - 0.2, 2)
    assert page.get_attribute(f"#seg-{s4}", "data-start") == str(round(line.start - 0.2, 2))  # type: ignore[attr-defined]
    # Alt+P: the line goes to the other side.
    page.keyboard.press("Alt+KeyP")  # type: ignore[attr-defined]
    _wait_layout(
        page, world, call_id, lambda rows: next(s for s in rows if s.id == s4).party == "B"
    )
    page.wait_for_selector(f"#seg-{s4} .speaker:has-text('B')")  # type: ignore[attr-defined]
    # The editor's call page, with the handles and tools, has no serious axe violation.
    assert not _axe(page, chrome), _axe(page, chrome)
    # 6. Search finds the split-off line, and the merged words in the merged line.
    base = f"{chrome.base}/cases/{world.own.case_id}"
    page.goto(f"{base}/search?q=указ")  # type: ignore[attr-defined]
    hits = page.eval_on_selector_all("a.hit-link", "els => els.map((a) => a.href)")  # type: ignore[attr-defined]
    assert any(f"#seg-{new.id}" in h for h in hits), hits
    page.goto(f"{base}/search?q=Маринка контракт")  # type: ignore[attr-defined]
    hits = page.eval_on_selector_all("a.hit-link", "els => els.map((a) => a.href)")  # type: ignore[attr-defined]
    assert any(f"#seg-{s0}" in h for h in hits), hits
    with world.own.session() as session:
        from earshot import workbench
        from earshot.security.roles import Actor, Role

        history = workbench.segment_edit_history(session, Actor("v", Role.VIEWER), call_id)
    kinds = ["party", "merge", "split", "move", "move", "move", "move", "party"]
    assert [h.kind for h in history] == kinds
    assert {h.actor for h in history} == {"editor"}
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


def test_a_translator_sees_no_layout_tools_and_types_full_height_on_a_phone(
    chrome: Browser, world: World
) -> None:
    call_id = _call_of(world, "call09.wav")
    page = chrome.page(390, 844)
    chrome.login(page, "translator")
    _open(chrome, world, call_id, page)
    assert page.locator("button.seg-split").count() == 0  # type: ignore[attr-defined]
    assert page.locator(".seg-handle").count() == 0  # type: ignore[attr-defined]
    assert page.locator("canvas.seg-canvas").count() == 1  # type: ignore[attr-defined]
    box = "article.seg:nth-of-type(4) textarea.tr-text"
    small = page.evaluate(f"document.querySelector({box!r}).getBoundingClientRect().height")  # type: ignore[attr-defined]
    page.focus(box)  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    rect = page.evaluate(  # type: ignore[attr-defined]
        f"(() => {{ const r = document.querySelector({box!r}).getBoundingClientRect();"
        " const p = document.querySelector('section.player').getBoundingClientRect();"
        " return [r.top, r.bottom, r.height, p.bottom]; })()"
    )
    top, bottom, height, player_bottom = rect
    assert height > 2 * small and height > 450, (small, rect)
    assert top >= player_bottom - 2 and bottom <= 844 + 1, rect
    wide = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert wide <= 392, wide
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


def test_alt_s_splits_the_selected_line_at_the_playing_second(
    chrome: Browser, world: World
) -> None:
    call_id = _call_of(world, "call09.wav")
    rows = _segments(world, call_id)
    line = next(s for s in rows if s.text.startswith("Может, адвоката найти?"))
    assert line.start is not None and line.end is not None
    page = chrome.page()
    chrome.login(page, "editor")
    _open(chrome, world, call_id, page)
    page.click(f"#seg-{line.id} button.seek")  # type: ignore[attr-defined]
    page.evaluate("window.earshotPlayer.pause()")  # type: ignore[attr-defined]
    at = round(line.start + 0.38 * (line.end - line.start), 2)
    page.evaluate(f"window.earshotPlayer.setTime({at})")  # type: ignore[attr-defined]
    picked = "window.earshotLayout.selected()"
    wait_js(page, f"{picked} && {picked}.id === 'seg-{line.id}'")
    page.keyboard.press("Alt+KeyS")  # type: ignore[attr-defined]
    after = _wait_layout(page, world, call_id, lambda r: len(r) == len(rows) + 1)
    first = next(s for s in after if s.id == line.id)
    second = after[after.index(first) + 1]
    assert first.end == second.start == at
    assert f"{first.text} {second.text}" == line.text and first.text.endswith("?")
    page.wait_for_selector(f"#seg-{second.id}")  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors
