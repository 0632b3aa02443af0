"""One real-browser test: the app in headless Debian Chromium, driven by Playwright."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from appserver import CHROMIUM_ARGS, running_app

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
LIVE_SHOW_ECHO_ZH = "秀场直播连麦、放歌或用声卡时出现回声、啸叫"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("KB_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def app_url(real_settings, tmp_path_factory):
    env = {"KB_INDEX_DIR": str(real_settings.index_dir),
           "KB_ARTICLES_DIR": str(real_settings.articles_dir),
           "KB_DB": str(tmp_path_factory.mktemp("db") / "kb.sqlite3"), "KB_THREADS": "2",
           "HF_HUB_OFFLINE": "1"}
    with running_app(env) as (url, _):
        yield url


def ask(page, query: str) -> None:
    box = page.get_by_label("Describe the symptom in your own words")
    box.fill(query)
    box.press("Enter")


def test_typing_a_symptom_shows_its_fix(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(app_url)
    ask(page, "viewers hear an echo when I co-host")
    page.get_by_text("Find the end that leaks").first.wait_for(timeout=60_000)
    # Streamlit draws the page top-down; the ticket text follows the fix.
    page.get_by_text("Copy for ticket").wait_for(timeout=30_000)
    # The ticket text ends with a link that reopens this search.
    page.get_by_text("?q=viewers+hear+an+echo").wait_for(timeout=30_000)
    assert "q=viewers" in page.url
    if shots := os.environ.get("KB_SCREENSHOT_DIR"):
        page.screenshot(path=f"{shots}/search-en.png", full_page=False)
    page.close()


def test_chinese_answer_and_no_script_runs(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(app_url + "/?lang=zh")
    ask(page, "<img src=x onerror=window.__xss=1><script>window.__xss=1</script>连麦时观众听到回声")
    # Confident or not, the live-show echo article is among the answers, shown in Chinese.
    page.get_by_text(LIVE_SHOW_ECHO_ZH).first.wait_for(timeout=60_000)
    assert page.evaluate("window.__xss") is None
    if shots := os.environ.get("KB_SCREENSHOT_DIR"):
        ask(page, "连麦的时候观众听到回声")
        page.get_by_text("来源: http").wait_for(timeout=30_000)
        page.screenshot(path=f"{shots}/search-zh.png", full_page=False)
    page.close()
