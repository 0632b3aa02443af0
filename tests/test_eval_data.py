"""The real-words evaluation set keeps its rules: every line names its public source, labels use
the taxonomy's keys, at most two texts come from one thread, and the split is the fixed hash of
the source (so no line can be moved between train and test by hand)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from conftest import REPO

from kb.content.taxonomy import PROBLEMS, SCENARIOS


def lines() -> list[dict]:
    path = REPO / "eval/real.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_every_real_text_has_a_source_and_taxonomy_labels():
    for n, row in enumerate(lines(), start=1):
        assert {"q", "problem", "scenario", "lang", "source", "split"} <= set(row), n
        assert row["problem"] in PROBLEMS and row["scenario"] in SCENARIOS, n
        assert row["lang"] in ("en", "zh") and row["q"].strip() and row["source"].strip(), n


def test_the_split_is_the_hash_of_the_source():
    for n, row in enumerate(lines(), start=1):
        bucket = int(hashlib.sha256(row["source"].encode("utf-8")).hexdigest(), 16) % 100
        assert row["split"] == ("test" if bucket < 45 else "train"), (n, row["source"])


def test_at_most_two_texts_per_thread_and_no_text_twice():
    rows = lines()
    assert max(Counter(row["source"] for row in rows).values()) <= 2
    assert len({row["q"].strip() for row in rows}) == len(rows)
