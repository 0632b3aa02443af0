"""Parsing articles: front matter fields, their lines, and the sections from Markdown tokens."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from conftest import DATA

from kb.content.articles import load_corpus, parse_article, read_article


def test_parses_every_front_matter_field_and_section():
    article, issues = read_article(DATA / "articles/general/black-screen.en.md")
    assert issues == []
    assert article is not None
    assert (article.id, article.lang, article.problem) == ("black-screen", "en", "no-video")
    assert article.scenarios == ("general",)
    assert article.error_codes == ("NotReadableError", "NotAllowedError")
    assert article.last_reviewed == dt.date(2026, 10, 1)
    assert [s.key for s in article.sections] == ["triage", "symptoms", "causes", "fix",
                                                  "verify", "escalate"]
    assert article.references == ("Test reference — example.org",)
    assert article.platforms_checked == {"android": 16, "ios": 26}
    fix = article.section("fix")
    assert fix.ordered
    assert fix.steps == ("Close other apps using the camera, then retry capture.",
                         "Grant camera permission in the browser settings.")
    assert "**Close other apps" in fix.markdown


def test_records_the_line_of_each_field_and_heading():
    article, _ = read_article(DATA / "articles/general/black-screen.en.md")
    assert article.line_of("id") == 2
    assert article.line_of("problem") == 5
    assert article.section("fix").line == 38


def test_recognises_chinese_headings():
    article, issues = read_article(DATA / "articles/voice-room/room-echo.zh.md")
    assert issues == []
    assert article.section("fix").heading == "解决方法"
    symptoms = article.section("symptoms").text
    assert symptoms == "上麦的人过一会儿听到自己的声音，有时出现越来越响的啸叫。"


def test_collects_links_with_their_lines():
    article, _ = read_article(DATA / "articles/general/black-screen.en.md")
    assert [(link.target, link.line) for link in article.links] == [
        ("../voice-room/room-echo.en.md", 43), ("collect-logs.en.md", 59)]


def test_numbers_in_error_codes_are_identifiers():
    text = (DATA / "articles/general/join-fail.en.md").read_text().replace(
        'error_codes: ["iceConnectionState failed"]', "error_codes: [401, 1006]")
    article, issues = parse_article("x.md", text)
    assert issues == []
    assert article.error_codes == ("401", "1006")


def test_a_broken_file_never_stops_the_others_loading():
    corpus = load_corpus(DATA / "broken")
    assert {a.id for a in corpus.articles} >= {"missing-sections", "dup", "bad-link"}
    assert {Path(i.path).name for i in corpus.issues} >= {
        "empty.en.md", "latin1.en.md", "bad-yaml.en.md", "no-front-matter.en.md"}


def test_templates_are_not_articles(tmp_path):
    (tmp_path / "TEMPLATE.md").write_text("---\nid: x\n---\n")
    (tmp_path / "README.md").write_text("# notes\n")
    assert load_corpus(tmp_path).articles == ()
