"""Fit the learned ranking (`kb train`): a problem classifier and a per-article ranker.

Training data: the `train` split of eval/real.jsonl (real users' words, weighted up), the `dev`
split of eval/queries.jsonl, and the articles' own titles and symptoms (classifier only: their
text is also indexed, so their retriever scores would be flattering). The `test` split and the
authored `heldout` split are never read here.

Classifier probabilities used as ranker features are out-of-fold (grouped by source thread), so
the ranker learns how far to trust the classifier on texts it has not seen; the confidence
thresholds come from out-of-fold ranker probabilities on the real train texts, per language.
Deterministic: fixed seed and fold assignment.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.content.taxonomy import PROBLEMS, SCENARIOS
from kb.retrieval.encoders import Encoder
from kb.retrieval.evaluate import EvalQuery, read_out_of_scope, read_queries
from kb.retrieval.query import clean_query
from kb.retrieval.ranker import (
    CONFIDENCE_FEATURES,
    LEXICAL_BUCKETS,
    NeighbourVote,
    QueryFacts,
    RankerModel,
    blend,
    confidence_features,
    feature_names,
    features,
    lexical_vector,
    neighbour_vote,
)
from kb.retrieval.search import Legs, Searcher, diversify, order_articles
from kb.retrieval.text import tokens

SEED = 20261130
FOLDS = 5


@dataclass(frozen=True)
class TrainConfig:
    """The fitting choices, as data (chosen by out-of-fold figures on train, never on test)."""

    real_weight: float = 6.0
    """Real users' words count this many times an authored query or a symptom."""
    classifier_c: float = 64.0
    neighbour_share: float = 0.3
    """Share of the nearest-training-texts vote in the classifier's probabilities (0: off)."""
    neighbour_count: int = 20
    neighbour_temperature: float = 0.1
    lexical_c: float = 16.0
    """Regularisation of the classifier over hashed keyword tokens."""
    scenario_classifier: bool = True
    """Fit a classifier of the text's scenario for the ranker (False: the ranker knows only
    the scenarios a text names, kept for the ablation)."""
    scenario_c: float = 16.0
    """Regularisation of the classifier of the text's scenario (over the query vectors)."""
    ranker_c: float = 0.1
    other_scenario_share: float = 0.5
    """An article of the text's problem written for another scenario counts as this share of a
    positive when fitting the ranker (the rest as a negative): the problem is right, the
    scenario is not. 0 makes it a plain negative (the earlier rule)."""
    target_precision: float = 0.91
    """Right-when-confident aimed for on out-of-fold train texts (the goal on test is 0.90)."""
    strong_precision: float = 0.97
    out_of_scope_rate: float = 0.05
    """At most this share of out-of-scope train texts may clear the confidence threshold."""
    confidence_model: bool = True
    """Fit a model of P(the answer's problem is right); False: the top article's probability
    is the confidence (the earlier rule, kept for the ablation)."""
    confidence_c: float = 0.1
    """Regularisation of the confidence model (P(the answer's problem is right))."""
    confidence_oos_weight: float = 6.0
    """An out-of-scope text counts this many times a real one when fitting the confidence
    model: they are few, and a confident answer to one is the costlier mistake."""


REAL_GROUP = "real:"
OUT_OF_SCOPE = "none"
"""The label of texts no article answers (out-of-scope questions)."""


@dataclass(frozen=True)
class TrainingText:
    """One labelled text."""

    text: str
    problem: str
    scenario: str
    lang: str
    weight: float
    group: str
    """Texts sharing a group (a source thread) always fall in the same fold."""
    ranks: bool
    """Used to fit the ranker (real and authored queries), not only the classifier."""


def read_training_files(real: Path, authored: Path,
                        out_of_scope: Path | None) -> dict[str, Any]:
    """`kb train`'s and `kb tune`'s data files, read before any index or model loads so a wrong
    path fails at once: the keyword arguments of `training_texts` except the searcher."""
    real_texts = read_queries(Path(real))
    return {"real": real_texts, "authored": read_queries(Path(authored)),
            "sources": [q.source for q in real_texts],
            "out_of_scope": read_out_of_scope(Path(out_of_scope)) if out_of_scope else []}


def training_texts(real: Sequence[EvalQuery], authored: Sequence[EvalQuery],
                   searcher: Searcher, sources: Sequence[str] = (),
                   config: TrainConfig = TrainConfig(),
                   out_of_scope: Sequence[tuple[str, str, str, str]] = ()) -> list[TrainingText]:
    """The training set: real `train` texts, authored `dev` queries, article symptoms, and
    the `train` part of real out-of-scope texts."""
    out = []
    for text, lang, source, split in out_of_scope:
        if split == "train":
            out.append(TrainingText(text, OUT_OF_SCOPE, "general", lang, 1.0,
                                    f"{OUT_OF_SCOPE}:{source}", True))
    for i, q in enumerate(real):
        if q.split == "train":
            out.append(TrainingText(q.q, q.problem, q.scenario, q.lang, config.real_weight,
                                    REAL_GROUP + (sources[i] if i < len(sources) else str(i)),
                                    True))
    for i, q in enumerate(authored):
        if q.split == "dev":
            out.append(TrainingText(q.q, q.problem, q.scenario, q.lang, 1.0, f"authored{i}",
                                    True))
    for (article_id, lang), article in sorted(searcher.index.articles.items()):
        for phrase in (article.title, *article.symptoms):
            out.append(TrainingText(phrase, article.problem, article.scenarios[0], lang, 1.0,
                                    f"article:{article_id}", False))
    return out


def _kind(text: TrainingText) -> str:
    """`real`, `none` (out of scope), `authored` or `article`: where a text came from."""
    return text.group.split(":", 1)[0] if ":" in text.group else "authored"


def _fold(group: str) -> int:
    return int(hashlib.sha256(f"{SEED}:{group}".encode()).hexdigest(), 16) % FOLDS


def fold_of(text: TrainingText) -> int:
    """The text's cross-validation fold; -1 for the articles' own phrases, which are in every
    fold's training and never held out."""
    return _fold(text.group) if text.ranks else -1


def relevant(searcher: Searcher, problem: str, scenario: str) -> np.ndarray:
    """Which articles answer a text: its problem, in its scenario when there is such an article,
    else the general one, else any article of the problem."""
    facts = searcher.facts
    same = np.array([p == problem for p in facts.problems])
    if not same.any():  # out of scope: no article answers it
        return same
    here = same & np.array([scenario in s for s in facts.scenarios])
    if scenario != "general" and here.any():
        return here
    general = same & np.array(["general" in s for s in facts.scenarios])
    return general if general.any() else same


@dataclass(frozen=True)
class Prepared:
    """Everything the fitting needs, computed once per text."""

    texts: list[TrainingText]
    vectors: list[dict[str, np.ndarray]]
    legs: list[Legs]
    facts: list[QueryFacts]
    tokens: list[list[str]]
    """Keyword tokens of what the retrievers read, for the lexical classifier."""
    retrieval: list[str]
    """What the retrievers read of each text (its length is a confidence feature)."""


def prepare(searcher: Searcher, texts: Sequence[TrainingText],
            progress: Callable[[str], None] = lambda m: None,
            held_out: Mapping[int, Mapping[str, Encoder]] | None = None) -> Prepared:
    """Query vectors, retriever scores and query facts of every text.

    `held_out`: fold → encoders (by name) tuned without that fold's texts (`kb tune`); a text
    of the fold is embedded by them, so its vector is what search would make of unseen words."""
    vectors, legs, facts, words, read = [], [], [], [], []
    every = set(searcher.article_ids)
    held_out = held_out or {}
    for n, item in enumerate(texts):
        query = clean_query(item.text)
        text = searcher.retrieval_text(query)
        read.append(text)
        v = searcher.query_vectors(text, held_out.get(fold_of(item)))
        vectors.append(v)
        words.append(tokens(text, searcher.index.glossary))
        legs.append(searcher.legs(query, v) if item.ranks else Legs((), np.zeros((0, 0))))
        facts.append(searcher.query_facts(query, every) if item.ranks else QueryFacts())
        if n % 500 == 0:
            progress(f"prepared {n}/{len(texts)} texts")
    return Prepared(list(texts), vectors, legs, facts, words, read)


def _lexical_matrix(docs: Sequence[list[str]], idf: np.ndarray) -> Any:
    from scipy import sparse

    rows, cols, values = [], [], []
    for row, doc in enumerate(docs):
        index, weights = lexical_vector(doc, idf)
        rows += [row] * len(index)
        cols += index.tolist()
        values += weights.tolist()
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(docs), len(idf)))


def _idf(docs: Sequence[list[str]]) -> np.ndarray:
    """Smoothed inverse document frequency per bucket (as scikit-learn's TF-IDF)."""
    df = np.zeros(LEXICAL_BUCKETS)
    for doc in docs:
        df[list({zlib.crc32(t.encode("utf-8")) % LEXICAL_BUCKETS for t in doc})] += 1
    return np.log((1 + len(docs)) / (1 + df)) + 1


def _classifier(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000, random_state=SEED)
    model.fit(x, y, sample_weight=w)
    return model


def _scenario_classifier(x: np.ndarray, y: np.ndarray, w: np.ndarray, rows: np.ndarray,
                         config: TrainConfig) -> Any:
    """The scenario classifier fitted on `rows`; None when it is off or they hold a single
    scenario."""
    if not config.scenario_classifier or len(np.unique(y[rows])) < 2:
        return None
    return _classifier(x[rows], y[rows], w[rows], config.scenario_c)


def _full_probs(model: Any, x: np.ndarray, classes: int) -> np.ndarray:
    """Probabilities over all problem indices, even those missing from a fold."""
    out = np.zeros((x.shape[0], classes))
    out[:, model.classes_] = model.predict_proba(x)
    return out


def fit(searcher: Searcher, data: Prepared,
        progress: Callable[[str], None] = lambda m: None,
        config: TrainConfig = TrainConfig()) -> tuple[RankerModel, dict[str, Any]]:
    """Fit classifier and ranker; returns the model and out-of-fold figures on train."""
    from sklearn.linear_model import LogisticRegression

    problems = tuple(PROBLEMS)
    classes = (*problems, OUT_OF_SCOPE)
    encoders = tuple(searcher.encoders)
    x = np.array([np.concatenate([v[e] for e in encoders]) for v in data.vectors])
    y = np.array([classes.index(t.problem) for t in data.texts])
    w = np.array([t.weight for t in data.texts])
    folds = np.array([fold_of(t) for t in data.texts])
    ranks = np.array([t.ranks for t in data.texts])

    progress("classifiers: out-of-fold probabilities")
    idf = _idf(data.tokens)
    lexical_x = _lexical_matrix(data.tokens, idf)
    oof = np.zeros((len(x), len(classes)))
    oof_lexical = np.zeros((len(x), len(classes)))
    for f in range(FOLDS):
        train, test = folds != f, folds == f
        model = _classifier(x[train], y[train], w[train], config.classifier_c)
        oof[test] = _blend(_full_probs(model, x[test], len(classes)),
                           x[test] @ x[train].T, y[train], w[train], config)
        model = _classifier(lexical_x[train], y[train], w[train], config.lexical_c)
        oof_lexical[test] = _full_probs(model, lexical_x[test], len(classes))
    classifier = _classifier(x, y, w, config.classifier_c)
    lexical = _classifier(lexical_x, y, w, config.lexical_c)

    # Which scenario a text is from (a game mod, a voice-agent framework...), learned from the
    # in-scope texts: the ranker weighs it against each article's scenarios.
    scenarios = tuple(SCENARIOS)
    in_scope = np.array([_kind(t) != OUT_OF_SCOPE for t in data.texts])
    scenario_y = np.array([scenarios.index(t.scenario) for t in data.texts])
    oof_scenario = np.zeros((len(x), len(scenarios)))
    for f in range(FOLDS):
        fitted = _scenario_classifier(x, scenario_y, w, (folds != f) & in_scope, config)
        if fitted is not None:
            oof_scenario[folds == f] = _full_probs(fitted, x[folds == f], len(scenarios))
    scenario_model = _scenario_classifier(x, scenario_y, w, in_scope, config)

    progress("ranker: features")
    leg_names = next(leg.names for leg, t in zip(data.legs, data.texts, strict=True) if t.ranks)
    rows, labels, same, weights, owner = [], [], [], [], []
    article_problems = np.array(searcher.facts.problems)
    for i in np.flatnonzero(ranks):
        t = data.texts[i]
        matrix = features(data.legs[i], oof[i], data.facts[i], searcher.facts, problems,
                          oof_lexical[i], dict(zip(scenarios, oof_scenario[i], strict=True)))
        rows.append(matrix)
        labels.append(relevant(searcher, t.problem, t.scenario))
        same.append(article_problems == t.problem)
        weights.append(np.full(len(matrix), t.weight))
        owner.append(np.full(len(matrix), i))
    matrix = np.vstack(rows)
    relevant_of = dict(zip(np.flatnonzero(ranks), labels, strict=True))
    label = np.concatenate(labels).astype(int)
    fit_row, fit_label, fit_weight = soft_labels(label, np.concatenate(same),
                                                 np.concatenate(weights),
                                                 config.other_scenario_share)
    owner_of = np.concatenate(owner)
    mean = matrix.mean(axis=0)
    scale = np.maximum(matrix.std(axis=0), 1e-6)
    z = (matrix - mean) / scale

    def ranker(rows_mask: np.ndarray) -> Any:
        model = LogisticRegression(C=config.ranker_c, max_iter=3000, random_state=SEED)
        use = rows_mask[fit_row]
        model.fit(z[fit_row[use]], fit_label[use], sample_weight=fit_weight[use])
        return model

    progress("ranker: out-of-fold probabilities")
    row_fold = folds[owner_of]
    oof_score = np.zeros(len(z))
    for f in range(FOLDS):
        model = ranker(row_fold != f)
        oof_score[row_fold == f] = model.predict_proba(z[row_fold == f])[:, 1]
    final = ranker(np.ones(len(z), dtype=bool))

    progress("confidence: out-of-fold probabilities")
    # The confidence model learns, from real and out-of-scope texts, when the answer's problem
    # is right; it reads out-of-fold ranker and classifier outputs, as search will see unseen
    # texts. Its own out-of-fold probabilities set the thresholds.
    judged = [i for i in np.flatnonzero(ranks) if _kind(data.texts[i]) in ("real", OUT_OF_SCOPE)]
    scores_of = {i: oof_score[owner_of == i] for i in judged}
    problem_index = searcher.facts.problem_index(problems)
    conf_x = np.array([confidence_features(
        scores_of[i], problem_index, problems, oof[i], oof_lexical[i],
        data.legs[i], data.texts[i].lang, len(data.retrieval[i])) for i in judged])
    conf_y = np.array([searcher.facts.problems[int(np.argmax(scores_of[i]))]
                       == data.texts[i].problem for i in judged]).astype(int)
    conf_w = np.array([config.confidence_oos_weight if _kind(data.texts[i]) == OUT_OF_SCOPE
                       else 1.0 for i in judged])
    conf_mean = conf_x.mean(axis=0)
    conf_scale = np.maximum(conf_x.std(axis=0), 1e-6)
    conf_z = (conf_x - conf_mean) / conf_scale
    conf_folds = folds[judged]

    def confidence_model(rows_mask: np.ndarray) -> Any:
        model = LogisticRegression(C=config.confidence_c, max_iter=3000, random_state=SEED)
        model.fit(conf_z[rows_mask], conf_y[rows_mask], sample_weight=conf_w[rows_mask])
        return model

    confidence = None
    if config.confidence_model:
        oof_conf = np.zeros(len(judged))
        for f in range(FOLDS):
            oof_conf[conf_folds == f] = confidence_model(conf_folds != f).predict_proba(
                conf_z[conf_folds == f])[:, 1]
        confidence = confidence_model(np.ones(len(judged), dtype=bool))
    else:
        oof_conf = conf_x[:, CONFIDENCE_FEATURES.index("top")]

    # Calibrate on real texts only: that is what the thresholds are for. An answer must be
    # right often enough on in-scope texts, and out-of-scope texts must rarely clear the bar.
    per_text = [(data.texts[i].lang, _kind(data.texts[i]), float(c), bool(ok))
                for i, c, ok in zip(judged, oof_conf, conf_y, strict=True)]
    none_scores = sorted((s for _, kind, s, _ in per_text if kind == OUT_OF_SCOPE),
                         reverse=True)
    allowed = int(len(none_scores) * config.out_of_scope_rate)
    floor = none_scores[allowed] + 1e-4 if len(none_scores) > allowed else 0.0
    thresholds, strong, report = {}, {}, {}
    for lang in ("en", "zh"):
        mine = [(s, ok) for lg, kind, s, ok in per_text if lg == lang and kind == "real"]
        thresholds[lang] = round(max(_threshold(mine, config.target_precision), floor), 4)
        strong[lang] = max(_threshold(mine, config.strong_precision), thresholds[lang])
        answered = [ok for s, ok in mine if s >= thresholds[lang]]
        real = [i for i in judged if data.texts[i].lang == lang and _kind(data.texts[i]) == "real"]
        hit3 = {per_problem: float(np.mean([_hit3(searcher, scores_of[i],
                                                  data.texts[i].problem, per_problem)
                                            for i in real])) if real else 0.0
                for per_problem in (0, 1)}
        scenario_hit1 = [relevant_of[i][int(np.argmax(scores_of[i]))] for i in real]
        report[lang] = {"n": len(mine),
                        "oof_hit1": float(np.mean([ok for _, ok in mine])) if mine else 0.0,
                        "oof_scenario_hit1": float(np.mean(scenario_hit1)) if real else 0.0,
                        "oof_hit3": hit3[0], "oof_hit3_three_problems": hit3[1],
                        "oof_confident": len(answered) / max(len(mine), 1),
                        "oof_right_when_confident": float(np.mean(answered)) if answered else 0.0,
                        "threshold": thresholds[lang]}
    report["out_of_scope"] = {"n": len(none_scores), "floor": round(floor, 4)}

    model = RankerModel(
        encoders=encoders,
        fingerprints={name: e.fingerprint for name, e in searcher.encoders.items()},
        problems=problems,
        classifier_coef=np.round(classifier_coef(classifier, len(classes)), 6).tolist(),
        classifier_intercept=np.round(classifier_intercept(classifier, len(classes)),
                                      6).tolist(),
        lexical_coef=np.round(classifier_coef(lexical, len(classes)), 4).tolist(),
        lexical_intercept=np.round(classifier_intercept(lexical, len(classes)), 4).tolist(),
        lexical_idf=np.round(idf, 4).tolist(),
        legs=leg_names,
        ranker_coef=np.round(final.coef_[0], 6).tolist(),
        ranker_intercept=round(float(final.intercept_[0]), 6),
        feature_mean=np.round(mean, 6).tolist(),
        feature_scale=np.round(scale, 6).tolist(),
        thresholds=thresholds, strong=strong,
        **({"confidence_coef": np.round(confidence.coef_[0], 6).tolist(),
            "confidence_intercept": round(float(confidence.intercept_[0]), 6),
            "confidence_mean": np.round(conf_mean, 6).tolist(),
            "confidence_scale": np.round(conf_scale, 6).tolist()}
           if confidence is not None else {}),
        **({"scenarios": scenarios,
            "scenario_coef": np.round(classifier_coef(scenario_model, len(scenarios)),
                                      6).tolist(),
            "scenario_intercept": np.round(classifier_intercept(scenario_model, len(scenarios)),
                                           6).tolist()}
           if scenario_model is not None else {}),
        neighbours=NeighbourVote.of(x, y, w, config.neighbour_count,
                                    config.neighbour_temperature, config.neighbour_share)
        if config.neighbour_share > 0 else None,
        trained_on={"seed": SEED, "texts": int(ranks.sum()),
                    "classifier_texts": len(data.texts),
                    "real_train": int(sum(t.group.startswith(REAL_GROUP) for t in data.texts)),
                    "config": asdict(config),
                    "features": feature_names(leg_names)},
    )
    return model, report


def _blend(probs: np.ndarray, similarities: np.ndarray, labels: np.ndarray,
           weights: np.ndarray, config: TrainConfig) -> np.ndarray:
    """The classifier's probabilities blended with the vote of the nearest training texts, as
    `RankerModel.problem_probs` does at search time."""
    if config.neighbour_share <= 0:
        return probs
    vote = neighbour_vote(similarities, labels, weights, probs.shape[1], config.neighbour_count,
                          config.neighbour_temperature)
    return blend(probs, vote, config.neighbour_share)


def soft_labels(label: np.ndarray, same_problem: np.ndarray, weight: np.ndarray,
                share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ranker's fitting rows as (row index, label, weight): a row of the right problem but
    not the right article appears twice, as a positive weighted `share` and as a negative
    weighted `1 - share` (a soft label for a logistic regression). Zero weights are dropped."""
    partly = same_problem & (label == 0)
    index = np.concatenate([np.arange(len(label)), np.flatnonzero(partly)])
    labels = np.concatenate([label, np.ones(int(partly.sum()), dtype=label.dtype)])
    weights = np.concatenate([np.where(partly, weight * (1 - share), weight),
                              weight[partly] * share])
    keep = weights > 0
    return index[keep], labels[keep], weights[keep]


def _hit3(searcher: Searcher, scores: np.ndarray, problem: str, per_problem: int) -> bool:
    """Is the text's problem in the first three results (search's order, with at most
    `per_problem` articles of one problem there; 0: no limit)?"""
    ids, problems = searcher.article_ids, searcher.facts.problems
    positions = order_articles(scores, np.zeros(len(ids), dtype=bool), searcher.tie_rank)
    problem_of = dict(zip(ids, problems, strict=True))
    order = diversify((ids[i] for i in positions), problem_of, 3, per_problem, limit=3)
    return problem in {problem_of[a] for a in order}


def classifier_coef(model: Any, classes: int) -> np.ndarray:
    """(all problems, dim) weights; a class absent from training gets a large negative bias."""
    out = np.zeros((classes, model.coef_.shape[1]))
    out[model.classes_] = model.coef_
    return out


def classifier_intercept(model: Any, classes: int) -> np.ndarray:
    out = np.full(classes, -30.0)
    out[model.classes_] = model.intercept_
    return out


def _threshold(scored: Sequence[tuple[float, bool]], precision: float) -> float:
    """The lowest score from which the answers above it are right at least `precision` of the
    time (1.0, i.e. never confident, when no such score exists)."""
    ordered = sorted(scored, key=lambda item: -item[0])
    right = 0
    best = 1.0
    for n, (score, ok) in enumerate(ordered, start=1):
        right += ok
        last_of_tie = n == len(ordered) or ordered[n][0] < score
        if last_of_tie and right / n >= precision and n >= 10:
            best = score
    return round(float(best), 4)
