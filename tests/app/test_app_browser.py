"""End to end in a real headless Chromium: the Gradio app served on 127.0.0.1 with the session's index.

Needs Debian `chromium` (+ `fonts-wqy-microhei` for readable Chinese in screenshots); Playwright drives it through
`executable_path` (never `playwright install`). Screenshots go to the test's tmp dir; the chat one is also copied
to test-output/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
TEST_OUTPUT = REPO / "test-output"
ANSWER_TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    # Gradio's queue statistics use pandas options that pandas 3 deprecates: not ours to fix
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium: apt-get install chromium"),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(assistant) -> Iterator[str]:
    """The real app (same Blocks as `citeqa chat`) on a free loopback port, sharing the session index."""
    from citeqa.app.ui import build_app, launch_app

    demo = build_app(assistant)
    port = _free_port()
    launch_app(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Watch:
    """What the page did that it must not: dialogs (alert) and requests leaving 127.0.0.1."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.outside: list[str] = []

    def check(self) -> None:
        assert self.dialogs == [], f"a dialog fired: {self.dialogs}"
        assert self.outside == [], f"the page fetched from outside 127.0.0.1: {self.outside}"


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    watch = Watch()
    pg.on("dialog", lambda d: (watch.dialogs.append(d.message), d.dismiss()))
    local = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
    pg.on("request", lambda r: None if r.url.startswith(local) else watch.outside.append(r.url))
    pg.goto(app_url)
    pg.locator("#cq-message textarea").wait_for(timeout=20_000)
    pg.watch = watch
    try:
        yield pg
    finally:
        context.close()
    watch.check()


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter, wait for its answer card; return the last assistant message."""
    before = page.locator("#cq-chat .cq-card").count()
    box = page.locator("#cq-message textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#cq-chat .cq-card').length > n", arg=before, timeout=ANSWER_TIMEOUT_MS
    )
    return page.locator("#cq-chat .cq-card").last


def shot(page: Any, path: Path, keep_as: str | None = None) -> None:
    page.wait_for_timeout(250)  # let the chat scroll the latest question into view
    page.screenshot(path=str(path))
    if keep_as:
        TEST_OUTPUT.mkdir(exist_ok=True)
        shutil.copyfile(path, TEST_OUTPUT / keep_as)


def test_chat_answers_with_footnote_refuses_out_of_scope_and_escapes_html(page: Any, tmp_path: Path) -> None:
    card = ask(page, "what local-content threshold does USMCA set")
    text = card.inner_text()
    assert "75%" in text, text
    assert any(cite in text for cite in ("p8-fn1", "footnote 1", "p. 57")), text
    assert card.locator("mark").count() >= 1  # the supporting sentence is highlighted
    shot(page, tmp_path / "chat-usmca.png", keep_as="chat-usmca.png")

    card = ask(page, "How do I make sourdough bread at home?")
    assert "Not covered by this paper" in card.inner_text()

    payload = "<script>alert(1)</script>"
    ask(page, payload)
    asked = page.locator("#cq-chat .cq-user").last
    assert asked.inner_text().strip() == payload  # shown as text
    assert page.locator("#cq-chat script").count() == 0
    shot(page, tmp_path / "chat-escaped.png", keep_as="chat-escaped.png")
    page.wait_for_timeout(300)  # a dialog, if any, would have fired by now (checked by the fixture)


def test_bad_input_gives_messages_not_tracebacks(page: Any) -> None:
    box = page.locator("#cq-message textarea")
    box.fill("   ")
    box.press("Enter")
    page.wait_for_timeout(800)
    assert page.locator("#cq-chat .cq-user").count() == 0  # nothing asked

    card = ask(page, "制造业" * 800)
    text = card.inner_text()
    assert "too long" in text
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and 'File "' not in body


def test_example_and_followup(page: Any) -> None:
    page.locator("#cq-examples").get_by_text("《通胀削减法》对购买新能源汽车提供多少补贴？").click()
    page.wait_for_selector("#cq-chat .cq-card", timeout=ANSWER_TIMEOUT_MS)
    assert "7500" in page.locator("#cq-chat .cq-card").last.inner_text()

    card = ask(page, "那加拿大呢？")
    assert "Follow-up read as" in card.inner_text()

    # the chatbot's own trash button clears the session too: the next question is not a follow-up
    page.locator('#cq-chat button[aria-label="Clear"]').click()
    page.wait_for_function("() => document.querySelectorAll('#cq-chat .cq-card').length === 0")
    card = ask(page, "那加拿大呢？")
    assert "Follow-up read as" not in card.inner_text()
    assert page.locator("#cq-chat .cq-user").count() == 1


def test_lookup_tab_filters_footnotes_finds_claims_and_downloads(page: Any, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Citation lookup · 引文查找").click()
    page.locator("#cq-filter textarea").fill("CHIPS")
    page.wait_for_selector("#cq-browse-list .cq-count:has-text('matching “CHIPS”')", timeout=10_000)
    listed = page.locator("#cq-browse-list")
    assert listed.locator('[data-footnote="p4-fn2"]').count() == 1
    assert "cited in the paper at" in listed.inner_text().lower()
    shot(page, tmp_path / "lookup-chips.png", keep_as="lookup-chips.png")

    page.locator("#cq-claim textarea").fill("汽车原产地规则 75% 零部件")
    page.locator("#cq-find").click()
    page.wait_for_selector("#cq-lookup-out .cq-hit", timeout=ANSWER_TIMEOUT_MS)
    assert "p8-fn1" in page.locator("#cq-lookup-out").inner_text()

    with page.expect_download(timeout=10_000) as download:
        page.locator("#cq-bibtex").click()
    saved = tmp_path / "bibliography.bib"
    download.value.save_as(saved)
    assert saved.read_text(encoding="utf-8").lstrip().startswith("@")

    page.get_by_role("tab", name="About this corpus").click()
    about = page.locator("#cq-about")
    about.wait_for()
    assert "美国制造业回流政策" in about.inner_text() and "refusal_threshold" in about.inner_text()
