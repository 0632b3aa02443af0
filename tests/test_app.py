"""The Streamlit page through AppTest, on the real index and model."""

from __future__ import annotations

import shutil
import sqlite3
import time

import pytest
from conftest import REPO, TWO_READINGS
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.integration
APP = str(REPO / "app.py")


@pytest.fixture
def app_env(real_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_INDEX_DIR", str(real_settings.index_dir))
    monkeypatch.setenv("KB_ARTICLES_DIR", str(real_settings.articles_dir))
    monkeypatch.setenv("KB_DB", str(tmp_path / "kb.sqlite3"))
    monkeypatch.setenv("KB_THREADS", "2")
    monkeypatch.setenv("KB_MODE", "staff")
    monkeypatch.delenv("KB_STAFF_TOKEN", raising=False)
    return tmp_path / "kb.sqlite3"


@pytest.fixture
def public_env(app_env, monkeypatch):
    monkeypatch.setenv("KB_MODE", "public")
    return app_env


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
    at = start(q="viewers hear an echo when I co-host", platform="web")
    assert not at.exception and at.subheader


def test_language_switch_changes_the_answer_language(app_env):
    at = search(start(), "remote video is a black screen")
    english = at.subheader[0].value
    at.radio(key="lang").set_value("zh").run()
    assert at.subheader[0].value != english
    assert any("解决方法" in m.value for m in at.markdown)


def test_close_answers_ask_a_clarifying_question(app_env):
    at = search(start(), TWO_READINGS)
    [question] = [r for r in at.radio if r.label == "哪一个最接近？"]
    assert {option.split(" — ")[0] for option in question.options} >= {"美颜异常", "黑屏 / 无画面"}
    question.set_value("live-show-no-video").run()
    assert "黑屏" in at.subheader[0].value


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
    next(b for b in at.button if b.label.startswith("Send feedback")).click().run()
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
    assert "Highlighted cells are gaps" in at.caption[0].value


# --- One log row per submitted search -------------------------------------------------------


def test_reruns_language_switches_and_filters_do_not_log_new_searches(app_env):
    at = search(start(), "remote video is a black screen")
    at.run()
    at.radio(key="lang").set_value("zh").run()
    at.radio(key="lang").set_value("en").run()
    at.selectbox(key="platform").set_value("web").run()
    assert rows(app_env, "SELECT query FROM searches") == [("remote video is a black screen",)]
    search(at, "calls ring but never connect")
    assert len(rows(app_env, "SELECT id FROM searches")) == 2


def test_an_example_click_is_one_search(app_env):
    at = start()
    at.button[0].click().run()
    at.run()
    assert rows(app_env, "SELECT query FROM searches") == [("viewers hear an echo when I co-host",)]


def test_a_reopened_link_is_not_a_new_search_until_feedback_is_given(app_env):
    at = start(q="calls ring but never connect", lang="en")
    assert at.subheader and rows(app_env, "SELECT id FROM searches") == []
    next(r for r in at.radio if r.label.startswith("Was this answer helpful")).set_value(
        "helpful")
    next(b for b in at.button if b.label.startswith("Send feedback")).click().run()
    [(search_id,)] = rows(app_env, "SELECT id FROM searches")
    assert rows(app_env, "SELECT search_id, helpful FROM feedback") == [(search_id, 1)]


# --- What an agent sees ---------------------------------------------------------------------


def test_answers_show_match_strength_not_scores(app_env):
    at = search(start(), "viewers hear an echo when I co-host")
    assert at.caption[1].value.startswith(("Match: strong", "Match: fair"))
    assert not any("score" in c.value for c in at.caption)


def test_maybe_entries_are_weak_matches_that_open_as_articles(app_env):
    at = search(start(), "how do I change the billing email on our account")
    links = [m.value for m in at.markdown if "](?article=" in m.value]
    assert len(links) >= 3 and any("Match: weak" in m.value for m in at.markdown)
    assert not any("score" in c.value for c in at.caption)


def test_the_answer_and_every_candidate_open_in_the_app(app_env):
    at = search(start(), "remote video is a black screen")
    opened = [m.value for m in at.markdown if "](?article=" in m.value]
    assert any(m.startswith("[Open the article") for m in opened)
    assert len(opened) >= 3


def test_whitespace_query_is_answered_in_both_languages(app_env):
    at = search(start(), "   ")
    assert "Type a symptom" in at.info[0].value and "请用自己的话描述现象" in at.info[0].value


def test_the_clarifying_pick_updates_the_link(app_env):
    at = search(start(), TWO_READINGS)
    [question] = [r for r in at.radio if r.label == "哪一个最接近？"]
    question.set_value("live-show-no-video").run()
    assert at.query_params["pick"] == "live-show-no-video"
    reopened = start(**{k: at.query_params[k] for k in ("q", "pick")})
    assert "黑屏" in reopened.subheader[0].value


# --- Article views --------------------------------------------------------------------------


def headings(at: AppTest) -> list[str]:
    return [m.value.strip("*") for m in at.markdown
            if m.value.startswith("**") and m.value.endswith("**")]


def test_an_article_view_shows_triage_fix_verify_then_the_rest(app_env):
    at = start(article="live-show-echo", lang="en")
    assert not at.exception
    assert at.title[0].value.startswith("Live show echo")
    shown = headings(at)
    first = ["Quick triage", "Fix", "Verify"] if "Quick triage" in shown else ["Fix", "Verify"]
    assert shown[:len(first)] == first and "Causes" in shown[len(first):]


def test_in_article_links_point_at_article_views(app_env):
    at = start(article="live-show-echo", lang="en")
    text = "\n".join(m.value for m in at.markdown)
    assert "](?article=collect-logs&lang=en)" in text
    assert ".md)" not in text and ".md#" not in text


@pytest.mark.parametrize("page, title", [("policies", "Shared policies"),
                                         ("collect-logs", "")])
def test_shared_pages_open_like_articles(app_env, page, title):
    at = start(article=page, lang="en")
    assert not at.exception and not at.warning
    assert at.title[0].value.startswith(title) and headings(at)


def test_an_article_opens_in_chinese_and_switches_language(app_env):
    at = start(article="live-show-echo", lang="zh")
    assert "回声" in at.title[0].value and "解决方法" in headings(at)
    next(b for b in at.button if b.label == "English").click().run()
    assert at.title[0].value.startswith("Live show echo")


def test_an_unknown_article_says_so_in_both_languages(app_env):
    at = start(article="no-such-article", lang="en")
    assert "no-such-article" in at.warning[0].value and "没有" in at.warning[0].value
    next(b for b in at.button if b.label.startswith("← Back")).click().run()
    assert not at.query_params.get("article")


# --- Public and staff modes -----------------------------------------------------------------


def test_public_mode_has_search_and_articles_but_no_staff_tools(public_env):
    at = start(view="writers", q="viewers hear an echo when I co-host")
    assert not at.exception and not at.sidebar.radio and not at.sidebar.text_input
    assert at.subheader and "Writers' view / 作者视图" not in [t.value for t in at.title]
    assert not at.code  # no ticket text
    assert start(article="live-show-echo", lang="en").title


def test_public_mode_unlocks_the_writers_view_only_with_the_token(public_env, monkeypatch):
    monkeypatch.setenv("KB_STAFF_TOKEN", "s3cret-token")
    at = start(view="writers")
    token = at.sidebar.text_input(key="staff_token")
    token.set_value("guess").run()
    assert "not right" in at.sidebar.error[0].value and not at.sidebar.radio
    token.set_value("s3cret-token").run()
    at.sidebar.radio(key="view").set_value("writers").run()
    assert at.title[0].value == "Writers' view / 作者视图"


def test_the_staff_token_can_come_from_streamlit_secrets(public_env):
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["staff_token"] = "from-secrets"
    at.run()
    at.sidebar.text_input(key="staff_token").set_value("from-secrets").run()
    assert at.sidebar.radio(key="view")


# --- A new build reaches the running app ----------------------------------------------------


def test_a_new_build_reaches_the_running_app_without_restart(app_env, tmp_path, monkeypatch):
    from conftest import DATA

    from kb.content.articles import load_corpus
    from kb.retrieval.index import build_index
    from kb.settings import load_settings

    articles = tmp_path / "articles"
    shutil.copytree(DATA / "articles", articles)
    monkeypatch.setenv("KB_ARTICLES_DIR", str(articles))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "index"))
    settings = load_settings()
    build_index(settings, load_corpus(articles))
    at = search(start(), "black screen")
    assert at.subheader[0].value == "Black screen or camera will not start"

    source = articles / "general" / "black-screen.en.md"
    source.write_text(source.read_text("utf-8").replace(
        "title: Black screen or camera will not start", "title: Camera shows a black tile"),
        "utf-8")
    build_index(settings, load_corpus(articles))
    deadline = time.monotonic() + 30
    while at.subheader[0].value != "Camera shows a black tile" and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert at.subheader[0].value == "Camera shows a black tile"
    assert not any("older than the articles" in w.value for w in at.warning)


def test_a_pasted_log_shows_evidence_above_the_fix_and_is_not_logged(app_env):
    log = (REPO / "tests/data/diagnose/real/apprtc-ice-state-failed.txt")
    at = start()
    at.text_area(key="artefact").set_value(log.read_text())
    at = search(at, "call never connects")
    bold = [m.value for m in at.markdown]
    evidence = next(i for i, m in enumerate(bold) if "Evidence" in m)
    assert evidence < bold.index("**Fix**")
    assert any("ICE" in m for m in bold[evidence:bold.index("**Fix**")])
    logged = rows(app_env, "SELECT query FROM searches")
    assert logged and all(len(q) < 500 and "candidate" not in q for (q,) in logged)
