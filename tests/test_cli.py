"""The CLI as a user runs it: exit codes and messages, writers' commands."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from conftest import DATA

from kb.cli import main


def run(args: list[str], capsys) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(args, out=out)
    return code, out.getvalue(), capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["search", "echo", "--index", "/nonexistent/index"],
     "no index in /nonexistent/index: run `kb build` first"),
    (["lint", "/nonexistent/articles"], "/nonexistent/articles: no such folder"),
    (["eval", "/nonexistent/queries.jsonl"], "/nonexistent/queries.jsonl: no such file"),
    (["show", "no-such-article", "--articles", str(DATA / "articles")],
     "no article with id `no-such-article`"),
    (["show", "room", "--articles", str(DATA / "articles")], "did you mean: room-echo"),
    (["build", "--encoders", "word2vec"], "unknown encoder `word2vec`"),
    (["new", "Bad Id", "--scenario", "general", "--problem", "echo"],
     "id `Bad Id` must be lowercase letters, digits and dashes"),
    (["eval", str(DATA / "articles/glossary.yaml"), "--split", "test"], "expected a JSON object"),
    (["diagnose", "/nonexistent/dump.json"], "/nonexistent/dump.json"),
    (["train", "--real", "/nonexistent/real.jsonl", "--index", "/nonexistent/index"],
     "no such file"),
])
def test_errors_name_the_problem_and_exit_2(args, message, capsys):
    code, _, err = run(args, capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [["search", "echo", "--scenario", "karaoke"],
                                  ["search", "echo", "--top-k", "x"], ["frobnicate"]])
def test_usage_errors_exit_2(args, capsys):
    assert run(args, capsys)[0] == 2


def test_oversized_glossary_is_refused_with_its_limit(tmp_path, capsys):
    shutil.copytree(DATA / "articles", tmp_path / "articles")
    (tmp_path / "articles/glossary.yaml").write_text("echo: [" + "x, " * 600_000 + "]\n")
    code, out, _ = run(["lint", str(tmp_path / "articles"), "--no-similarity"], capsys)
    assert code == 1 and "over the 1024 KB limit" in out


def test_eval_file_errors_name_the_line(tmp_path, capsys, tiny_searcher, tiny_settings):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"q": "echo", "problem": "echo", "scenario": "general", "lang": "en"}\n'
                       '{"q": "x", "problem": "echos", "scenario": "general", "lang": "en"}\n')
    code, _, err = run(["eval", str(queries), "--index", str(tiny_settings.index_dir),
                        "--encoders", "fake"], capsys)
    assert code == 2 and f"{queries}:2: unknown problem key `echos`" in err


def test_eval_reports_metrics_and_enforces_floors(tmp_path, capsys, tiny_searcher,
                                                  tiny_settings):
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"q": "I hear my own voice back", "problem": "echo", "scenario": "voice-room",
         "lang": "en", "split": "dev"},
        {"q": "摄像头打不开", "problem": "no-video", "scenario": "general", "lang": "zh",
         "split": "heldout"},
        {"q": "camera won't turn on", "problem": "echo", "scenario": "general", "lang": "en",
         "split": "dev"},
    ]))
    common = ["--index", str(tiny_settings.index_dir), "--encoders", "fake"]
    code, out, _ = run(["eval", str(queries), *common, "--json"], capsys)
    table = json.loads(out)
    assert code == 0
    assert table["all"]["hit1"] == pytest.approx(2 / 3)
    assert table["lang=zh"]["hit1"] == 1.0 and table["split=heldout"]["n"] == 1
    code, out, _ = run(["eval", str(queries), *common, "--min-hit1", "0.9"], capsys)
    assert code == 1 and "below floor: all hit@1 0.667 < 0.9" in out
    confident = table["all"]["confident"]
    code, out, _ = run(["eval", str(queries), *common, "--min-confident",
                        str(confident + 0.01)], capsys)
    assert code == 1 and "below floor: all confident" in out
    code, _, _ = run(["eval", str(queries), *common, "--min-confident", str(confident)], capsys)
    assert code == 0


def test_eval_of_the_test_split_tells_seen_from_new_repositories(tmp_path, capsys, tiny_searcher,
                                                                  tiny_settings):
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps(q) for q in [
        {"q": "echo here", "problem": "echo", "scenario": "general", "lang": "en",
         "split": "train", "source": "acme/voice#1"},
        {"q": "I hear my own voice back", "problem": "echo", "scenario": "general", "lang": "en",
         "split": "test", "source": "acme/voice#2"},
        {"q": "camera won't turn on", "problem": "no-video", "scenario": "general", "lang": "en",
         "split": "test", "source": "other/app#7"},
        {"q": "camera won't turn on", "problem": "echo", "scenario": "general", "lang": "en",
         "split": "test", "source": "other/app#8"},
    ]))
    common = ["--index", str(tiny_settings.index_dir), "--encoders", "fake", "--json"]
    code, out, _ = run(["eval", str(queries), "--split", "test", *common], capsys)
    table = json.loads(out)
    assert table["repo=seen lang=en"]["n"] == 1 and table["repo=new lang=en"]["n"] == 2
    assert table["repo=new lang=en"]["hit1"] == pytest.approx(1 / 2)
    _, out, _ = run(["eval", str(queries), *common], capsys)
    assert not any(name.startswith("repo=") for name in json.loads(out))


def test_search_text_output_shows_the_fix(capsys, tiny_searcher, tiny_settings):
    code, out, _ = run(["search", "camera won't turn on", "--index",
                        str(tiny_settings.index_dir), "--encoders", "fake"], capsys)
    assert code == 0
    assert out.startswith("Black screen or camera will not start  [black-screen")
    assert "1. Close other apps using the camera, then retry capture." in out


def test_new_scaffolds_a_pair_that_lint_flags_until_filled(tmp_path, capsys):
    code, out, _ = run(["new", "room-noise", "--scenario", "voice-room", "--problem", "noise",
                        "--articles", str(tmp_path)], capsys)
    assert code == 0 and "created" in out
    assert sorted(p.name for p in (tmp_path / "voice-room").iterdir()) == [
        "room-noise.en.md", "room-noise.zh.md"]
    code, out, _ = run(["lint", str(tmp_path), "--no-similarity"], capsys)
    assert code == 1
    fix_line = (tmp_path / "voice-room/room-noise.en.md").read_text().splitlines().index(
        "## Fix") + 1
    assert f"room-noise.en.md:{fix_line}: error: the fix is empty" in out
    assert "room-noise.zh.md:4: error: replace the placeholder title" in out
    assert "missing front matter" not in out and "unknown" not in out
    code, _, err = run(["new", "room-noise", "--scenario", "voice-room", "--problem", "noise",
                        "--articles", str(tmp_path)], capsys)
    assert code == 2 and "already exists" in err


def test_show_renders_one_language(capsys):
    code, out, _ = run(["show", "room-echo", "--lang", "zh", "--articles",
                        str(DATA / "articles")], capsys)
    assert code == 0
    assert out.startswith("语聊房回声和啸叫\n")
    assert "解决方法" in out and "为所有麦位开启回声消除（AEC）。" in out
    assert "Echo and howling" not in out


def test_coverage_marks_required_gaps(capsys):
    code, out, _ = run(["coverage", "--check", "--articles", str(DATA / "articles")], capsys)
    assert code == 1
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:17]}
    assert lines["echo"][2] == "en+zh"          # voice-room/echo: present, required
    assert lines["echo"][0] == "-!"             # live-show/echo: required, missing
    assert lines["no-video"][5] == "en+zh"      # general/no-video


def fill_scaffold(path, title: str, symptom: str, step: str) -> None:
    """Do what a writer does after `kb new`: replace the placeholders, write every section."""
    front, body = path.read_text(encoding="utf-8").split("---\n", 2)[1:]
    front = "\n".join(f"title: {title}" if line.startswith("title:") else line
                      for line in front.splitlines())
    front = front.replace("(how a customer would say it)", symptom).replace(
        "(how an end user would say it)", symptom + " again").replace(
        "（客户会怎么说）", symptom).replace("（终端用户会怎么说）", symptom + "，一直这样")
    lines = []
    for line in body.splitlines():
        lines.append(line)
        if line.startswith("## "):
            fix = line in ("## Fix", "## 解决方法")
            lines += ["", f"1. {step}" if fix else "Text. Text."]
    path.write_text(f"---\n{front}\n---\n" + "\n".join(lines) + "\n", encoding="utf-8")


def test_a_writer_adds_an_article_and_finds_it_after_build(tiny_settings, capsys):
    articles = tiny_settings.articles_dir
    assert run(["new", "room-noise", "--scenario", "voice-room", "--problem", "noise",
                "--articles", str(articles)], capsys)[0] == 0
    fill_scaffold(articles / "voice-room/room-noise.en.md", "Fan hum in a room",
                  "a fan hums behind the speaker", "Turn on noise suppression.")
    fill_scaffold(articles / "voice-room/room-noise.zh.md", "语聊房风扇噪音",
                  "麦上有风扇的嗡嗡声", "开启降噪。")
    code, out, _ = run(["lint", str(articles), "--no-similarity"], capsys)
    assert code == 0 and "8 articles checked: 0 error(s)" in out, out
    common = ["--articles", str(articles), "--index", str(tiny_settings.index_dir),
              "--encoders", "fake"]
    assert run(["build", *common], capsys)[0] == 0
    code, out, _ = run(["search", "fan hums behind the speaker", *common, "--json"], capsys)
    assert json.loads(out)["results"][0]["id"] == "room-noise"
