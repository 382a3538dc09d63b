"""The workbench in Debian's Chromium (Playwright), against a live server.

Every request must stay on the test server (anything else fails the test); each page
is screenshotted at 1280x800 and 800x900 into artifacts/screenshots/ for review.
"""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .conftest import PASSWORD, World, leaked

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")


class Browser:
    def __init__(self, browser: object, base: str) -> None:
        self.browser = browser
        self.base = base
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def page(self, width: int = 1280, height: int = 800) -> object:
        context = self.browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
        page = context.new_page()
        own = urlsplit(self.base).netloc

        def route(r: object) -> None:
            url = r.request.url  # type: ignore[attr-defined]
            if urlsplit(url).netloc == own or url.startswith(("data:", "blob:")):
                r.continue_()  # type: ignore[attr-defined]
            else:
                self.foreign.append(url)
                r.abort()  # type: ignore[attr-defined]

        page.route("**/*", route)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))

        def dialog(d: object) -> None:
            self.dialogs.append(d.message)  # type: ignore[attr-defined]
            d.dismiss()  # type: ignore[attr-defined]

        page.on("dialog", dialog)
        return page

    def login(self, page: object, user: str = "editor") -> None:
        page.goto(self.base + "/login")  # type: ignore[attr-defined]
        page.fill("input[name=username]", user)  # type: ignore[attr-defined]
        page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
        page.click("button[type=submit]")  # type: ignore[attr-defined]
        page.wait_for_url("**/cases/**")  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def chrome(live_server: str) -> Iterator[Browser]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        driver = Browser(browser, live_server)
        yield driver
        browser.close()
    assert not driver.foreign, f"requests left the machine: {driver.foreign}"


def wait_js(page: object, expression: str, arg: object = None, timeout: float = 20.0) -> None:
    """Poll `expression` with page.evaluate (CDP, so the page's CSP can stay strict:
    Playwright's wait_for_function would need 'unsafe-eval')."""
    deadline = time.monotonic() + timeout
    while not _holds(page, expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)


def _holds(page: object, expression: str, arg: object) -> bool:
    """The expression's value; an element it reads that is not on the page yet (a loaded
    machine renders the polled part late) counts as "not yet", not as a failure."""
    from playwright.sync_api import Error

    try:
        return bool(page.evaluate(expression, arg))  # type: ignore[attr-defined]
    except Error as exc:
        if "of null" in str(exc) or "of undefined" in str(exc):
            return False
        raise


def shoot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def _call_with_translation(world: World) -> int:
    """The call with the most translated segments (a realistic page to work on)."""
    from sqlalchemy import func, select

    from earshot.store.language_models import Translation

    with world.own.session() as session:
        call_id = (
            session.execute(
                select(Translation.call_id)
                .group_by(Translation.call_id)
                .order_by(func.count().desc(), Translation.call_id)
            )
            .scalars()
            .first()
        )
        assert call_id is not None
        return int(call_id)


def test_reporter_flow(chrome: Browser, world: World) -> None:
    """Log in, open a call, play and seek, edit and approve, search, person; build and save
    a quote, download its sheet, a redacted clip and a redacted export."""
    page = chrome.page()
    chrome.login(page)
    base = f"{chrome.base}/cases/{world.own.case_id}"
    shoot(page, "overview-1280")
    page.goto(f"{base}/calls")
    assert page.locator("table.calls tbody tr").count() >= 10
    shoot(page, "calls-1280")
    call_id = _call_with_translation(world)
    page.goto(f"{base}/calls/{call_id}")
    wait_js(page, "window.earshotPlayer && window.earshotPlayer.getDuration() > 0")
    shoot(page, "call-1280")
    # play / pause with the keyboard, seek by clicking a segment
    page.keyboard.press("Space")
    wait_js(page, "window.earshotPlayer.isPlaying()")
    page.keyboard.press("Space")
    wait_js(page, "!window.earshotPlayer.isPlaying()")
    segs = page.locator("article.seg:not(.head)")
    second = segs.nth(1)
    start = float(second.get_attribute("data-start") or 0)
    second.locator("button.seek").click()
    wait_js(page, "window.earshotPlayer.isPlaying()")
    now = page.evaluate("window.earshotPlayer.getCurrentTime()")
    assert start - 0.05 <= now < start + 2.0
    assert "playing" in (second.get_attribute("class") or "")
    page.evaluate("window.earshotPlayer.pause()")
    page.keyboard.press("k")
    wait_js(
        page,
        "document.querySelectorAll('article.seg.playing').length === 1 && "
        "document.querySelector('article.seg.playing') !== "
        "document.querySelectorAll('article.seg:not(.head)')[1]",
    )
    # edit the translation, save with ctrl+enter, then review and approve
    seg = page.locator("article.seg:has(textarea.tr-text)").first
    area = seg.locator("textarea.tr-text")
    area.fill("Mum, it is me. We are fine here.")
    area.press("Control+Enter")
    wait_js(
        page,
        "(el) => el.textContent.includes('saved')",
        arg=seg.locator(".tr-state").element_handle(),
    )
    # four eyes: the editor who wrote it cannot review it; the refusal is shown
    state = seg.locator(".tr-state")
    seg.locator("select.tr-status").select_option("reviewed")
    seg.locator("button.save").click()
    wait_js(page, "(el) => el.textContent === 'not saved'", arg=state.element_handle())
    assert "someone else must review" in page.locator("#toast").inner_text()
    # the admin reviews it in another browser
    second = chrome.page()
    chrome.login(second, "admin")
    second.goto(f"{base}/calls/{call_id}")
    other = second.locator("article.seg:has(textarea.tr-text)").first
    assert other.locator("textarea.tr-text").input_value() == "Mum, it is me. We are fine here."
    other.locator("select.tr-status").select_option("reviewed")
    other.locator("button.save").click()
    wait_js(
        second,
        "(el) => el.textContent.includes('reviewed by admin')",
        arg=other.locator(".tr-state").element_handle(),
    )
    second.context.close()
    # the editor comes back in a fresh browser (the refused change would hold the old
    # page with a leave-page prompt) and approves the admin's review
    page.context.close()
    page = chrome.page()
    chrome.login(page)
    page.goto(f"{base}/calls/{call_id}")
    seg = page.locator("article.seg:has(textarea.tr-text)").first
    seg.locator("select.tr-status").select_option("approved")
    seg.locator("button.save").click()
    wait_js(
        page,
        "(el) => el.value === 'approved' && !el.closest('article').classList.contains('dirty')",
        seg.locator("select.tr-status").element_handle(),
    )
    assert "approved by editor" in seg.locator(".tr-state").inner_text()
    page.reload()
    assert (
        page.locator("article.seg:has(textarea.tr-text)")
        .first.locator("textarea.tr-text")
        .input_value()
        == "Mum, it is me. We are fine here."
    )
    # search
    page.goto(f"{base}/search")
    page.fill("input[name=q]", "мама")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("article.hit")
    assert page.locator("article.hit mark").count() >= 1
    shoot(page, "search-1280")
    # person
    page.goto(f"{base}/persons")
    page.locator("table tbody a").first.click()  # the header links sort the list
    page.wait_for_selector("h2:text('Verification')")
    shoot(page, "person-1280")
    # quote: pick a span, a rewrite is refused, cut with "…", override the unapproved
    # translation, save; the quote is listed with its provenance
    page.goto(f"{base}/quotes?call={call_id}")
    boxes = page.locator("#quote-pick input[name=segments]")
    boxes.nth(0).check()
    boxes.nth(2).check()
    wait_js(page, "document.getElementById('quote-span').textContent.includes('segments 0–2')")
    assert boxes.nth(1).is_checked(), "the span is contiguous"
    verbatim = page.inner_text("#quote-verbatim")
    words = verbatim.split()
    area = page.locator("#quote-text")
    assert area.input_value() == verbatim
    area.fill(f"{verbatim} Honestly.")
    wait_js(page, "document.querySelector('#quote-diff ins') !== null")
    assert "Honestly" in page.inner_text("#quote-diff ins")
    draft = page.evaluate(
        "JSON.parse(localStorage.getItem(JSON.parse(document.getElementById('quote-data').textContent).draft_key))"
    )
    assert draft["text"].endswith("Honestly."), "the edit is kept in the browser"
    page.click("#quote-save")
    page.wait_for_selector("#quote-refusal:not([hidden])")
    assert "adds words" in page.inner_text("#quote-refusal-text")
    assert page.locator("#override-rewrite").is_visible()
    cut = " ".join([*words[:3], "…", *words[6:]])
    area.fill(cut)
    wait_js(
        page,
        "document.querySelector('#quote-diff del') !== null && "
        "!document.querySelector('#quote-diff ins')",
    )
    shoot(page, "quote-builder-1280")
    page.click("#quote-save")
    wait_js(
        page, "document.getElementById('quote-refusal-text').textContent.includes('not approved')"
    )
    page.check("#allow-unapproved")
    page.click("#quote-save")
    page.wait_for_selector("table.quotes tr.this-call")
    row = page.locator("table.quotes tr.this-call").last
    assert "UNAPPROVED" in row.inner_text() and "…" in row.inner_text()
    assert (
        row.locator("a")
        .get_attribute("href")
        .startswith(f"/cases/{world.own.case_id}/calls/{call_id}#t=")
    )
    assert page.evaluate("localStorage.length") == 0 or not page.evaluate(
        "localStorage.getItem(JSON.parse(document.getElementById('quote-data').textContent).draft_key)"
    ), "the saved draft is gone"
    row.scroll_into_view_if_needed()
    shoot(page, "quote-saved-1280")
    page.select_option("#sheet-form select[name=format]", "md")
    with page.expect_download() as download:
        page.click("#sheet-go")
    sheet = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Quote sheet" in sheet and "UNAPPROVED" in sheet
    assert not leaked(sheet), leaked(sheet)
    # the link back opens the call at the quote's second
    row.locator("a").click()
    wait_js(page, "window.earshotPlayer && window.earshotPlayer.getDuration() > 0")
    wait_js(
        page,
        "window.earshotPlayer.getCurrentTime() > 0 || "
        "document.querySelector('article.seg.playing') !== null",
    )
    # redacted clip of the chosen stretch
    page.click("#publish summary")
    page.fill("#clip-form input[name=start]", "0")
    page.fill("#clip-form input[name=end]", "6")
    shoot(page, "call-publish-1280")
    with page.expect_download() as download:
        page.click("#clip-go")
    with zipfile.ZipFile(download.value.path()) as archive:
        names = sorted(archive.namelist())
        provenance = json.loads(archive.read(next(n for n in names if n.endswith(".json"))))
    assert provenance["redacted"] is True and provenance["call_id"] == call_id
    # export: redacted by default; unredacted needs the confirmation first
    page.goto(f"{base}/export")
    page.check("#export-all")
    page.select_option("#export-format", "md")
    with page.expect_download() as download:
        page.click("#export-go")
    exported = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename.endswith(".md")
    text = exported.decode("utf-8")
    assert "Redacted export" in text and len(text) > 2000
    assert not leaked(text), leaked(text)
    page.check("#export-unredacted")
    page.click("#export-go")
    page.wait_for_selector("#export-refusal:not([hidden])")
    assert "identifies people" in page.inner_text("#export-refusal")
    shoot(page, "export-1280")
    # an editorial pseudonym
    first = page.locator("form.pseudonym-form").first
    first.locator("input[name=pseudonym]").fill("THE NIGHT WATCHMAN")
    first.locator("button").click()
    wait_js(page, "document.querySelector('.ps-kind').textContent.startsWith('editorial')")
    # Chromium logs each refused request (the own review, the rewrite, the unapproved
    # translation).
    refused = [e for e in chrome.errors if "status of 422" in e]
    assert len(refused) == 3, chrome.errors
    chrome.errors[:] = [e for e in chrome.errors if e not in refused]
    assert not chrome.errors, chrome.errors
    assert not chrome.dialogs


PAGES = [
    "",
    "/calls",
    "/calls/{call}",
    "/persons",
    "/search?q=мама",
    "/trends",
    "/map",
    "/graph",
    "/quotes?call={call}",
    "/export",
    "/slang",
    "/intake",
    "/jobs",
]


@pytest.mark.parametrize("width,height", [(1280, 800), (800, 900)])
def test_every_page_fits_and_runs_no_injected_script(
    chrome: Browser, world: World, width: int, height: int
) -> None:
    """Layout at both widths; hostile names and transcripts show as text, never run."""
    page = chrome.page(width, height)
    chrome.login(page)
    page.add_init_script("window.__xss = 0; window.alert = () => { window.__xss += 1; };")
    base = f"{chrome.base}/cases/{world.own.case_id}"
    call = _call_with_translation(world)
    from sqlalchemy import select

    from earshot.store.models import Call

    with world.own.session() as session:
        evil = session.execute(
            select(Call.id).where(Call.source_file.contains("evil"))
        ).scalar_one()
    for path in [*PAGES, f"/calls/{evil}", "/search?q=script"]:
        url = base + path.format(call=call)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        name = path.strip("/").split("?")[0].replace("/", "-").replace("{call}", "x") or "overview"
        if path == f"/calls/{evil}":
            name = "call-hostile"
            assert page.get_by_text("<script>alert", exact=False).count() >= 1
        shoot(page, f"{name}-{width}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{url} overflows by {overflow}px at {width}px"
        assert page.evaluate("window.__xss") == 0, url
        assert page.locator("img[src=x]").count() == 0, url
    # the publication tools opened: the quote builder with a span, the clip form
    page.goto(f"{base}/quotes?call={call}")
    boxes = page.locator("#quote-pick input[name=segments]")
    boxes.nth(1).check()
    boxes.nth(2).check()
    wait_js(page, "document.getElementById('quote-span').textContent.includes('segments 1–2')")
    page.locator("#quote-edit").scroll_into_view_if_needed()
    shoot(page, f"quote-builder-{width}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the quote builder overflows by {overflow}px at {width}px"
    page.goto(f"{base}/calls/{call}")
    page.click("#publish summary")
    page.locator("#publish").scroll_into_view_if_needed()
    shoot(page, f"call-publish-{width}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the clip form overflows by {overflow}px at {width}px"
    assert not chrome.dialogs, chrome.dialogs
    assert not [e for e in chrome.errors if "Content Security Policy" not in e], chrome.errors
