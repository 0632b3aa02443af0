"""What the app shows and pastes: links between articles, the ticket text, section order, the
coverage highlight, staff access and the index banner."""

from __future__ import annotations

import pytest

from kb.content.articles import parse_article
from kb.retrieval.index import Manifest
from kb.service.access import is_staff, token_matches
from kb.service.links import find_article, linked_articles, rewrite_links, strip_links
from kb.service.render import coverage_style, ticket_text, view_sections
from kb.service.support import freshness
from kb.settings import Settings

ARTICLE = """---
id: black-screen
lang: en
title: Black screen or camera will not start
problem: no-video
scenarios: [general]
severity: P1
symptoms: [a, b, c, d, e, f]
platforms: [web]
last_reviewed: 2026-10-01
owner: video-team
---

## Symptoms

A black tile where the camera picture should be.

## Fix

1. **Close other apps using the camera**, then retry capture; see
   [the permissions page](policies.en.md#camera).
2. Grant `camera` permission, as in [the echo article](../voice-room/room-echo.en.md).

## Verify

The local preview shows the picture.

## Quick triage

1. Is the camera light on? → yes: Fix step 1.
"""


@pytest.fixture
def article():
    parsed, issues = parse_article("general/black-screen.en.md", ARTICLE)
    assert parsed is not None, issues
    return parsed


@pytest.mark.parametrize("markdown, expected", [
    ("see [noise](conversational-ai-noise.en.md).",
     "see [noise](?article=conversational-ai-noise&lang=en)."),
    ("[日志](collect-logs.zh.md#android)", "[日志](?article=collect-logs&lang=zh#android)"),
    ("[echo](../voice-room/room-echo.en.md)", "[echo](?article=room-echo&lang=en)"),
    ("[docs](https://docs.agora.io/en/x.md)", "[docs](https://docs.agora.io/en/x.md)"),
    ("[template](TEMPLATE.md) and `a.en.md`", "[template](TEMPLATE.md) and `a.en.md`"),
])
def test_article_file_links_become_article_views(markdown, expected):
    assert rewrite_links(markdown) == expected


def test_linked_articles_in_order_without_repeats():
    text = "[a](b-c.en.md) [p](policies.zh.md#x) [again](b-c.en.md) [web](https://x.io)"
    assert linked_articles(text) == (("b-c", "en"), ("policies", "zh"))


def test_strip_links_keeps_the_words():
    assert strip_links("see [the echo article](room-echo.en.md) now") == \
        "see the echo article now"


def test_ticket_text_is_plain_numbered_steps_then_title_url_lines(article):
    text = ticket_text(article, "https://kb.example/", "https://kb.example/?q=black&lang=en",
                       {"policies": "Shared policies", "room-echo": "Voice room echo"})
    assert text.splitlines()[:5] == [
        "Black screen or camera will not start",
        "No video / black screen · General · P1 (1 hour)",
        "",
        "Fix:",
        "1. Close other apps using the camera, then retry capture; see the permissions page.",
    ]
    assert text.splitlines()[5] == "2. Grant camera permission, as in the echo article."
    assert text.splitlines()[-4:] == [
        "Black screen or camera will not start — "
        "https://kb.example/?article=black-screen&lang=en",
        "Shared policies — https://kb.example/?article=policies&lang=en",
        "Voice room echo — https://kb.example/?article=room-echo&lang=en",
        "This search — https://kb.example/?q=black&lang=en",
    ]
    for markdown in ("**", "`", "](", ".md"):
        assert markdown not in text


def test_article_view_puts_triage_fix_verify_first(article):
    assert [s.key for s in view_sections(article)] == ["triage", "fix", "verify", "symptoms"]


def test_find_article_falls_back_to_the_other_language(article):
    assert find_article([article], "black-screen", "zh") is article
    assert find_article([article], "missing", "en") is None


@pytest.mark.parametrize("mark, highlighted", [
    ("en+zh", False), ("-", False), ("en", True), ("zh", True), ("en!", True), ("-!", True),
])
def test_coverage_highlights_gaps_not_covered_cells(mark, highlighted):
    assert bool(coverage_style(mark)) is highlighted


@pytest.mark.parametrize("mode, offered, expected, staff", [
    ("staff", "", "", True),
    ("public", "", "", False),
    ("public", "anything", "", False),
    ("public", "wrong", "s3cret", False),
    ("public", "s3cret", "s3cret", True),
])
def test_staff_tools_need_staff_mode_or_the_token(mode, offered, expected, staff):
    assert is_staff(Settings(mode=mode), offered, expected) is staff


def test_an_empty_token_never_matches():
    assert not token_matches("", "")


def manifest() -> Manifest:
    return Manifest(format_version=1, built_at="2026-11-30T10:00:00+00:00", encoders=(),
                    glossary_hash="", corpus={}, articles=0, chunks=0)


def test_banner_says_a_new_build_is_on_its_way(tmp_path):
    settings = Settings(articles_dir=tmp_path / "none")
    status = freshness(settings, manifest(), "build-1", "build-2")
    assert "build-2" in status.message and "switch" in status.message


def test_banner_says_when_the_new_build_failed_to_load(tmp_path):
    settings = Settings(articles_dir=tmp_path / "none")
    status = freshness(settings, manifest(), "build-1", "build-2", "vectors missing")
    assert "vectors missing" in status.message and "2026-11-30 10:00 UTC" in status.message
