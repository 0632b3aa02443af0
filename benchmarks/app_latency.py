"""Time the Streamlit app as a user sees it, in headless Chromium.

Reports: server start until it answers, process start until the first answer is on screen
(includes loading the index and model), and the time from pressing Enter to the new answer for
later searches. Run: .venv/bin/python benchmarks/app_latency.py  (needs a built index and
/usr/bin/chromium).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote_plus

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from appserver import CHROMIUM_ARGS, running_app  # noqa: E402

QUERIES = [
    "viewers hear an echo when I co-host", "video keeps freezing for users on 4G",
    "calls ring but never connect", "the AI agent won't stop talking when I interrupt",
    "连麦的时候观众听到回声", "语聊房里听不到麦上的人说话", "1v1 视频对方一直黑屏",
    "游戏语音延迟很高，队友说话慢半拍", "remote video is just a black screen",
    "keyboard noise in game voice", "主播画面很模糊", "users drop out of the room at peak",
]


def ask_and_wait(page, query: str) -> float:
    box = page.get_by_label("Describe the symptom in your own words")
    box.fill(query)
    started = time.perf_counter()
    box.press("Enter")
    # The ticket text ends with a link carrying the query: it appears once this answer is drawn.
    page.get_by_text(f"q={quote_plus(query)}").first.wait_for(timeout=120_000)
    return time.perf_counter() - started


def main() -> None:
    # Staff mode: the ticket text, whose link marks a finished answer, is a staff tool.
    env = {"KB_DB": tempfile.mkdtemp() + "/kb.sqlite3", "HF_HUB_OFFLINE": "1", "KB_MODE": "staff"}
    process_started = time.perf_counter()
    with running_app(env) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server.url)
        first = ask_and_wait(page, QUERIES[0])
        first_answer = time.perf_counter() - process_started
        later = [ask_and_wait(page, q) for q in QUERIES[1:]]
        browser.close()
    print(f"- Server up (health endpoint answers): {server.ready_seconds:.2f} s after process "
          "start")
    print(f"- First answer on screen: {first_answer:.2f} s after process start "
          f"({first:.2f} s from Enter, including index and model load)")
    print(f"- Later searches, Enter to answer drawn, {len(later)} queries: median "
          f"{statistics.median(later) * 1000:.0f} ms, max {max(later) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
