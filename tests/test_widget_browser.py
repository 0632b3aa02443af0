"""The embeddable widget on the API's demo page, in headless Debian Chromium via Playwright:
English and Chinese symptoms get an answer, feedback is sent, host CSS stays out, and an
article with hostile HTML in its title and body renders as inert text."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from appserver import free_port

from kb.api.app import create_app
from kb.content.articles import load_corpus
from kb.retrieval.index import build_index
from kb.service.searchlog import SearchLog
from kb.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.browser]
DATA = Path(__file__).parent / "data"
HOSTILE = "<img src=x onerror=alert(1)> <script>alert(2)</script>"


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """`create_app(settings)` on uvicorn in a thread, on a free loopback port."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def ask(page, url: str, query: str) -> None:
    page.goto(f"{url}/demo")
    page.locator("input[type=search]").fill(query)
    page.locator("input[type=search]").press("Enter")
    page.locator(".answer .title, .answer .guidance").first.wait_for(timeout=20_000)


def test_english_and_chinese_symptoms_get_an_answer_and_feedback_is_sent(
        page, real_settings, tmp_path):
    settings = replace(real_settings, db_path=str(tmp_path / "kb.sqlite3"), rate_limit="off")
    with serving(settings) as url:
        ask(page, url, "viewers hear an echo when I co-host")
        assert "echo" in page.locator(".answer .title").inner_text().lower()
        assert page.locator(".answer .fix li").count() >= 2
        assert page.locator(".answer .verify").inner_text().strip()
        assert "?article=" in page.locator("a.full").get_attribute("href")
        # The host page paints paragraphs and inputs red at 30px; the widget keeps its own look.
        color = page.locator("input[type=search]").evaluate("e => getComputedStyle(e).color")
        assert color != "rgb(255, 0, 0)"
        page.locator("button[data-helpful=yes]").click()
        page.locator(".thanks").wait_for(timeout=10_000)

        ask(page, url, "连麦的时候观众听到回声")
        assert "回声" in page.locator(".answer .title").inner_text()
        assert page.locator("a.full").get_attribute("href").endswith("lang=zh")
    log = SearchLog(settings.db_path)
    assert [s.query for s in log.searches_since()] == ["viewers hear an echo when I co-host",
                                                      "连麦的时候观众听到回声"]
    assert [f.helpful for f in log.feedback_since()] == [True]
    assert page.dialogs == []


def test_hostile_article_text_renders_as_text_and_runs_nothing(page, tmp_path):
    articles = tmp_path / "articles"
    shutil.copytree(DATA / "articles", articles)
    path = articles / "voice-room" / "room-echo.en.md"
    text = path.read_text("utf-8").replace(
        "title: Echo and howling in a voice room",
        f'title: "Echo {HOSTILE} in a voice room"')
    text = text.replace("## Verify\n", f"## Verify\n\n{HOSTILE} [x](javascript:alert(3))\n")
    text = text.replace("## Fix\n", f"## Fix\n\n{HOSTILE}\n")
    path.write_text(text, "utf-8")
    settings = Settings(articles_dir=articles, index_dir=tmp_path / "index", threads=2,
                        db_path=str(tmp_path / "kb.sqlite3"), rate_limit="off")
    build_index(settings, load_corpus(articles))
    with serving(settings) as url:
        ask(page, url, "I hear my own voice back, echo and howling in the voice room")
        assert page.locator(".answer .title").inner_text().startswith(f"Echo {HOSTILE}")
        assert HOSTILE in page.locator(".answer .fix").inner_text()
        assert HOSTILE in page.locator(".answer .verify").inner_text()
        page.wait_for_timeout(500)
        inside = page.evaluate("""() => {
            const root = document.querySelector('.kb-widget').shadowRoot;
            return {elements: root.querySelectorAll('img, script').length,
                    scriptLinks: [...root.querySelectorAll('a')].filter(
                        a => (a.getAttribute('href') || '').startsWith('javascript')).length};
        }""")
    assert inside == {"elements": 0, "scriptLinks": 0}
    assert page.dialogs == []
