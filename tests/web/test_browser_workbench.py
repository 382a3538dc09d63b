"""The workbench flows of issue 13 in Debian's Chromium: quoting with a marked cut,
two browsers saving the same translation, error pages, search hints.

Shares the served world and the Chromium driver of ``test_browser``.
"""

from __future__ import annotations

from sqlalchemy import select

from earshot.store.models import Call, Segment

from . import test_browser
from .conftest import World
from .test_browser import Browser, wait_js

chrome = test_browser.chrome  # the same module-scoped Chromium fixture


def _call_of(world: World, file_name: str) -> int:
    with world.own.session() as session:
        call_id = session.scalars(
            select(Call.id).where(Call.source_file.endswith(file_name))
        ).first()
        assert call_id is not None, file_name
        return int(call_id)


def _segment_id(world: World, call_id: int, position: int) -> int:
    from earshot.language.analysis import current_transcript

    with world.own.session() as session:
        transcript = current_transcript(session, call_id)
        assert transcript is not None
        segment: Segment = list(transcript.segments)[position]
        return int(segment.id)


def test_quote_with_a_marked_cut_is_accepted_not_rewritten(chrome: Browser, world: World) -> None:
    call_id = _call_of(world, "call12.wav")
    page = chrome.page()
    chrome.login(page, "editor")
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/quotes?call={call_id}")  # type: ignore[attr-defined]
    page.check("#quote-pick input[value='2']")  # type: ignore[attr-defined]
    page.check("#quote-pick input[value='3']")  # type: ignore[attr-defined]
    wait_js(page, "document.getElementById('quote-verbatim').textContent.includes('lawyer')")
    page.fill(  # type: ignore[attr-defined]
        "#quote-text",
        "The only ones alive from our company are the five-hundreds. … "
        "The lawyer says it can be done through the court.",
    )
    wait_js(page, "document.querySelector('#quote-diff del') !== null")
    wait_js(page, "document.querySelector('#quote-diff del').textContent.startsWith('The rest')")
    diff = page.inner_text("#quote-diff")  # type: ignore[attr-defined]
    assert "two-hundreds." in diff and "…" in diff  # punctuation and the mark are shown
    warnings = page.inner_text("#quote-warnings")  # type: ignore[attr-defined]
    assert "Cut inside" not in warnings and "not in the verbatim" not in warnings
    page.click("#quote-save")  # type: ignore[attr-defined]
    wait_js(page, "!document.getElementById('quote-refusal').hidden")
    refusal = page.inner_text("#quote-refusal-text")  # type: ignore[attr-defined]
    assert "not approved" in refusal and "--" not in refusal and "`" not in refusal
    # The sample translations are drafts: the only refusal left is "not approved".
    assert page.is_visible("#override-unapproved")  # type: ignore[attr-defined]
    assert not page.is_visible("#override-rewrite")  # type: ignore[attr-defined]
    chrome.errors[:] = [e for e in chrome.errors if "status of 422" not in e]  # that refusal
    page.check("#allow-unapproved")  # type: ignore[attr-defined]
    page.click("#quote-save")  # type: ignore[attr-defined]
    saved = "#saved-quotes tr:has-text('The lawyer says it can be done')"
    page.wait_for_selector(saved)  # type: ignore[attr-defined]
    row = page.inner_text(saved)  # type: ignore[attr-defined]
    assert "The lawyer says" in row and "REWRITTEN" not in row and "UNAPPROVED" in row
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


def test_restored_draft_does_not_overwrite_a_newer_save(chrome: Browser, world: World) -> None:
    """Browser A keeps a draft; B saves; A's restored draft is refused (409) with both
    texts shown, and A merges by keeping its own text on top of B's version."""
    call_id = _call_of(world, "call12.wav")
    seg = _segment_id(world, call_id, 6)
    url = f"{chrome.base}/cases/{world.own.case_id}/calls/{call_id}"
    box = f"textarea.tr-text[data-segment='{seg}']"
    a = chrome.page()
    chrome.login(a, "editor")
    a.goto(url)  # type: ignore[attr-defined]
    a.fill(box, "Fine. Say hello to Mum. If anything happens I will call from another number.")  # type: ignore[attr-defined]
    wait_js(
        a, "Object.keys(localStorage).some((k) => localStorage.getItem(k).includes('hello to Mum'))"
    )
    b = chrome.page()
    chrome.login(b, "translator")
    b.goto(url)  # type: ignore[attr-defined]
    b.fill(box, "Fine. Say hi to Mum. If something happens, I'll call from a different number.")  # type: ignore[attr-defined]
    b.click(f"#seg-{seg} button.save")  # type: ignore[attr-defined]
    wait_js(b, f"document.querySelector('#seg-{seg} .tr-state').textContent.includes('saved')")
    b.context.close()  # type: ignore[attr-defined]
    # A opens the call again in a new tab: the draft comes back with the version it was based on.
    a2 = a.context.new_page()  # type: ignore[attr-defined]
    a.close()  # type: ignore[attr-defined]
    a2.goto(url)
    assert "hello to Mum" in a2.input_value(box)
    a2.click(f"#seg-{seg} button.save")
    wait_js(a2, f"document.querySelector('#seg-{seg} .merge') !== null")
    merge = a2.inner_text(f"#seg-{seg} .merge")
    assert "a different number" in merge and "hello to Mum" in merge
    a2.click(f"#seg-{seg} .keep-mine")
    a2.fill(box, "Fine. Say hello to Mum. If something happens, I'll call from a different number.")
    a2.click(f"#seg-{seg} button.save")
    wait_js(a2, f"document.querySelector('#seg-{seg} .tr-state').textContent.includes('saved')")
    from earshot import edits

    with world.own.session() as session:
        latest = edits.current_translation(session, seg)
        assert latest is not None and latest.text.startswith("Fine. Say hello to Mum. If something")
    a2.context.close()
    assert not chrome.errors, chrome.errors


def test_browser_routes_answer_errors_with_a_page(chrome: Browser, world: World) -> None:
    page = chrome.page()
    chrome.login(page, "viewer")
    answer = page.goto(f"{chrome.base}/cases/{world.own.case_id}/calls/999999")  # type: ignore[attr-defined]
    assert answer.status == 404
    assert page.inner_text("h1").startswith("404")  # type: ignore[attr-defined]
    assert "{" not in page.inner_text("main")  # type: ignore[attr-defined]
    page.click("text=back to this case")  # type: ignore[attr-defined]
    page.wait_for_url(f"**/cases/{world.own.case_id}")  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    chrome.errors.clear()  # the 404 itself is logged by the console as a failed load


def test_a_search_hit_opens_the_call_at_its_second_with_the_words_marked(
    chrome: Browser, world: World
) -> None:
    call_id = _call_of(world, "call12.wav")
    page = chrome.page()
    chrome.login(page, "viewer")
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/search")  # type: ignore[attr-defined]
    # The placeholder and the hint are queries the search accepts.
    example = page.get_attribute("input[name=q]", "placeholder").split(" or ")[-1].strip()  # type: ignore[attr-defined]
    assert "party:A" in example and "speaker:" not in page.inner_text("#search-hint")  # type: ignore[attr-defined]
    page.fill("input[name=q]", example)  # type: ignore[attr-defined]
    page.press("input[name=q]", "Enter")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.query_selector("p.error") is None  # type: ignore[attr-defined]
    page.fill("input[name=q]", "адвокат")  # type: ignore[attr-defined]
    page.press("input[name=q]", "Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("a.facet")  # type: ignore[attr-defined]
    facets = page.eval_on_selector_all("a.facet", "els => els.map((a) => a.href)")  # type: ignore[attr-defined]
    assert any("party%3AB" in f for f in facets) and any("call%3A" in f for f in facets)
    party_b = next(f for f in facets if "party%3AB" in f)
    link = page.get_attribute(f"a.hit-link[href*='/calls/{call_id}?']", "href")  # type: ignore[attr-defined]
    assert link is not None and "hl=" in link
    page.click(f"a.hit-link[href*='/calls/{call_id}?']")  # type: ignore[attr-defined]
    page.wait_for_url(f"**/calls/{call_id}?*")  # type: ignore[attr-defined]
    wait_js(page, "window.earshotPlayer && window.earshotPlayer.getDuration() > 0")
    wait_js(page, "Math.abs(window.earshotPlayer.getCurrentTime() - 9.539) < 0.05")
    marked = page.eval_on_selector_all("mark.hl", "els => els.map((m) => m.textContent)")  # type: ignore[attr-defined]
    assert "Адвокат" in marked
    seg = link.rsplit("#", 1)[1]
    assert "playing" in (page.get_attribute(f"#{seg}", "class") or "")  # type: ignore[attr-defined]
    page.goto(party_b)  # type: ignore[attr-defined]
    assert page.input_value("input[name=q]").endswith("party:B")  # type: ignore[attr-defined]
    assert page.query_selector("p.error") is None  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


def test_the_map_shows_slang_apart_and_record_locations(chrome: Browser, world: World) -> None:
    page = chrome.page()
    chrome.login(page, "viewer")
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/map")  # type: ignore[attr-defined]
    pinned = page.eval_on_selector_all("button.place", "els => els.map((b) => b.textContent)")  # type: ignore[attr-defined]
    assert pinned and "Sochi" not in pinned
    assert "Сочи" in page.inner_text("#read-as-slang")  # type: ignore[attr-defined]
    assert "call record" in page.inner_text(".places-list")  # type: ignore[attr-defined]
    wait_js(page, "document.querySelectorAll('.leaflet-interactive').length > 0")
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


def test_trends_show_calls_per_period_and_grey_thin_ones(chrome: Browser, world: World) -> None:
    page = chrome.page()
    chrome.login(page, "viewer")
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/trends")  # type: ignore[attr-defined]
    wait_js(page, "document.querySelectorAll('#trend-table tbody tr').length > 0")
    rows = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "#trend-table tbody tr",
        "els => els.map((r) => [r.className, ...Array.from(r.cells, (c) => c.textContent)])",
    )
    minimum = int(page.inner_text("#trend-min"))  # type: ignore[attr-defined]
    assert minimum > 1
    assert sum(int(r[2]) for r in rows) > 0
    for cls, _period, calls, *shares in rows:
        assert (cls == "thin") == (int(calls) < minimum)
        assert all("(" in s for s in shares if s != "–")  # every share with its interval
    assert any(cls == "thin" for cls, *_ in rows)  # the sample has sparse months
    page.select_option("#interval", "week")  # type: ignore[attr-defined]
    wait_js(page, "document.querySelector('#trend-table tbody tr td').textContent.includes('-W')")
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


def test_segment_comments_thread_and_translation_history(chrome: Browser, world: World) -> None:
    """A translator comments, an editor replies; both are audited, shown with author and
    time, and no export carries them. The segment's translation history is listed."""
    call_id = _call_of(world, "call12.wav")
    seg = _segment_id(world, call_id, 2)
    url = f"{chrome.base}/cases/{world.own.case_id}/calls/{call_id}"
    t = chrome.page()
    chrome.login(t, "translator")
    t.goto(url)  # type: ignore[attr-defined]
    t.click(f"#seg-{seg} details.notes summary")  # type: ignore[attr-defined]
    t.click(f"#seg-{seg} .note-add")  # type: ignore[attr-defined]
    t.fill(f"#seg-{seg} .note-form textarea", "Пятисотые или пятьсот? Listen at 0:07.")  # type: ignore[attr-defined]
    t.click(f"#seg-{seg} .note-form button[type=submit]")  # type: ignore[attr-defined]
    t.wait_for_selector(f"#seg-{seg} .note:has-text('Listen at 0:07')")  # type: ignore[attr-defined]
    t.context.close()  # type: ignore[attr-defined]
    e = chrome.page()
    chrome.login(e, "editor")
    e.goto(url)  # type: ignore[attr-defined]
    e.wait_for_selector(f"#seg-{seg} summary:has-text('Notes (1)')")  # type: ignore[attr-defined]
    e.click(f"#seg-{seg} details.notes summary")  # type: ignore[attr-defined]
    assert "translator" in e.inner_text(f"#seg-{seg} .note-head")  # type: ignore[attr-defined]
    e.click(f"#seg-{seg} .note-reply")  # type: ignore[attr-defined]
    e.fill(f"#seg-{seg} .note .note-form textarea", "Пятисотые: code 500, refusers.")  # type: ignore[attr-defined]
    e.click(f"#seg-{seg} .note .note-form button[type=submit]")  # type: ignore[attr-defined]
    e.wait_for_selector(f"#seg-{seg} .note .note-thread .note:has-text('code 500')")  # type: ignore[attr-defined]
    e.click(f"#seg-{seg} .tr-history")  # type: ignore[attr-defined]
    e.wait_for_selector(f"#seg-{seg} ol.history li")  # type: ignore[attr-defined]
    assert "v1" in e.inner_text(f"#seg-{seg} ol.history")  # type: ignore[attr-defined]
    export = e.context.request.get(  # type: ignore[attr-defined]
        f"{chrome.base}/api/cases/{world.own.case_id}/export?calls={call_id}&format=json"
    )
    assert export.ok, export.text()
    assert "Listen at 0:07" not in export.text() and "refusers" not in export.text()
    e.context.close()  # type: ignore[attr-defined]
    v = chrome.page()
    chrome.login(v, "viewer")
    v.goto(url)  # type: ignore[attr-defined]
    v.wait_for_selector(f"#seg-{seg} summary:has-text('Notes (2)')")  # type: ignore[attr-defined]
    assert v.query_selector(".note-add") is None  # type: ignore[attr-defined]
    v.context.close()  # type: ignore[attr-defined]
    from earshot.store.audit import audit_entries

    with world.own.session() as session:
        trail = [(a.user, a.object_id) for a in audit_entries(session, action="comment")]
    assert ("translator", str(seg)) in trail and ("editor", str(seg)) in trail
    assert not chrome.errors, chrome.errors


def test_correct_a_segment_and_search_finds_the_word(chrome: Browser, world: World) -> None:
    call_id = _call_of(world, "call12.wav")
    seg = _segment_id(world, call_id, 1)
    page = chrome.page()
    chrome.login(page, "editor")
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/calls/{call_id}")  # type: ignore[attr-defined]
    page.click(f"#seg-{seg} .ru-correct")  # type: ignore[attr-defined]
    page.wait_for_selector(f"#seg-{seg} textarea.ru-text")  # type: ignore[attr-defined]
    page.fill(f"#seg-{seg} textarea.ru-text", "Рома, ты с ума сошёл? Тебя же Пантелеич посадит!")  # type: ignore[attr-defined]
    page.press(f"#seg-{seg} textarea.ru-text", "Control+Enter")  # type: ignore[attr-defined]
    page.wait_for_selector(f"#seg-{seg} .ru:has-text('Пантелеич')")  # type: ignore[attr-defined]
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/search?q=Пантелеич")  # type: ignore[attr-defined]
    hits = page.eval_on_selector_all("a.hit-link", "els => els.map((a) => a.href)")  # type: ignore[attr-defined]
    assert len(hits) == 1 and f"#seg-{seg}" in hits[0]
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


def test_keys_play_and_skip_while_typing_and_the_help_lists_them(
    chrome: Browser, world: World
) -> None:
    call_id = _call_of(world, "call12.wav")
    seg = _segment_id(world, call_id, 3)
    page = chrome.page()
    chrome.login(page, "translator")
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/calls/{call_id}")  # type: ignore[attr-defined]
    wait_js(page, "window.earshotPlayer && window.earshotPlayer.getDuration() > 0")
    # The first Tab offers the transcript; from there the first translation box is close.
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.className") == "skip-link"  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    presses = 0
    while not page.evaluate("document.activeElement.classList.contains('tr-text')"):  # type: ignore[attr-defined]
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        presses += 1
        assert presses <= 6, page.evaluate("document.activeElement.outerHTML.slice(0, 120)")  # type: ignore[attr-defined]
    page.evaluate("document.activeElement.blur()")  # type: ignore[attr-defined]
    page.keyboard.press("?")  # type: ignore[attr-defined]
    assert page.is_visible("#keys-help")  # type: ignore[attr-defined]
    keys = page.text_content("#keys-help")  # type: ignore[attr-defined]
    for key in ("Esc", "Ctrl", "Space", "←", "→", "j", "k", "Enter", "?"):
        assert key in keys, key
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    assert not page.is_visible("#keys-help")  # type: ignore[attr-defined]
    box = f"textarea.tr-text[data-segment='{seg}']"
    page.click(box)  # type: ignore[attr-defined]
    page.keyboard.press("Control+ArrowRight")  # type: ignore[attr-defined]
    page.keyboard.press("Control+ArrowRight")  # type: ignore[attr-defined]
    wait_js(page, "Math.abs(window.earshotPlayer.getCurrentTime() - 10) < 0.05")
    page.keyboard.press("Control+ArrowLeft")  # type: ignore[attr-defined]
    wait_js(page, "Math.abs(window.earshotPlayer.getCurrentTime() - 5) < 0.05")
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    wait_js(page, "window.earshotPlayer.isPlaying()")
    page.keyboard.press("Control+Space")  # type: ignore[attr-defined]
    wait_js(page, "!window.earshotPlayer.isPlaying()")
    assert page.evaluate("document.activeElement.classList.contains('tr-text')")  # type: ignore[attr-defined]
    # Space on a time button pauses/plays instead of jumping back to the button's time.
    page.focus(f"#seg-{seg} button.seek")  # type: ignore[attr-defined]
    page.evaluate("window.earshotPlayer.setTime(12)")  # type: ignore[attr-defined]
    page.keyboard.press(" ")  # type: ignore[attr-defined]
    wait_js(page, "window.earshotPlayer.isPlaying()")
    assert page.evaluate("window.earshotPlayer.getCurrentTime()") >= 12  # type: ignore[attr-defined]
    page.keyboard.press(" ")  # type: ignore[attr-defined]
    wait_js(page, "!window.earshotPlayer.isPlaying()")
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


def _voice_and_selfid_proposals(world: World) -> tuple[int, tuple[int, str], int]:
    """Give two call sides near-identical voiceprints (one attributed to a person, one
    not) and record a self-identification proposal naming that person on a third side.
    Returns (person, the unattributed side, the proposal's id)."""
    import numpy as np

    from earshot.identity.links import propose_link
    from earshot.store.models import Party
    from earshot.store.speech_models import StageRun, VoiceprintRow

    with world.own.session() as session:
        parties = list(session.scalars(select(Party).order_by(Party.call_id, Party.label)))
        mine = next(p for p in parties if p.person_id is not None)
        person = int(mine.person_id)  # type: ignore[arg-type]
        free = [p for p in parties if p.person_id is None and p.call_id != mine.call_id]
        other, third = free[0], next(p for p in free if p.call_id != free[0].call_id)
        rng = np.random.default_rng(13)
        voice = rng.normal(size=256)
        for n, party in enumerate((mine, other)):
            run = StageRun(
                call_id=party.call_id, stage="voiceprint", info_key="i13test",
                inputs_key=f"i13-{party.id}", status="done",
            )  # fmt: skip
            session.add(run)
            session.flush()
            vector = voice + rng.normal(scale=0.02, size=256) * n
            session.add(
                VoiceprintRow(
                    call_id=party.call_id,
                    run_id=run.id,
                    party=party.label,
                    info_key="i13test",
                    vector=[float(x) for x in vector / np.linalg.norm(vector)],
                    seconds=12.0,
                    engine={"engine": "test"},
                )
            )
        link, _ = propose_link(
            session, third, person, basis="self_identification", actor="self-identification",
            note="«Это я» in the call",
        )  # fmt: skip
        return person, (other.call_id, other.label), int(link.id)


def test_identity_review_accepts_voice_and_self_identification(
    chrome: Browser, world: World
) -> None:
    person, side, proposal = _voice_and_selfid_proposals(world)
    page = chrome.page()
    chrome.login(page, "editor")
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/persons/{person}")  # type: ignore[attr-defined]
    row = f"#voice-proposals li:has(a[href$='/calls/{side[0]}'])"
    assert "score" in page.inner_text(row)  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click(f"{row} button:has-text('Same voice')")  # type: ignore[attr-defined]
    page.wait_for_selector(f"ul.voice li[data-link]:has(a[href$='/calls/{side[0]}'])")  # type: ignore[attr-defined]
    assert "confirmed" in page.inner_text(  # type: ignore[attr-defined]
        f"ul.voice li[data-link]:has(a[href$='/calls/{side[0]}'])"
    )
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click(f"#proposals button[data-url$='/proposals/{proposal}']:has-text('Accept')")  # type: ignore[attr-defined]
    assert page.query_selector(f"button[data-url$='/proposals/{proposal}']") is None  # type: ignore[attr-defined]
    from earshot.store.audit import audit_entries
    from earshot.store.models import Party

    with world.own.session() as session:
        attributed = {
            (p.call_id, p.label)
            for p in session.scalars(select(Party).where(Party.person_id == person))
        }
        assert side in attributed  # the voice match linked the side to the person
        assert len(attributed) >= 3  # and the self-identification was accepted
        assert [a.object_id for a in audit_entries(session, action="attribute")][-1] == str(
            proposal
        )
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


AXE = "/static/vendor/axe-core/axe.min.js"


def _axe(page: object, chrome: Browser) -> list[str]:
    """axe-core's serious and critical violations on the page (rule: nodes). axe's own
    probes with inline styles, which the page's CSP refuses: those console errors are
    axe's, not the page's, and are dropped."""
    before = len(chrome.errors)
    page.add_script_tag(url=AXE)  # type: ignore[attr-defined]
    found = page.evaluate(  # type: ignore[attr-defined]
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter((v) => v.impact === 'serious' || v.impact === 'critical')"
        ".map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`)"
    )
    theirs = [e for e in chrome.errors[before:] if "Applying inline style violates" in e]
    for e in theirs:
        chrome.errors.remove(e)
    return list(found)


def test_phone_layout_and_accessibility(chrome: Browser, world: World) -> None:
    call_id = _call_of(world, "call12.wav")
    page = chrome.page(390, 844)
    chrome.login(page, "translator")
    base = f"{chrome.base}/cases/{world.own.case_id}"
    page.goto(f"{base}/calls/{call_id}")  # type: ignore[attr-defined]
    wait_js(page, "window.earshotPlayer && window.earshotPlayer.getDuration() > 0")
    height = page.evaluate(
        "(s) => document.querySelector(s).getBoundingClientRect().height", ".topbar"
    )  # type: ignore[attr-defined]
    assert height < 90, height
    assert not page.is_visible("#case-nav")  # type: ignore[attr-defined]
    page.click(".nav-toggle")  # type: ignore[attr-defined]
    assert page.is_visible("#case-nav a[href$='/search']")  # type: ignore[attr-defined]
    page.click(".nav-toggle")  # type: ignore[attr-defined]
    player = page.evaluate(
        "document.querySelector('section.player').getBoundingClientRect().height"
    )  # type: ignore[attr-defined]
    assert player < 170, player
    gloss = "abbr.slang"
    page.focus(gloss)  # type: ignore[attr-defined]
    after = page.evaluate(
        "(s) => getComputedStyle(document.querySelector(s), '::after').content", gloss
    )  # type: ignore[attr-defined]
    assert after not in ("none", "normal", "") and len(after) > 5, after
    cut = page.evaluate(  # type: ignore[attr-defined]
        "Array.from(document.querySelectorAll('textarea.tr-text'))"
        ".filter((t) => t.scrollHeight > t.clientHeight + 2).length"
    )
    assert cut == 0
    wide = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert wide <= 392, wide
    problems = {"call": _axe(page, chrome)}
    for name, url in (
        ("search", f"{base}/search?q=адвокат"),
        ("persons", f"{base}/persons"),
        ("trends", f"{base}/trends"),
        ("quotes", f"{base}/quotes?call={call_id}"),
        ("overview", base),
        ("calls", f"{base}/calls"),
    ):
        page.goto(url)  # type: ignore[attr-defined]
        if name == "trends":  # the table is drawn after its data arrives
            wait_js(page, "document.querySelectorAll('#trend-table tbody tr').length > 0")
        problems[name] = _axe(page, chrome)
    assert not any(problems.values()), problems
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors


def test_saved_searches_are_kept_per_person(chrome: Browser, world: World) -> None:
    page = chrome.page()
    chrome.login(page, "viewer")
    base = f"{chrome.base}/cases/{world.own.case_id}"
    page.goto(f"{base}/search?q=адвокат party:B")  # type: ignore[attr-defined]
    page.fill("#save-search input[name=name]", "lawyers, callee side")  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click("#save-search button[type=submit]")  # type: ignore[attr-defined]
    link = "#saved-list a:has-text('lawyers, callee side')"
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click(link)  # type: ignore[attr-defined]
    assert page.input_value("input[name=q]") == "адвокат party:B"  # type: ignore[attr-defined]
    assert page.query_selector("a.hit-link") is not None  # type: ignore[attr-defined]
    other = chrome.page()
    chrome.login(other, "editor")
    other.goto(f"{base}/search")  # type: ignore[attr-defined]
    assert other.query_selector(link) is None  # type: ignore[attr-defined]
    bad = other.context.request.post(  # type: ignore[attr-defined]
        f"{base.replace('/cases/', '/api/cases/')}/saved-searches",
        data={"name": "broken", "query": '"unclosed'},
        headers={"X-CSRF-Token": other.get_attribute("meta[name=csrf-token]", "content")},  # type: ignore[attr-defined]
    )
    assert bad.status == 422
    other.context.close()  # type: ignore[attr-defined]
    page.click("#saved-list button.saved-remove")  # type: ignore[attr-defined]
    page.wait_for_selector(link, state="detached")  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    chrome.errors[:] = [e for e in chrome.errors if "status of 422" not in e]
    assert not chrome.errors, chrome.errors


def test_call_page_shows_and_decides_who_is_speaking(chrome: Browser, world: World) -> None:
    from earshot.identity.links import propose_link
    from earshot.store.models import Party

    with world.own.session() as session:
        parties = list(session.scalars(select(Party).order_by(Party.call_id.desc())))
        named = next(p for p in parties if p.person_id is not None)
        side = next(p for p in parties if p.person_id is None and p.call_id != named.call_id)
        link, _ = propose_link(
            session,
            side,
            int(named.person_id),
            basis="self_identification",
            actor="test",  # type: ignore[arg-type]
        )
        call_id, link_id = side.call_id, int(link.id)
    page = chrome.page()
    chrome.login(page, "editor")
    page.goto(f"{chrome.base}/cases/{world.own.case_id}/calls/{call_id}")  # type: ignore[attr-defined]
    assert "self identification" in page.inner_text("#call-proposals")  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click(f"#call-proposals button[data-url$='/proposals/{link_id}']:has-text('Reject')")  # type: ignore[attr-defined]
    assert page.query_selector(f"button[data-url$='/proposals/{link_id}']") is None  # type: ignore[attr-defined]
    with world.own.session() as session:
        assert session.get(Party, side.id).person_id is None  # type: ignore[union-attr]
    page.context.close()  # type: ignore[attr-defined]
    assert not chrome.errors, chrome.errors
