"""The Streamlit page through AppTest, on the real index and model."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.integration
APP = str(REPO / "app.py")


@pytest.fixture
def app_env(real_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_INDEX_DIR", str(real_settings.index_dir))
    monkeypatch.setenv("KB_ARTICLES_DIR", str(real_settings.articles_dir))
    monkeypatch.setenv("KB_DB", str(tmp_path / "kb.sqlite3"))
    monkeypatch.setenv("KB_THREADS", "2")
    return tmp_path / "kb.sqlite3"


def start(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def search(at: AppTest, query: str) -> AppTest:
    at.text_input(key="q").set_value(query).run()
    assert not at.exception
    return at


def rows(db, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def test_a_symptom_shows_the_fix_first_and_a_ticket_text(app_env):
    at = search(start(), "viewers hear an echo when I co-host")
    assert at.subheader[0].value.startswith("Live show echo")
    bold = [m.value for m in at.markdown]
    assert bold.index("**Fix**") < bold.index("**Verify**")
    ticket = at.code[0].value
    assert ticket.startswith("Live show echo") and "Fix:\n1. " in ticket
    assert "?q=viewers+hear+an+echo+when+I+co-host&lang=en" in ticket
    assert at.query_params["q"] == "viewers hear an echo when I co-host"


def test_example_buttons_search(app_env):
    at = start()
    at.button[5].click().run()
    assert at.text_input(key="q").value == "语聊房里听不到麦上的人说话"
    assert at.subheader[0].value and not at.exception


def test_a_link_reopens_the_same_search_with_its_filters(app_env):
    at = start(q="echo", scenario="game-voice", lang="zh")
    assert at.selectbox(key="scenario").value == "game-voice"
    assert at.radio(key="lang").value == "zh"
    assert at.subheader[0].value.startswith("游戏语音有回声")


def test_platform_filter(app_env):
    at = start(q="echo", platform="web")
    assert not at.exception and at.subheader


def test_language_switch_changes_the_answer_language(app_env):
    at = search(start(), "remote video is a black screen")
    english = at.subheader[0].value
    at.radio(key="lang").set_value("zh").run()
    assert at.subheader[0].value != english
    assert any("解决方法" in m.value for m in at.markdown)


def test_close_answers_ask_a_clarifying_question(app_env):
    at = search(start(), "美颜开了以后主播画面很卡，磨皮不生效")
    [question] = [r for r in at.radio if r.label == "哪一个最接近？"]
    assert {option.split(" — ")[0] for option in question.options} >= {"卡顿", "美颜异常"}
    question.set_value("live-show-beauty-filter").run()
    assert "美颜" in at.subheader[0].value


def test_no_match_offers_maybe_articles_and_the_escalation_helper(app_env):
    at = search(start(), "how do I change the billing email on our account")
    assert "No confident match" in at.warning[0].value
    at.radio(key="situation").set_value("many").run()
    assert "P0" in at.error[0].value and "15 minutes" in at.error[0].value
    assert "UTC" in at.markdown[-1].value
    assert at.code[0].value.startswith("P0 (15 minutes, 24x7)") and "- [ ] " in at.code[0].value
    [(query, confident)] = rows(app_env, "SELECT query, confident FROM searches")
    assert (query, confident) == ("how do I change the billing email on our account", 0)


def test_feedback_lands_in_sqlite(app_env):
    at = search(start(), "calls ring but never connect")
    form_radio = next(r for r in at.radio if r.label.startswith("Was this answer helpful"))
    form_radio.set_value("not helpful")
    comment = next(t for t in at.text_input if t.label.startswith("Comment"))
    comment.set_value("the caller is on a VPN")
    next(b for b in at.button if b.label == "Send feedback").click().run()
    assert not at.exception
    [(helpful, text, article)] = rows(app_env, "SELECT helpful, comment, article_id FROM feedback")
    assert (helpful, text) == (0, "the caller is on a VPN")
    [(query, logged_article, score, confident)] = rows(
        app_env, "SELECT query, article_id, score, confident FROM searches")
    assert query == "calls ring but never connect" and logged_article == article
    assert score > 0 and confident == 1
    assert "Thanks" in at.success[0].value


@pytest.mark.parametrize("query, note", [
    ("   ", "Type a symptom"),
    ("black screen " * 200, "shortened"),
    ("<script>alert(1)</script> echo\x07", "control characters"),
])
def test_bad_queries_get_a_message_not_a_traceback(app_env, query, note):
    at = search(start(), query)
    assert any(note in info.value for info in at.info)


def test_article_markdown_is_rendered_without_raw_html(app_env):
    at = search(start(), "<script>alert(1)</script> echo when co-hosting")
    assert at.markdown and all(not m.proto.allow_html for m in at.markdown)


def test_missing_index_says_which_command_builds_it(app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "nothing-here"))
    at = start()
    assert "run `kb build`" in at.error[0].value and "make run" in at.error[0].value
    assert not at.exception


def test_stale_index_warns_with_the_fix(app_env, real_settings, monkeypatch, tmp_path):
    articles = tmp_path / "articles"
    shutil.copytree(real_settings.articles_dir, articles)
    (articles / "general" / "general-latency.en.md").write_text("changed", encoding="utf-8")
    monkeypatch.setenv("KB_ARTICLES_DIR", str(articles))
    at = start()
    assert "Run `kb build`" in at.warning[0].value
    assert "general/general-latency.en.md" in at.warning[0].value


def test_logging_can_be_switched_off(app_env, monkeypatch):
    monkeypatch.setenv("KB_LOG", "0")
    search(start(), "calls ring but never connect")
    assert not app_env.exists()


def test_writers_view_lists_coverage_gaps_and_review_age(app_env):
    search(start(), "how do I change the billing email on our account")
    at = start(view="writers")
    assert not at.exception
    assert [h.value for h in at.header] == ["Coverage / 覆盖", "What to write next / 待补充",
                                           "Articles by review age / 按审阅时间"]
    gaps = at.dataframe[1].value
    assert gaps.iloc[0]["query"] == "how do I change the billing email on our account"
    assert "0 required pair(s) incomplete" in at.caption[0].value
