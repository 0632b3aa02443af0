"""`kb train` on the known-answer corpus: deterministic, never reads a test split, and the model
it writes ranks and calibrates searches."""

from __future__ import annotations

import dataclasses

import numpy as np
from conftest import REPO

from kb.content.articles import load_corpus
from kb.retrieval.evaluate import EvalQuery
from kb.retrieval.index import build_index
from kb.retrieval.ranker import CONFIDENCE_FEATURES, RankerModel
from kb.retrieval.search import Searcher
from kb.retrieval.train import fit, prepare, soft_labels, training_texts

REAL = [
    ("my own voice comes back in the room", "echo", "train"),
    ("echo when two phones are close", "echo", "train"),
    ("everyone hears themselves twice", "echo", "train"),
    ("the camera stays black", "no-video", "train"),
    ("black video from the other side", "no-video", "train"),
    ("webcam does not start", "no-video", "train"),
    ("joining takes forever and fails", "connect-rate", "train"),
    ("cannot join the channel", "connect-rate", "train"),
    ("connection times out when joining", "connect-rate", "train"),
    ("this text is in the test split and must never be read", "echo", "test"),
] * 3
OUT_OF_SCOPE = [("how do I change my billing email", "en", f"x/y#{n}", "train")
                for n in range(5)]


def train(searcher: Searcher) -> tuple[RankerModel, dict]:
    real = [EvalQuery(q, problem, "general", "en", split) for q, problem, split in REAL]
    texts = training_texts(real, [], searcher, [f"a/b#{n}" for n in range(len(real))],
                           out_of_scope=OUT_OF_SCOPE)
    return fit(searcher, prepare(searcher, texts))


def test_training_is_deterministic_and_skips_the_test_split(tiny_settings):
    build_index(tiny_settings, load_corpus(tiny_settings.articles_dir))
    searcher = Searcher.load(tiny_settings)
    real = [EvalQuery(q, problem, "general", "en", split) for q, problem, split in REAL]
    texts = training_texts(real, [], searcher, out_of_scope=OUT_OF_SCOPE)
    assert not any("must never be read" in t.text for t in texts)
    first, report = train(searcher)
    second, _ = train(searcher)
    assert first == second
    assert report["en"]["n"] == 27 and report["out_of_scope"]["n"] == 5
    # The thresholds apply to a fitted confidence model, not to the top article's probability.
    assert len(first.confidence_coef) == len(CONFIDENCE_FEATURES)


def test_a_trained_model_ranks_searches(tiny_settings, tmp_path):
    build_index(tiny_settings, load_corpus(tiny_settings.articles_dir))
    model, _ = train(Searcher.load(tiny_settings))
    path = tmp_path / "model.json"
    model.save(path)
    searcher = Searcher.load(dataclasses.replace(tiny_settings, model=str(path)))
    assert searcher.ranking.model is not None
    assert searcher.search("my camera is black").results[0].problem == "no-video"
    assert searcher.search("I hear my own voice back").results[0].problem == "echo"


def test_the_bundled_models_load_with_a_confidence_model():
    # `KB_MODEL=auto` picks models/ranker-<encoders>.json: both bundled configurations must be
    # readable by this code and carry thresholds for a fitted confidence model.
    for path in sorted((REPO / "models").glob("ranker-*.json")):
        model = RankerModel.load(path)
        assert len(model.confidence_coef) == len(CONFIDENCE_FEATURES), path
        assert set(model.thresholds) == {"en", "zh"}, path
    assert {p.name for p in (REPO / "models").glob("ranker-*.json")} >= {
        "ranker-e5t.json", "ranker-e5.json", "ranker-use.json"}


def test_an_article_of_the_right_problem_in_another_scenario_is_partly_a_positive():
    # Rows: the text's own article, its problem's article for another scenario, a wrong problem.
    label = np.array([1, 0, 0])
    same_problem = np.array([True, True, False])
    weight = np.array([6.0, 6.0, 6.0])
    index, labels, weights = soft_labels(label, same_problem, weight, 0.25)
    rows = sorted(zip(index.tolist(), labels.tolist(), weights.tolist(), strict=True))
    assert rows == [(0, 1, 6.0), (1, 0, 4.5), (1, 1, 1.5), (2, 0, 6.0)]
    # Share 0 is the plain rule: the other scenario's article is only a negative.
    index, labels, weights = soft_labels(label, same_problem, weight, 0.0)
    assert index.tolist() == [0, 1, 2] and labels.tolist() == [1, 0, 0]
    assert weights.tolist() == [6.0, 6.0, 6.0]
