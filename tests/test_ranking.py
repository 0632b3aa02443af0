"""The ranking logic, one rule per test: fusion, pooling, the confidence rule, clarifying
questions, tie order, the concept weight, the learned ranker's features, long tickets, codes.

Each test pins a rule so that a one-line change to it fails here, fast, without real models.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pytest

from kb.content.articles import load_corpus
from kb.errors import ConfigError
from kb.retrieval.fusion import Ranking, fuse, pool_by_problem
from kb.retrieval.index import build_index
from kb.retrieval.query import clean_query, focus
from kb.retrieval.ranker import (
    CONFIDENCE_FEATURES,
    ArticleFacts,
    Legs,
    NeighbourVote,
    QueryFacts,
    RankerModel,
    confidence_features,
    feature_names,
    features,
    lexical_vector,
    neighbour_vote,
)
from kb.retrieval.search import (
    CodeMatcher,
    Hit,
    Searcher,
    alphabetical_rank,
    diversify,
    keyword_query,
    order_articles,
    scenarios_named,
)
from kb.retrieval.text import CONCEPT_PREFIX, tokens
from kb.retrieval.train import _threshold

# -- fusion and pooling --------------------------------------------------------------------


def test_an_article_first_everywhere_fuses_to_one():
    a = Ranking("a", {"x": 0.9, "y": 0.5})
    b = Ranking("b", {"x": 3.0, "y": 1.0})
    assert fuse([a, b]) == pytest.approx({"x": 1.0, "y": (2 / 7) * 6 / 2})


def test_fusion_k_sets_how_much_rank_two_loses():
    a = Ranking("a", {"x": 2.0, "y": 1.0})
    assert fuse([a], k=5)["y"] == pytest.approx(6 / 7)
    assert fuse([a], k=60)["y"] == pytest.approx(61 / 62)


def test_fusion_weights_let_one_ranking_outvote_another():
    a = Ranking("a", {"x": 2.0, "y": 1.0})
    b = Ranking("b", {"y": 2.0, "x": 1.0})
    assert max(fuse([a, b], weights={"a": 2.0}).items(), key=lambda i: i[1])[0] == "x"
    assert max(fuse([a, b], weights={"b": 2.0}).items(), key=lambda i: i[1])[0] == "y"


def test_equal_scores_share_a_rank():
    assert Ranking("a", {"x": 1.0, "y": 1.0, "z": 0.5}).ranks() == {"x": 1, "y": 1, "z": 2}


def test_pooling_scores_an_article_by_its_problems_best_three():
    ranking = Ranking("v", {"e1": 0.9, "e2": 0.8, "e3": 0.7, "e4": 0.1, "n1": 0.95})
    problem_of = {"e1": "echo", "e2": "echo", "e3": "echo", "e4": "echo", "n1": "noise"}
    pooled = pool_by_problem(ranking, problem_of, top=3)
    assert pooled.scores["e4"] == pytest.approx(0.8)  # mean of 0.9, 0.8, 0.7
    assert pooled.scores["n1"] == pytest.approx(0.95)
    assert pooled.name == "v:problem"


# -- the searcher's rules, on the known-answer corpus ----------------------------------------


def with_ranking(searcher: Searcher, **changes) -> Searcher:
    return Searcher(searcher.index, searcher.encoders, searcher.settings,
                    dataclasses.replace(searcher.ranking, **changes))


def test_confident_only_above_the_similarity_threshold(tiny_searcher):
    query = "I hear my own voice back"
    similarity = tiny_searcher.search(query).results[0].similarity
    above = with_ranking(tiny_searcher, confidence_threshold=similarity - 0.01,
                         supported_threshold=2.0, strong_threshold=2.0)
    below = with_ranking(tiny_searcher, confidence_threshold=similarity + 0.01,
                         supported_threshold=2.0, strong_threshold=2.0)
    assert above.search(query).match == "fair"
    assert below.search(query).match == "weak" and not below.search(query).confident


def test_glossary_vocabulary_supports_a_fair_similarity(tiny_searcher):
    query = "echo in the room"  # `echo` is a glossary term
    similarity = tiny_searcher.search(query).results[0].similarity
    searcher = with_ranking(tiny_searcher, confidence_threshold=2.0, strong_threshold=2.0,
                            supported_threshold=similarity - 0.01)
    assert searcher.search(query).confident
    no_glossary_query = "zzz qqq"
    assert not searcher.search(no_glossary_query).confident


def test_strong_needs_the_strong_threshold(tiny_searcher):
    query = "I hear my own voice back"
    similarity = tiny_searcher.search(query).results[0].similarity
    assert with_ranking(tiny_searcher, confidence_threshold=0.0,
                        strong_threshold=similarity - 0.01).search(query).match == "strong"
    assert with_ranking(tiny_searcher, confidence_threshold=0.0,
                        strong_threshold=similarity + 0.01).search(query).match == "fair"


def test_clarify_offers_each_close_problems_best_article(tiny_searcher):
    searcher = with_ranking(tiny_searcher, confidence_threshold=0.0, clarify_gap=10.0)
    response = searcher.search("echo black screen join fails", top_k=10)
    problems = [h.problem for h in response.clarify]
    assert len(problems) == len(set(problems)) >= 2
    assert len(problems) <= searcher.ranking.clarify_choices
    for hit in response.clarify:
        assert hit == next(h for h in response.results if h.problem == hit.problem)


def test_clarify_keeps_the_first_article_of_a_problem(tiny_searcher):
    first = Hit("a", "A", "echo", ("general",), "en", "P1", 0.9, "", "")
    later = dataclasses.replace(first, id="b", score=0.85)
    other = dataclasses.replace(first, id="c", problem="noise", score=0.8)
    searcher = with_ranking(tiny_searcher, clarify_gap=0.5)
    assert searcher._clarify((first, later, other)) == (first, other)


def test_no_clarify_when_the_others_are_far_behind(tiny_searcher):
    searcher = with_ranking(tiny_searcher, confidence_threshold=0.0, clarify_gap=0.0)
    assert searcher.search("I hear my own voice back").clarify == ()


def test_clarify_choices_caps_the_question(tiny_searcher):
    searcher = with_ranking(tiny_searcher, confidence_threshold=0.0, clarify_gap=10.0,
                            clarify_choices=2)
    assert len(searcher.search("echo black screen join fails").clarify) == 2


def test_ties_break_by_article_id_and_exact_codes_go_first():
    tied = [f"article-{n:02d}" for n in range(30)]
    ids = ["top", *reversed(tied), "last"]
    scores = np.array([0.9, *[0.5] * len(tied), 0.1])
    rank = alphabetical_rank(ids)

    def order(exact=(), keep=None) -> list[str]:
        mask = np.array([a in exact for a in ids])
        return [ids[i] for i in order_articles(scores, mask, rank, keep)]

    assert order() == ["top", *tied, "last"]
    assert order(exact={"last"}) == ["last", "top", *tied]
    keep = np.array([a != "top" for a in ids])
    assert order(keep=keep) == [*tied, "last"]


def test_concept_weight_multiplies_glossary_concepts_in_the_keyword_query(tiny_searcher):
    glossary = tiny_searcher.index.glossary
    plain = tokens("echo camera", glossary)
    concepts = [t for t in plain if t.startswith(CONCEPT_PREFIX)]
    assert concepts
    for weight in (1, 2, 3):
        query = keyword_query("echo camera", glossary, weight)
        assert query.count(concepts[0]) == weight * plain.count(concepts[0])
        assert len(query) == len(plain) + (weight - 1) * len(concepts)


def test_concept_weight_raises_the_keyword_score_of_the_concepts_article(tiny_searcher):
    query = clean_query("echo camera")
    once = with_ranking(tiny_searcher, concept_weight=1)._keyword_leg(query.text)
    thrice = with_ranking(tiny_searcher, concept_weight=3)._keyword_leg(query.text)
    echo = tiny_searcher.article_ids.index("room-echo")
    assert thrice[echo] > once[echo]


def test_the_first_places_hold_one_article_per_problem_and_keep_the_rest_in_order():
    problem_of = {"a1": "echo", "a2": "echo", "a3": "echo", "b1": "noise", "c1": "stutter"}
    order = ["a1", "a2", "a3", "b1", "c1"]
    assert diversify(order, problem_of, top=3, per_problem=1) == ["a1", "b1", "c1", "a2", "a3"]
    assert diversify(order, problem_of, top=3, per_problem=2) == ["a1", "a2", "b1", "a3", "c1"]
    assert diversify(order, problem_of, top=3, per_problem=0) == order
    # Fewer problems than places: the head stays short and nothing is lost.
    assert diversify(["a1", "a2"], problem_of, top=3, per_problem=1) == ["a1", "a2"]
    assert diversify(iter(order), problem_of, top=3, per_problem=1, limit=4) == \
        ["a1", "b1", "c1", "a2"]


def test_an_exact_code_goes_first_and_is_strong(tiny_searcher):
    article = tiny_searcher.version("join-fail", "en")
    code = article.error_codes[0]
    response = tiny_searcher.search(f"I hear an echo and the log says {code}")
    assert response.results[0].id == "join-fail" and response.results[0].exact
    assert response.match == "strong"


# -- the learned ranker ----------------------------------------------------------------------

FACTS = ArticleFacts(article_ids=("a-echo", "b-echo", "c-noise"),
                     problems=("echo", "echo", "noise"),
                     scenarios=(frozenset({"voice-room"}), frozenset({"general"}),
                                frozenset({"one-to-one"})),
                     concepts=(frozenset({"echo"}), frozenset({"echo"}), frozenset({"noise"})))
PROBLEMS = ("echo", "noise")


def feature(matrix: np.ndarray, name: str, legs=("v", "keyword")) -> np.ndarray:
    return matrix[:, feature_names(list(legs)).index(name)]


def test_features_mark_the_named_scenario_and_the_general_article():
    legs = Legs(("v", "keyword"), np.array([[0.9, 0.8, 0.2], [3.0, 1.0, 0.0]]))
    matrix = features(legs, np.array([0.7, 0.3]), QueryFacts(scenarios=frozenset({"voice-room"})),
                      FACTS, PROBLEMS)
    assert feature(matrix, "scenario:named_match").tolist() == [1, 0, 0]
    assert feature(matrix, "scenario:general").tolist() == [0, 1, 0]
    assert feature(matrix, "scenario:named_other").tolist() == [0, 0, 1]


def test_features_carry_the_scenario_classifiers_belief_in_each_articles_scenarios():
    legs = Legs(("v", "keyword"), np.zeros((2, 3)))
    belief = {"voice-room": 0.6, "general": 0.3, "one-to-one": 0.1}
    matrix = features(legs, np.array([0.5, 0.5]), QueryFacts(), FACTS, PROBLEMS,
                      scenario_probs=belief)
    # a-echo is written for voice rooms, b-echo for any app, c-noise for 1v1 calls.
    assert feature(matrix, "scenario:belief").tolist() == pytest.approx([0.6, 0.3, 0.1])
    assert feature(matrix, "scenario:belief_named").tolist() == pytest.approx([0.6, 0.0, 0.1])
    # Without a scenario classifier the columns are empty, not a guess.
    plain = features(legs, np.array([0.5, 0.5]), QueryFacts(), FACTS, PROBLEMS)
    assert not feature(plain, "scenario:belief").any()


def test_scenario_classifier_is_a_softmax_over_the_models_scenarios():
    assert toy_model().scenario_probs({"v": np.array([2.0, 0.0])}) == {}
    model = toy_model(scenarios=("game-voice", "general"),
                      scenario_coef=[[1.0, 0.0], [0.0, 1.0]], scenario_intercept=[0.0, 0.0])
    probs = model.scenario_probs({"v": np.array([2.0, 0.0])})
    assert list(probs) == ["game-voice", "general"]
    assert sum(probs.values()) == pytest.approx(1.0) and probs["game-voice"] > probs["general"]


def test_features_carry_the_classifiers_belief_in_each_articles_problem():
    legs = Legs(("v", "keyword"), np.zeros((2, 3)))
    matrix = features(legs, np.array([0.2, 0.8]), QueryFacts(), FACTS, PROBLEMS)
    assert feature(matrix, "clf:prob").tolist() == pytest.approx([0.2, 0.2, 0.8])
    assert feature(matrix, "clf:top").tolist() == [0, 0, 1]


def test_problem_pool_is_the_mean_of_the_best_three():
    facts = ArticleFacts(article_ids=tuple("abcde"), problems=("echo",) * 4 + ("noise",),
                         scenarios=(frozenset({"general"}),) * 5, concepts=(frozenset(),) * 5)
    legs = Legs(("v", "keyword"), np.array([[0.9, 0.8, 0.7, 0.0, 0.6], [0.0] * 5]))
    matrix = features(legs, np.array([0.5, 0.5]), QueryFacts(), facts, PROBLEMS)
    spread = 0.9 - 0.0
    # echo pools (0.9 + 0.8 + 0.7) / 3 = 0.8 (not its lowest three); noise 0.6
    assert feature(matrix, "v:pool_gap").tolist() == pytest.approx(
        [0, 0, 0, 0, (0.6 - 0.8) / spread])


def test_model_confidence_follows_the_thresholds_per_language(tiny_searcher):
    def model(threshold: float, strong: float) -> RankerModel:
        return fake_model(tiny_searcher, thresholds={"en": threshold, "zh": 1.1},
                          strong={"en": strong, "zh": 1.1})

    query = "camera won't turn on"
    assert with_ranking(tiny_searcher, model=model(1.1, 1.1)).search(query).match == "weak"
    assert with_ranking(tiny_searcher, model=model(0.0, 1.1)).search(query).match == "fair"
    assert with_ranking(tiny_searcher, model=model(0.0, 0.0)).search(query).match == "strong"
    assert with_ranking(tiny_searcher, model=model(0.0, 0.0)).search("摄像头打不开").match == \
        "weak"


def test_match_follows_the_confidence_model_not_the_top_score(tiny_searcher):
    def model(intercept: float) -> RankerModel:
        # A confidence model that ignores its features: P(right) = sigmoid(intercept).
        n = len(CONFIDENCE_FEATURES)
        return fake_model(tiny_searcher, thresholds={"en": 0.5, "zh": 0.5},
                          strong={"en": 0.99, "zh": 0.99}, confidence_coef=[0.0] * n,
                          confidence_intercept=intercept, confidence_mean=[0.0] * n,
                          confidence_scale=[1.0] * n)

    query = "camera won't turn on"
    assert with_ranking(tiny_searcher, model=model(-3.0)).search(query).match == "weak"
    assert with_ranking(tiny_searcher, model=model(1.0)).search(query).match == "fair"
    assert with_ranking(tiny_searcher, model=model(6.0)).search(query).match == "strong"


def confidence_row(scores, probs=(0.6, 0.3, 0.1), lexical=(0.2, 0.7, 0.1), lang="en"):
    legs = Legs(("v", "keyword"), np.array([[0.9, 0.8, 0.2], [3.0, 1.0, -np.inf]]))
    row = confidence_features(np.array(scores), FACTS.problem_index(PROBLEMS), PROBLEMS,
                              np.array(probs),
                              np.array(lexical), legs, lang, 40)
    return dict(zip(CONFIDENCE_FEATURES, row, strict=True))


def test_confidence_features_judge_the_best_articles_problem():
    row = confidence_row([0.2, 0.5, 0.3])  # b-echo is best: the answer is echo
    assert row["top"] == pytest.approx(0.5) and row["other"] == pytest.approx(0.3)
    assert row["share"] == pytest.approx(0.7)  # echo's articles hold 0.7 of 1.0
    assert row["clf:answer"] == pytest.approx(0.6) and row["clf:agrees"] == 1
    assert row["lex:answer"] == pytest.approx(0.2) and row["lex:agrees"] == 0
    assert row["clf:none"] == pytest.approx(0.1) and row["lex:max"] == pytest.approx(0.7)
    assert row["vector:best"] == pytest.approx(0.9)
    assert row["keyword:best"] == pytest.approx(np.log1p(3.0))
    assert row["lang:zh"] == 0 and confidence_row([0.2, 0.5, 0.3], lang="zh")["lang:zh"] == 1


def test_confidence_features_ignore_filtered_articles():
    row = confidence_row([-1.0, 0.4, 0.1])  # a-echo filtered out (score -1)
    assert row["top"] == pytest.approx(0.4) and row["share"] == pytest.approx(0.8)


def test_confidence_features_measure_how_spread_each_belief_is():
    peaked = confidence_row([0.2, 0.5, 0.3], probs=(0.9, 0.05, 0.05))
    flat = confidence_row([0.2, 0.5, 0.3], probs=(0.34, 0.33, 0.33))
    assert peaked["clf:entropy"] < flat["clf:entropy"] <= np.log(3) + 1e-9
    assert peaked["clf:margin"] == pytest.approx(0.85) and flat["clf:margin"] == pytest.approx(0.01)
    assert peaked["lex:margin"] == pytest.approx(0.5)  # 0.7 - 0.2
    # The best article per problem: echo 0.5 (b-echo), the other problem 0.3.
    assert peaked["problems:margin"] == pytest.approx(0.2)
    close = confidence_row([0.2, 0.5, 0.45])
    assert close["problems:entropy"] > peaked["problems:entropy"]


def test_confidence_rises_with_a_positively_weighted_feature():
    n = len(CONFIDENCE_FEATURES)
    coef = [0.0] * n
    coef[CONFIDENCE_FEATURES.index("share")] = 2.0
    model = toy_model(confidence_coef=coef, confidence_intercept=0.0,
                      confidence_mean=[0.0] * n, confidence_scale=[1.0] * n)
    low = model.confidence(np.array(list(confidence_row([0.2, 0.2, 0.6]).values())))
    high = model.confidence(np.array(list(confidence_row([0.3, 0.6, 0.1]).values())))
    assert 0 < low < high < 1
    # Without a confidence model the top article's probability is the confidence.
    assert toy_model().confidence(np.array([0.42] + [0.0] * (n - 1))) == pytest.approx(0.42)


def test_leg_features_rank_gap_and_problem_pool():
    legs = Legs(("v", "keyword"), np.array([[0.9, 0.5, 0.7], [0.0, 0.0, 0.0]]))
    matrix = features(legs, np.array([0.5, 0.5]), QueryFacts(), FACTS, PROBLEMS)
    assert feature(matrix, "v:rrank").tolist() == pytest.approx([1, 1 / 3, 1 / 2])
    assert feature(matrix, "v:gap")[0] == 0 and feature(matrix, "v:gap")[1] < 0
    # echo pools (0.9 + 0.5) / 2 = 0.7, noise 0.7: equal strength, zero gap for both
    assert feature(matrix, "v:pool_gap").tolist() == pytest.approx([0, 0, 0])


def test_filtered_articles_get_the_lowest_leg_score():
    legs = Legs(("v", "keyword"), np.array([[0.9, -np.inf, 0.7], [1.0, -np.inf, 0.5]]))
    matrix = features(legs, np.array([0.5, 0.5]), QueryFacts(), FACTS, PROBLEMS)
    assert np.isfinite(matrix).all()
    assert feature(matrix, "v:score")[1] == 0


def test_concept_overlap_and_exact_code_features():
    legs = Legs(("v", "keyword"), np.zeros((2, 3)))
    query = QueryFacts(concepts=frozenset({"echo", "howl"}), exact=frozenset({"c-noise"}))
    matrix = features(legs, np.array([0.5, 0.5]), query, FACTS, PROBLEMS)
    assert feature(matrix, "concept:overlap").tolist() == [0.5, 0.5, 0]
    assert feature(matrix, "exact").tolist() == [0, 0, 1]


def toy_model(**changes) -> RankerModel:
    names = feature_names(["v", "keyword"])
    coef = [0.0] * len(names)
    coef[names.index("clf:prob")] = 5.0
    base = dict(encoders=("v",), fingerprints={}, problems=PROBLEMS,
                classifier_coef=[[1.0, 0.0], [0.0, 1.0]], classifier_intercept=[0.0, 0.0],
                legs=("v", "keyword"), ranker_coef=coef, ranker_intercept=-2.0,
                lexical_coef=[[0.0] * 8, [0.0] * 8], lexical_intercept=[0.0, 0.0],
                lexical_idf=[1.0] * 8,
                feature_mean=[0.0] * len(names), feature_scale=[1.0] * len(names),
                thresholds={"en": 0.5, "zh": 0.5}, strong={"en": 0.9, "zh": 0.9})
    classes = len(changes.get("problems", PROBLEMS))
    base.update(lexical_coef=[[0.0] * 8] * classes, lexical_intercept=[0.0] * classes)
    return RankerModel(**{**base, **changes})


def fake_model(searcher: Searcher, **changes) -> RankerModel:
    """A toy model for the tiny index's `fake` encoder, its classifier indifferent."""
    dim = searcher.encoders["fake"].dim
    problems = tuple(sorted(set(searcher.facts.problems)))
    return toy_model(**{"encoders": ("fake",), "legs": ("fake", "keyword"),
                        "problems": problems,
                        "classifier_coef": [[0.0] * dim] * len(problems),
                        "classifier_intercept": [0.0] * len(problems), **changes})


def saved_toy_model(settings, tmp_path, fingerprint: str) -> Searcher:
    """A searcher over the tiny index with a toy model trained for `fingerprint`."""
    build_index(settings, load_corpus(settings.articles_dir))
    path = tmp_path / "model.json"
    toy_model(encoders=("fake",), legs=("fake", "keyword"),
              fingerprints={"fake": fingerprint}).save(path)
    return Searcher.load(dataclasses.replace(settings, model=str(path)))


def test_classifier_is_a_softmax_over_problems_and_a_prior_shifts_it():
    model = toy_model()
    probs = model.problem_probs({"v": np.array([2.0, 0.0])})
    assert probs.sum() == pytest.approx(1.0) and probs[0] > probs[1]
    shifted = model.problem_probs({"v": np.array([2.0, 0.0])}, prior={"noise": 20.0})
    assert shifted[1] > shifted[0]


def test_the_neighbour_vote_weighs_the_nearest_texts_by_weight_and_similarity():
    # Texts 0 and 1 are the two nearest; text 2 (also class 1) is beyond the count.
    vote = neighbour_vote(np.array([0.9, 0.8, 0.1]), np.array([0, 1, 1]),
                          np.array([1.0, 2.0, 1.0]), classes=3, count=2, temperature=0.1)
    near, nearer = 1.0, 2.0 * np.exp(-1.0)
    assert vote[0] == pytest.approx([near / (near + nearer), nearer / (near + nearer), 0.0])


def test_a_model_blends_its_neighbour_vote_into_the_classifier(tmp_path):
    vote = NeighbourVote.of(np.array([[0.0, 1.0], [0.1, 0.9]]), np.array([1, 1]),
                            np.array([1.0, 1.0]), count=2, temperature=0.1, share=0.25)
    alone = toy_model().problem_probs({"v": np.array([2.0, 0.0])})
    blended = toy_model(neighbours=vote).problem_probs({"v": np.array([2.0, 0.0])})
    # Both training texts are class 1: the vote is all class 1, a quarter of the blend.
    assert blended == pytest.approx(0.75 * alone + 0.25 * np.array([0.0, 1.0]))
    path = tmp_path / "model.json"
    toy_model(neighbours=vote).save(path)
    assert RankerModel.load(path) == toy_model(neighbours=vote)
    assert RankerModel.load(path).neighbours.matrix == pytest.approx(
        np.array([[0.0, 1.0], [0.1, 0.9]]), abs=0.005)


def test_a_model_whose_neighbour_vote_is_cut_short_is_a_clear_error(tmp_path):
    vote = NeighbourVote.of(np.eye(2), np.array([0, 1]), np.ones(2), 2, 0.1, 0.5)
    path = tmp_path / "model.json"
    toy_model(neighbours=dataclasses.replace(vote, vectors=vote.vectors[:-4])).save(path)
    with pytest.raises(ConfigError, match="model.json: unreadable ranker model"):
        RankerModel.load(path)


def test_ranker_score_is_monotone_in_a_positive_feature():
    model = toy_model()
    matrix = np.zeros((2, len(feature_names(["v", "keyword"]))))
    matrix[0, feature_names(["v", "keyword"]).index("clf:prob")] = 0.9
    low, high = model.score(matrix)[::-1]
    assert 0 < low < high < 1


def test_lexical_vector_is_a_unit_tf_idf_of_hashed_tokens():
    idf = np.ones(64)
    index, values = lexical_vector(["echo", "echo", "howl"], idf)
    assert len(index) == 2 and np.linalg.norm(values) == pytest.approx(1.0)
    echo = values[list(index).index(zlib.crc32(b"echo") % 64)]
    howl = values[list(index).index(zlib.crc32(b"howl") % 64)]
    assert echo == pytest.approx((1 + np.log(2)) * howl)
    assert lexical_vector([], idf)[0].size == 0


def test_lexical_classifier_reads_the_tokens():
    coef = np.zeros((2, 8))
    coef[1, zlib.crc32(b"hiss") % 8] = 5.0
    model = toy_model(lexical_coef=coef.tolist())
    assert model.lexical_probs(["hiss"]).argmax() == 1
    other = next(t for t in ("quiet", "loud", "soft", "tiny")
                 if zlib.crc32(t.encode()) % 8 != zlib.crc32(b"hiss") % 8)
    assert model.lexical_probs([other]).tolist() == pytest.approx([0.5, 0.5])


def test_model_round_trips_through_json(tmp_path):
    model = toy_model()
    model.save(tmp_path / "m.json")
    assert RankerModel.load(tmp_path / "m.json") == model


def test_threshold_is_the_lowest_score_keeping_the_precision():
    scored = [(0.9, True)] * 9 + [(0.8, False)] + [(0.7, True)] * 10 + [(0.6, False)] * 5
    assert _threshold(scored, 0.9) == 0.7
    assert _threshold(scored, 0.99) == 1.0


# -- query understanding ----------------------------------------------------------------------


@pytest.mark.parametrize("text, scenario", [
    ("echo in our voice room", "voice-room"), ("语聊房里有回声", "voice-room"),
    ("1v1 call has no sound", "one-to-one"), ("PK 的时候卡顿", "live-show"),
    ("开黑的时候听不到队友", "game-voice"), ("the AI agent keeps talking", "conversational-ai"),
])
def test_tickets_name_their_scenario(text, scenario):
    assert scenario in scenarios_named(text.lower())


def test_pk_is_a_word_not_a_substring():
    assert "live-show" not in scenarios_named("unpacked the apk")


def test_focus_drops_template_logs_and_versions():
    ticket = ("Remote video freezes every few seconds\n### Steps to reproduce\n1. join\n"
              "### Expected behavior\nsmooth\n```\n2024-01-01 12:00:01 E/Codec: fail\n```\n"
              "SDK version: 4.2.1\n")
    text = focus(ticket)
    assert text.startswith("Remote video freezes every few seconds")
    assert "Steps to reproduce" not in text and "E/Codec" not in text and "4.2.1" not in text


def test_long_tickets_keep_the_whole_text_for_codes():
    ticket = "video is black\n" + "padding line with words\n" * 60 + "error code 110\n"
    query = clean_query(ticket)
    assert len(query.text) == 500 and "shortened" in query.notes
    assert "110" in query.ticket and query.focused.startswith("video is black")


def test_qualified_codes_match_in_full_or_by_qualifier_and_number(tiny_articles):
    corpus = load_corpus(tiny_articles)
    matcher = CodeMatcher([dataclasses.replace(corpus.articles[0], id="x",
                                               error_codes=("Agora 110", "TURN 401"))])
    assert matcher("agora: join failed with 110") == {"x"}
    assert matcher("TURN 401 in the log") == {"x"}
    assert matcher("HTTP 401 from our own server") == set()


def test_a_code_shared_by_three_articles_is_not_exact(tiny_articles):
    base = load_corpus(tiny_articles).articles[0]
    matcher = CodeMatcher([dataclasses.replace(base, id=i, error_codes=("E_SHARED",))
                           for i in "abc"])
    assert matcher("E_SHARED") == set()


def test_ranker_model_ranks_by_its_probability(tiny_settings):
    """With a model, the order follows the model's score, not fusion."""
    build_index(tiny_settings, load_corpus(tiny_settings.articles_dir))
    searcher = Searcher.load(tiny_settings)
    names = feature_names(["fake", "keyword"])
    coef = [0.0] * len(names)
    coef[names.index("scenario:general")] = -5.0  # prefer non-general articles
    model = fake_model(searcher, ranker_coef=coef)
    ranked = with_ranking(searcher, model=model).search("camera won't turn on").results
    assert ranked[0].id == "room-echo"  # the only article not in `general`


def test_a_model_for_another_encoder_falls_back_to_fusion_and_says_why(tiny_settings, tmp_path):
    searcher = saved_toy_model(tiny_settings, tmp_path, "hashing/dim128")
    assert searcher.ranking.model is None
    assert "run `kb train`" in searcher.ranking.fallback
    assert searcher.search("camera won't turn on").results[0].id == "black-screen"


def test_a_matching_model_is_loaded(tiny_settings, tmp_path):
    searcher = saved_toy_model(tiny_settings, tmp_path, "hashing/dim256")
    assert searcher.ranking.model is not None and not searcher.ranking.fallback



def test_with_a_model_clarify_asks_when_another_problem_keeps_a_share_of_the_top(tiny_searcher):
    top = Hit("a", "A", "echo", ("general",), "en", "P1", 0.8, "", "")
    close = dataclasses.replace(top, id="c", problem="noise", score=0.5)
    far = dataclasses.replace(close, score=0.3)
    searcher = with_ranking(tiny_searcher, model=toy_model(clarify_ratio=0.5))
    assert searcher._clarify((top, close)) == (top, close)
    assert searcher._clarify((top, far)) == ()
