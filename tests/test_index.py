"""Building, saving and loading the index: round trip, incremental rebuild, refusals."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import TODAY

from kb.content.articles import load_corpus
from kb.errors import BuildError, IndexMismatchError, IndexMissingError
from kb.retrieval.index import (
    CURRENT,
    FORMAT_VERSION,
    KEEP_BUILDS,
    build_index,
    build_lock,
    load_index,
    read_manifest,
    reading,
    stale_files,
)
from kb.retrieval.search import Searcher

QUERIES = ["black screen camera", "我能听到自己的声音", "join keeps timing out"]


def results(searcher: Searcher) -> list[list[tuple[str, float]]]:
    return [[(h.id, round(h.score, 6)) for h in searcher.search(q).results] for q in QUERIES]


def test_build_save_load_gives_the_same_results(tiny_settings, tiny_searcher):
    before = results(tiny_searcher)
    build_index(tiny_settings, load_corpus(tiny_settings.articles_dir), today=TODAY)
    assert results(Searcher.load(tiny_settings)) == before


def test_the_index_is_plain_files_with_a_manifest(tiny_settings, tiny_searcher):
    folder = (tiny_settings.index_dir / CURRENT).resolve()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["encoders"] == [{"name": "fake", "dim": 256, "kind": "flat",
                                     "fingerprint": "hashing/dim256"}]
    assert manifest["articles"] == 6
    assert set(manifest["corpus"]) == {
        "general/black-screen.en.md", "general/black-screen.zh.md", "general/join-fail.en.md",
        "general/join-fail.zh.md", "voice-room/room-echo.en.md", "voice-room/room-echo.zh.md",
        "pages/collect-logs.en.md", "pages/collect-logs.zh.md"}
    assert not list(folder.glob("*.pkl"))


def test_rebuild_after_one_change_embeds_only_changed_chunks(tiny_settings, tiny_searcher,
                                                             fake_encoder):
    path = tiny_settings.articles_dir / "general/join-fail.en.md"
    path.write_text(path.read_text().replace("join keeps timing out", "join spins for ages"))
    fake_encoder.calls.clear()
    report = build_index(tiny_settings, load_corpus(tiny_settings.articles_dir), today=TODAY)
    assert fake_encoder.calls == ["join spins for ages"]
    assert (report.embedded, report.reused) == (1, report.chunks - 1)


def test_a_rebuild_publishes_atomically_and_keeps_the_previous_build(tiny_settings,
                                                                     tiny_searcher):
    first = (tiny_settings.index_dir / CURRENT).resolve()
    build_index(tiny_settings, load_corpus(tiny_settings.articles_dir), today=TODAY)
    second = (tiny_settings.index_dir / CURRENT).resolve()
    assert first != second and first.exists()
    assert not list(tiny_settings.index_dir.glob(".staging-*"))


def test_broken_articles_are_skipped_with_their_message(tiny_settings):
    (tiny_settings.articles_dir / "general/broken.en.md").write_text("no front matter\n")
    report = build_index(tiny_settings, load_corpus(tiny_settings.articles_dir), today=TODAY)
    assert report.articles == 6
    assert [str(i) for i in report.skipped] == [
        f"{tiny_settings.articles_dir}/general/broken.en.md:1: error: missing front matter: the "
        "file must start with a `---` line, YAML fields, and a closing `---` line"]
    with pytest.raises(BuildError, match="broken.en.md:1"):
        build_index(tiny_settings, load_corpus(tiny_settings.articles_dir), strict=True,
                    today=TODAY)


def test_missing_index_says_which_command_creates_it(tiny_settings):
    with pytest.raises(IndexMissingError, match="run `kb build`"):
        load_index(tiny_settings)


def test_index_from_another_encoder_is_refused(tiny_settings, tiny_searcher):
    other = dataclasses.replace(tiny_settings, encoders=("use",))
    with pytest.raises(IndexMismatchError, match="built with encoders fake .* run `kb build`"):
        load_index(other)


def test_index_of_another_format_is_refused(tiny_settings, tiny_searcher):
    manifest = (tiny_settings.index_dir / CURRENT / "manifest.json")
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "format_version": 0}))
    with pytest.raises(IndexMismatchError, match="format 0.*run `kb build`"):
        load_index(tiny_settings)


def test_stale_files_lists_what_changed_since_the_build(tiny_settings, tiny_searcher):
    manifest = read_manifest(tiny_settings.index_dir)
    assert stale_files(manifest, tiny_settings) == []
    (tiny_settings.articles_dir / "general/join-fail.zh.md").write_text("changed")
    assert stale_files(manifest, tiny_settings) == ["general/join-fail.zh.md"]


def test_builds_beyond_the_newest_three_are_removed(tiny_settings, tiny_searcher):
    corpus = load_corpus(tiny_settings.articles_dir)
    for _ in range(4):
        build_index(tiny_settings, corpus, today=TODAY)
    builds = sorted(p.name for p in tiny_settings.index_dir.glob("build-*"))
    assert len(builds) == KEEP_BUILDS
    assert (tiny_settings.index_dir / CURRENT).resolve().name == builds[-1]


def test_a_build_being_loaded_is_not_removed(tiny_settings, tiny_searcher):
    oldest = (tiny_settings.index_dir / CURRENT).resolve()
    corpus = load_corpus(tiny_settings.articles_dir)
    with reading(oldest):  # a reader is loading the oldest build during the next builds
        for _ in range(KEEP_BUILDS + 1):
            build_index(tiny_settings, corpus, today=TODAY)
        assert oldest.exists()
    build_index(tiny_settings, corpus, today=TODAY)
    assert not oldest.exists()


def test_concurrent_builds_take_turns_and_leave_a_serving_index(tiny_settings, tiny_searcher):
    corpus = load_corpus(tiny_settings.articles_dir)
    messages: list[str] = []
    with build_lock(tiny_settings.index_dir):
        second = threading.Thread(target=build_index, args=(tiny_settings, corpus),
                                  kwargs={"today": TODAY, "progress": messages.append})
        second.start()
        second.join(timeout=1.0)
        assert second.is_alive()  # waiting for the lock, not racing the first build
    second.join(timeout=30)
    assert any("waiting for the build already running (pid" in m for m in messages)
    assert Searcher.load(tiny_settings).search("black screen").results[0].id == "black-screen"


def test_a_killed_build_leaves_the_old_build_serving(tiny_settings, tiny_searcher):
    published = (tiny_settings.index_dir / CURRENT).resolve()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    build = subprocess.Popen(
        [sys.executable, "-m", "kb", "build", "--articles", str(tiny_settings.articles_dir),
         "--index", str(tiny_settings.index_dir), "--encoders", "use"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)  # somewhere in loading the model or embedding
    build.send_signal(signal.SIGKILL)
    build.wait()
    assert (tiny_settings.index_dir / CURRENT).resolve() == published
    assert Searcher.load(tiny_settings).search("black screen").results[0].id == "black-screen"
    build_index(tiny_settings, load_corpus(tiny_settings.articles_dir), today=TODAY)
    assert not list(tiny_settings.index_dir.glob(".staging-*"))
