"""The real-browser test: the app in headless Debian Chromium, driven by Playwright, served the
way customers get it (public mode, production `.streamlit/config.toml`) with a staff token set.
After every test the server's run log still has no warnings."""

from __future__ import annotations

import os
import re

import pytest
from appserver import running_app

pytestmark = [pytest.mark.integration, pytest.mark.browser]
LIVE_SHOW_ECHO_ZH = "秀场直播连麦、放歌或用声卡时出现回声、啸叫"
STAFF_TOKEN = "browser-test-staff-token"


@pytest.fixture(scope="module")
def server(real_settings, tmp_path_factory):
    env = {"KB_INDEX_DIR": str(real_settings.index_dir),
           "KB_ARTICLES_DIR": str(real_settings.articles_dir),
           "KB_DB": str(tmp_path_factory.mktemp("db") / "kb.sqlite3"), "KB_THREADS": "2",
           "HF_HUB_OFFLINE": "1", "KB_MODE": "public", "KB_STAFF_TOKEN": STAFF_TOKEN}
    with running_app(env, log_dir=tmp_path_factory.mktemp("app-log")) as app:
        yield app


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    yield page
    page.close()
    # The run log a support desk reads stays clean: no warnings, deprecations or tracebacks.
    assert server.warnings() == []


def ask(page, query: str) -> None:
    box = page.get_by_label("Describe the symptom in your own words")
    box.fill(query)
    box.press("Enter")


def test_typing_a_symptom_shows_its_fix(page, server):
    page.goto(server.url)
    ask(page, "viewers hear an echo when I co-host")
    page.get_by_text("Find the end that leaks").first.wait_for(timeout=60_000)
    page.get_by_text("Match: ").first.wait_for(timeout=30_000)
    assert "q=viewers" in page.url
    assert page.get_by_text("Copy for ticket").count() == 0  # a staff tool
    if shots := os.environ.get("KB_SCREENSHOT_DIR"):
        page.screenshot(path=f"{shots}/search-en.png", full_page=False)


def test_chinese_answer_and_no_script_runs(page, server):
    page.goto(server.url + "/?lang=zh")
    ask(page, "<img src=x onerror=window.__xss=1><script>window.__xss=1</script>连麦时观众听到回声")
    # Confident or not, the live-show echo article is among the answers, shown in Chinese.
    page.get_by_text(LIVE_SHOW_ECHO_ZH).first.wait_for(timeout=60_000)
    assert page.evaluate("window.__xss") is None
    if shots := os.environ.get("KB_SCREENSHOT_DIR"):
        ask(page, "连麦的时候观众听到回声")
        page.get_by_text("匹配度").first.wait_for(timeout=30_000)
        page.screenshot(path=f"{shots}/search-zh.png", full_page=False)


def test_an_in_article_link_opens_the_target_article(page, server):
    page.goto(server.url + "/?article=live-show-echo&lang=en")
    page.get_by_text("Live show echo or howling").first.wait_for(timeout=60_000)
    link = page.locator('a[href*="article=collect-logs"]').first
    link.wait_for(timeout=30_000)
    if link.get_attribute("target") == "_blank":
        with page.context.expect_page() as opened:
            link.click()
        target = opened.value
    else:
        link.click()
        target = page
    target.get_by_text("How to collect SDK logs").first.wait_for(timeout=60_000)
    assert re.search(r"article=collect-logs&lang=en", target.url)
    if target is not page:
        target.close()


def test_the_writers_view_is_unreachable_without_the_secret(page, server):
    page.goto(server.url + "/?view=writers")
    page.get_by_text("RTC troubleshooting search").first.wait_for(timeout=60_000)
    assert page.get_by_text("Writers' view").count() == 0
    assert page.get_by_text("What to write next").count() == 0
    token = page.get_by_role("textbox", name="Staff token")
    token.fill("a-guess")
    token.press("Enter")
    page.get_by_text("That token is not right").wait_for(timeout=30_000)
    assert page.get_by_text("Writers' view").count() == 0

    token.fill(STAFF_TOKEN)
    token.press("Enter")
    page.get_by_text("Writers' view / 作者视图").first.click(timeout=30_000)
    page.get_by_text("What to write next").first.wait_for(timeout=60_000)
