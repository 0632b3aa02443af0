"""`kb lint`: every problem reported as path:line: message, golden output for broken articles."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import shutil

import numpy as np
import pytest
from conftest import DATA, REPO

from kb.cli import main
from kb.content.articles import load_corpus, read_article
from kb.content.lint import lint_all, lint_article, near_duplicates


def run_lint(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["lint", *args], out=out)
    return code, out.getvalue()


def test_broken_articles_match_the_golden_report(monkeypatch):
    # Adding a broken case means adding a file to tests/data/broken and regenerating
    # expected-lint.txt with the same command.
    monkeypatch.chdir(DATA)
    code, output = run_lint("broken", "--no-similarity", "--max-age-days", "100000")
    assert code == 1
    assert output == (DATA / "broken/expected-lint.txt").read_text()


def test_clean_corpus_exits_zero():
    code, output = run_lint(str(DATA / "articles"), "--no-similarity")
    assert code == 0
    assert output.endswith("6 articles checked: 0 error(s), 0 warning(s)\n")


def test_warnings_fail_only_in_strict_mode(tmp_path):
    source = (DATA / "articles/voice-room/room-echo.en.md").read_text()
    (tmp_path / "a.en.md").write_text(source.replace("last_reviewed: 2026-10-01",
                                                     "last_reviewed: 2020-01-01"))
    (tmp_path / "a.zh.md").write_text(
        (DATA / "articles/voice-room/room-echo.zh.md").read_text()
        .replace("last_reviewed: 2026-10-01", "last_reviewed: 2020-01-01"))
    shutil.copytree(DATA / "articles/pages", tmp_path / "pages")
    assert run_lint(str(tmp_path), "--no-similarity")[0] == 0
    code, output = run_lint(str(tmp_path), "--no-similarity", "--strict")
    assert code == 1
    assert "a.en.md:17: warning: last reviewed" in output


def test_staleness_uses_the_configured_age():
    article, _ = read_article(DATA / "articles/general/join-fail.en.md")
    today = dt.date(2026, 12, 1)
    assert lint_article(article, today, max_age_days=365) == []
    [issue] = lint_article(article, today, max_age_days=30)
    assert issue.line == article.line_of("last_reviewed")
    assert "61 days ago (limit 30)" in issue.message


def test_sections_out_of_order_are_a_warning():
    article, _ = read_article(DATA / "articles/general/join-fail.en.md")
    swapped = dataclasses.replace(article, sections=article.sections[::-1])
    messages = [i.message for i in lint_article(swapped, dt.date(2026, 11, 1))]
    assert any("out of order" in m for m in messages)


def test_symptom_collisions_name_both_files(tmp_path):
    for lang in ("en", "zh"):
        source = (DATA / f"articles/voice-room/room-echo.{lang}.md").read_text()
        (tmp_path / f"room-echo.{lang}.md").write_text(source)
        (tmp_path / f"copy.{lang}.md").write_text(source.replace("id: room-echo", "id: copy"))
    issues = lint_all(load_corpus(tmp_path), dt.date(2026, 11, 1))
    collisions = [i for i in issues if "is also listed by" in i.message]
    assert collisions and all(i.severity == "warning" for i in collisions)
    assert any({i.path.rsplit("/", 1)[-1], i.message.split(" is also listed by ")[1].split(";")[0]
                .rsplit("/", 1)[-1]} == {"room-echo.en.md", "copy.en.md"} for i in collisions)


def test_near_duplicates_compare_articles_of_one_language():
    corpus = load_corpus(DATA / "articles")
    articles = list(corpus.articles)
    vectors = np.eye(len(articles), dtype=np.float32)
    assert near_duplicates(articles, vectors) == []
    same = [i for i, a in enumerate(articles) if a.lang == "en"][:2]
    vectors[same[1]] = vectors[same[0]]
    [issue] = near_duplicates(articles, vectors)
    assert issue.path == articles[same[1]].path
    assert articles[same[0]].path in issue.message


@pytest.mark.integration
def test_bundled_articles_are_lint_clean():
    code, output = run_lint(str(REPO / "articles"), "--strict")
    assert code == 0, output


@pytest.mark.parametrize("text, expected", [
    ("echo: [echo, 回声]\nstutter: lag\n",
     "glossary.yaml:2: error: concept `stutter` must have a list of terms"),
    ("echo: [echo, 回声\nstutter: [lag]\n", "glossary.yaml:2: error: invalid YAML in glossary"),
])
def test_glossary_problems_are_reported_with_their_line(tmp_path, text, expected):
    (tmp_path / "glossary.yaml").write_text(text, encoding="utf-8")
    code, output = run_lint(str(tmp_path), "--no-similarity")
    assert code == 1
    assert f"{tmp_path}/{expected}" in output


# -- rules for articles an agent can act on, and bounded input ------------------------------


def good_pair(tmp_path):
    for lang in ("en", "zh"):
        source = DATA / f"articles/voice-room/room-echo.{lang}.md"
        (tmp_path / f"room-echo.{lang}.md").write_text(source.read_text())
    shutil.copytree(DATA / "articles/pages", tmp_path / "pages")
    return tmp_path


def test_ascii_quotes_in_chinese_prose_are_flagged_but_not_in_code(tmp_path):
    root = good_pair(tmp_path)
    path = root / "room-echo.zh.md"
    path.write_text(path.read_text().replace("- **客户可查：** 现象消失。",
                                             '- **客户可查：** 现象"消失"。`a "b"`'))
    code, output = run_lint(str(root), "--no-similarity")
    assert code == 0 and output.count("half-width punctuation") == 1


def test_a_bare_code_in_three_articles_is_flagged_and_a_qualified_one_is_not(tmp_path):
    root = good_pair(tmp_path)
    source = (root / "room-echo.en.md").read_text()
    for n in range(3):
        for lang in ("en", "zh"):
            text = (root / f"room-echo.{lang}.md").read_text()
            (root / f"echo-{n}.{lang}.md").write_text(
                text.replace("id: room-echo", f"id: echo-{n}")
                .replace("error_codes: []", 'error_codes: ["1006", "WebSocket 1013"]'))
    assert "I hear my own voice back" in source
    _, output = run_lint(str(root), "--no-similarity")
    assert "error code `1006` is listed by 3 articles" in output
    assert "1013" not in output


def test_platform_stamps_older_than_the_newest_are_flagged(tmp_path):
    root = good_pair(tmp_path)
    (root / "platforms.yaml").write_text("newest: {android: 17, ios: 26}\n")
    _, output = run_lint(str(root), "--no-similarity")
    assert "checked against older versions (android 16 < 17)" in output


def test_terms_list_names_the_preferred_word(tmp_path):
    root = good_pair(tmp_path)
    (root / "terms.yaml").write_text('- avoid: "现象消失"\n  use: "问题解决"\n')
    _, output = run_lint(str(root), "--no-similarity")
    assert "term `现象消失`: write `问题解决`" in output


def test_links_resolve_to_ids_across_folders(tmp_path):
    root = good_pair(tmp_path)
    path = root / "room-echo.en.md"
    path.write_text(path.read_text() + "\nSee [policies](policies.en.md).\n")
    _, output = run_lint(str(root), "--no-similarity")
    assert "no article or page with id `policies` in `en`" in output


@pytest.mark.parametrize("content, message", [
    ("---\n" + "x" * 300_000, "over the 256 KB limit"),
    ("---\nid: a\n" + "y" * 5000 + "\n", "line is 5000 characters long"),
])
def test_huge_files_and_lines_are_refused_unparsed(tmp_path, content, message):
    (tmp_path / "dump.en.md").write_text(content)
    code, output = run_lint(str(tmp_path), "--no-similarity")
    assert code == 1 and message in output
