"""The learned ranking: a problem classifier and a per-article ranker, as plain arrays.

Pure numpy, no scikit-learn at search time: `kb train` (kb/retrieval/train.py) fits both with
scikit-learn and stores their coefficients as JSON; here they are applied. Features are computed
for every article at once (one row per article), so a query costs a few small matrix products.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ConfigError

MODEL_FORMAT = 4
LEXICAL_BUCKETS = 8192
"""Hashed keyword-token features of the lexical classifier (crc32 of the token, modulo)."""


def lexical_vector(tokens: Sequence[str], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sparse TF-IDF of hashed tokens: (bucket indices, L2-normalised values)."""
    counts: dict[int, int] = {}
    for token in tokens:
        bucket = zlib.crc32(token.encode("utf-8")) % len(idf)
        counts[bucket] = counts.get(bucket, 0) + 1
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    index = np.fromiter(counts, dtype=np.int64, count=len(counts))
    values = (1.0 + np.log(np.fromiter(counts.values(), dtype=float))) * idf[index]
    norm = np.linalg.norm(values)
    return index, values / norm if norm else values


def _softmax(logits: np.ndarray) -> np.ndarray:
    probs = np.exp(logits - logits.max())
    return probs / probs.sum()


@dataclass(frozen=True)
class Legs:
    """Each retriever's best-chunk score for every article (columns follow `article_ids`)."""

    names: tuple[str, ...]
    """Retriever names: encoder names, then `keyword`."""
    scores: np.ndarray
    """(legs, articles) scores; `-inf` where the article is filtered out."""


@dataclass(frozen=True)
class QueryFacts:
    """What the query itself says, beyond the retrievers' scores."""

    scenarios: frozenset[str] = frozenset()
    """Scenario keys the query names ("voice room", "语聊房", "1v1", "PK" ...)."""
    concepts: frozenset[str] = frozenset()
    """Glossary concepts the query names."""
    exact: frozenset[str] = frozenset()
    """Article ids whose error code or log signature the ticket contains."""


@dataclass(frozen=True)
class ArticleFacts:
    """Per-article facts the features compare the query with, aligned with `article_ids`."""

    article_ids: tuple[str, ...]
    problems: tuple[str, ...]
    scenarios: tuple[frozenset[str], ...]
    concepts: tuple[frozenset[str], ...]
    """Glossary concepts named in the article's title and symptoms."""

    # Membership masks, built once per index: the features of a query are then array
    # operations, which keeps a 7,000-article corpus at a few milliseconds per query.

    @cached_property
    def _scenario_masks(self) -> dict[str, np.ndarray]:
        return _masks(self.scenarios)

    @cached_property
    def _concept_masks(self) -> dict[str, np.ndarray]:
        return _masks(self.concepts)

    @cached_property
    def _position(self) -> dict[str, int]:
        return {article_id: i for i, article_id in enumerate(self.article_ids)}

    @cached_property
    def _problem_indexes(self) -> dict[tuple[str, ...], np.ndarray]:
        return {}

    def in_scenario(self, scenario: str) -> np.ndarray:
        """Which articles list `scenario`."""
        return self._scenario_masks.get(scenario, np.zeros(len(self.article_ids), dtype=bool))

    def with_concept(self, concept: str) -> np.ndarray:
        """Which articles name `concept`."""
        return self._concept_masks.get(concept, np.zeros(len(self.article_ids), dtype=bool))

    def among(self, article_ids: Iterable[str]) -> np.ndarray:
        """Which articles are among `article_ids`."""
        mask = np.zeros(len(self.article_ids), dtype=bool)
        mask[[self._position[a] for a in article_ids if a in self._position]] = True
        return mask

    def problem_index(self, problem_keys: Sequence[str]) -> np.ndarray:
        """Each article's problem as a position in `problem_keys`."""
        key = tuple(problem_keys)
        if key not in self._problem_indexes:
            index_of = {p: i for i, p in enumerate(key)}
            self._problem_indexes[key] = np.array([index_of[p] for p in self.problems])
        return self._problem_indexes[key]


def _masks(sets: Sequence[frozenset[str]]) -> dict[str, np.ndarray]:
    keys = sorted(set().union(*sets)) if sets else []
    return {key: np.fromiter((key in s for s in sets), dtype=bool, count=len(sets))
            for key in keys}


def feature_names(legs: Sequence[str]) -> list[str]:
    """Column names of `features`, in order."""
    names = []
    for leg in legs:
        names += [f"{leg}:score", f"{leg}:gap", f"{leg}:rrank", f"{leg}:pool_gap", f"{leg}:raw",
                  f"{leg}:best"]
    names += ["clf:prob", "clf:logprob", "clf:top", "clf:none", "lex:prob", "lex:logprob",
              "lex:top", "lex:none", "scenario:named_match",
              "scenario:general", "scenario:named_other", "scenario:belief",
              "scenario:belief_named", "concept:overlap", "exact"]
    return names


def _leg_features(scores: np.ndarray, problem_index: np.ndarray, problems: int) -> np.ndarray:
    finite = np.isfinite(scores)
    if not finite.any():
        return np.zeros((len(scores), 6))
    low = scores[finite].min()
    filled = np.where(finite, scores, low)
    best = filled.max()
    spread = max(best - low, 1e-6)
    order = np.argsort(-filled, kind="stable")
    rank = np.empty(len(scores))
    rank[order] = np.arange(1, len(scores) + 1)
    # A problem's strength: the mean of its best three articles (several scenarios share a
    # problem's vocabulary; pooling lets that evidence outvote incidental scenario words).
    pooled = np.full(problems, low)
    for p in range(problems):
        mine = np.sort(filled[problem_index == p])[::-1][:3]
        if len(mine):
            pooled[p] = mine.mean()
    pool = pooled[problem_index]
    # Raw scores too: how similar the best chunk is at all, which tells an out-of-scope
    # question (everything far) from a close call (everything near).
    return np.stack([(filled - low) / spread, (filled - best) / spread, 1.0 / rank,
                     (pool - pool.max()) / spread, filled, np.full(len(scores), best)], axis=1)


def features(legs: Legs, problem_probs: np.ndarray, query: QueryFacts,
             articles: ArticleFacts, problem_keys: Sequence[str],
             lexical_probs: np.ndarray | None = None,
             scenario_probs: Mapping[str, float] | None = None) -> np.ndarray:
    """(articles, features) matrix for one query; columns as in `feature_names(legs.names)`.

    `problem_probs` come from the classifier over the query vectors, `lexical_probs` from the
    one over its keyword tokens (uniform when absent), `scenario_probs` from the scenario
    classifier (P(scenario | query); none when absent): an article's belief is the summed
    probability of the scenarios it is written for, with and without `general`."""
    problem_index = articles.problem_index(problem_keys)
    blocks = [_leg_features(row, problem_index, len(problem_keys)) for row in legs.scores]
    # A last class beyond the problems is "none of them": the classifier's out-of-scope belief.
    none = float(problem_probs[len(problem_keys)]) if len(problem_probs) > len(problem_keys) \
        else 0.0
    problem_probs = problem_probs[:len(problem_keys)]
    prob = problem_probs[problem_index]
    if lexical_probs is None:
        lexical_probs = np.full(len(problem_keys) + 1, 1.0 / (len(problem_keys) + 1))
    lex_none = float(lexical_probs[len(problem_keys)]) if len(lexical_probs) > len(
        problem_keys) else 0.0
    lexical_probs = lexical_probs[:len(problem_keys)]
    lex = lexical_probs[problem_index]
    count = len(articles.article_ids)
    named_match = np.zeros(count, dtype=bool)
    for scenario in query.scenarios - {"general"}:
        named_match |= articles.in_scenario(scenario)
    general = articles.in_scenario("general")
    named_other = ~named_match & ~general if query.scenarios - {"general"} else \
        np.zeros(count, dtype=bool)
    belief = np.zeros(count)
    belief_named = np.zeros(count)
    for scenario, p in (scenario_probs or {}).items():
        written_for = articles.in_scenario(scenario)
        belief += p * written_for
        if scenario != "general":
            belief_named += p * written_for
    overlap = np.zeros(count)
    for concept in query.concepts:
        overlap += articles.with_concept(concept)
    extra = np.column_stack([
        prob, np.log(prob + 1e-6), prob >= problem_probs.max(), np.full(count, none),
        lex, np.log(lex + 1e-6), lex >= lexical_probs.max(), np.full(count, lex_none),
        named_match, general, named_other, belief, belief_named,
        overlap / max(len(query.concepts), 1),
        articles.among(query.exact)]).astype(float)
    return np.hstack([*blocks, extra])


CONFIDENCE_FEATURES = ("top", "log_top", "other", "log_ratio", "share", "clf:answer", "clf:max",
                       "clf:none", "clf:agrees", "lex:answer", "lex:max", "lex:none",
                       "lex:agrees", "vector:best", "keyword:best", "lang:zh", "log_length",
                       "clf:entropy", "clf:margin", "lex:entropy", "lex:margin",
                       "problems:entropy", "problems:margin")
"""What the confidence model reads about one ranking (see `confidence_features`)."""


def confidence_features(scores: np.ndarray, problem_index: np.ndarray,
                        problem_keys: Sequence[str], problem_probs: np.ndarray,
                        lexical_probs: np.ndarray, legs: Legs, lang: str,
                        length: int) -> np.ndarray:
    """One row describing how sure a ranking is of its answer's problem.

    `scores`: the ranker's probability per article (filtered articles below 0);
    `problem_index`: each article's problem as a position in `problem_keys`. The answer is the
    best article's problem. Besides the top probability: the best article of any other
    problem, the answer problem's share of all probability, whether both classifiers agree and
    what they give to "none of them", how close the best chunk is at all, language and length;
    and how spread out each belief is (entropy, and the gap between its two largest values) —
    of both classifiers and of the best article per problem.
    """
    scores = np.clip(scores, 0.0, None)
    k = int(problem_index[int(np.argmax(scores))])
    top = float(scores.max())
    others = scores[problem_index != k]
    other = float(others.max()) if len(others) else 0.0
    share = float(scores[problem_index == k].sum() / max(scores.sum(), 1e-9))
    n = len(problem_keys)

    def belief(probs: np.ndarray) -> list[float]:
        none = float(probs[n]) if len(probs) > n else 0.0
        return [float(probs[k]), float(probs[:n].max()), none,
                float(int(np.argmax(probs[:n])) == k)]

    vector_rows = [row for name, row in zip(legs.names, legs.scores, strict=True)
                   if name != "keyword"]
    keyword_rows = [row for name, row in zip(legs.names, legs.scores, strict=True)
                    if name == "keyword"]

    def best(rows: list[np.ndarray]) -> float:
        finite = [row[np.isfinite(row)] for row in rows]
        return max((float(r.max()) for r in finite if len(r)), default=0.0)

    per_problem = np.zeros(n)
    np.maximum.at(per_problem, problem_index, scores)
    return np.array([top, np.log(top + 1e-6), other, np.log((top + 1e-6) / (other + 1e-6)),
                     share, *belief(problem_probs), *belief(lexical_probs),
                     best(vector_rows), np.log1p(max(best(keyword_rows), 0.0)),
                     float(lang == "zh"), np.log(length + 1), *_spread(problem_probs),
                     *_spread(lexical_probs), *_spread(per_problem + 1e-9)])


def _spread(values: np.ndarray) -> tuple[float, float]:
    """Entropy of `values` as a distribution, and the gap between its two largest values."""
    values = np.asarray(values, dtype=float)
    p = np.clip(values, 1e-9, None)
    p = p / p.sum()
    top_two = np.sort(values)[::-1][:2]
    gap = float(top_two[0] - top_two[1]) if len(top_two) > 1 else float(top_two[0])
    return float(-(p * np.log(p)).sum()), gap


def neighbour_vote(similarities: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                   classes: int, count: int, temperature: float) -> np.ndarray:
    """(queries, classes) votes of each query's `count` most similar training texts: a text's
    vote is its weight times exp((its similarity - the best one's) / temperature), summed per
    label and normalised. `similarities`: (queries, training texts)."""
    sims = np.atleast_2d(similarities)
    k = min(count, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    near = np.take_along_axis(sims, top, axis=1)
    votes = np.exp((near - near.max(axis=1, keepdims=True)) / temperature) * weights[top]
    out = np.zeros((len(sims), classes))
    np.add.at(out, (np.repeat(np.arange(len(sims)), k), labels[top].ravel()), votes.ravel())
    return out / np.maximum(out.sum(axis=1, keepdims=True), 1e-12)


def blend(probs: np.ndarray, vote: np.ndarray, share: float) -> np.ndarray:
    """The classifier's probabilities with `share` of them given to the neighbour vote."""
    return (1 - share) * probs + share * vote


@dataclass(frozen=True)
class NeighbourVote:
    """The training texts' query vectors, their labels and weights: a nearest-neighbour vote
    that `RankerModel.problem_probs` blends into the classifier's probabilities."""

    vectors: str
    """Base64 of the (texts, dim) int8 matrix; row i times `scales[i]` is text i's vector."""
    scales: list[float]
    labels: list[int]
    """Class index (as the classifier's) of each text."""
    weights: list[float]
    count: int
    temperature: float
    share: float
    """The vote's share of the blended probabilities (the classifier has the rest)."""

    @staticmethod
    def of(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, count: int,
           temperature: float, share: float) -> NeighbourVote:
        """Quantise `vectors` to int8, one scale per row (cosines move by < 0.005)."""
        scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127.0
        quantised = np.round(vectors / scales[:, None]).astype(np.int8)
        return NeighbourVote(base64.b64encode(quantised.tobytes()).decode("ascii"),
                             scales.astype(np.float32).tolist(), [int(v) for v in labels],
                             np.round(weights, 4).tolist(), count, temperature, share)

    @cached_property
    def matrix(self) -> np.ndarray:
        raw = np.frombuffer(base64.b64decode(self.vectors), dtype=np.int8)
        rows = raw.reshape(len(self.scales), -1).astype(np.float32)
        return rows * np.asarray(self.scales, dtype=np.float32)[:, None]

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        # Converted once: the JSON lists would otherwise become arrays on every query.
        return np.asarray(self.labels), np.asarray(self.weights)

    def probs(self, vector: np.ndarray, classes: int) -> np.ndarray:
        """The vote over `classes` for one query vector."""
        labels, weights = self._arrays
        return neighbour_vote(self.matrix @ vector.astype(np.float32), labels, weights,
                              classes, self.count, self.temperature)[0]


@dataclass(frozen=True)
class RankerModel:
    """Fitted coefficients and the calibration that goes with them."""

    encoders: tuple[str, ...]
    """Encoder names whose query vectors the classifier reads, concatenated in this order."""
    fingerprints: dict[str, str]
    """Encoder name → model fingerprint it was trained with."""
    problems: tuple[str, ...]
    """Problem keys, in the classifier's class order."""
    classifier_coef: list[list[float]]
    """(classes, sum of encoder dims) multinomial logistic-regression weights; classes are the
    problems, plus a last "none of them" class when out-of-scope texts were trained on."""
    classifier_intercept: list[float]
    legs: tuple[str, ...]
    """Leg names the ranker's features were computed from."""
    ranker_coef: list[float]
    """Weights over standardised features."""
    ranker_intercept: float
    feature_mean: list[float]
    feature_scale: list[float]
    lexical_coef: list[list[float]]
    """(classes, LEXICAL_BUCKETS) weights of the classifier over hashed keyword tokens."""
    lexical_intercept: list[float]
    lexical_idf: list[float]
    """Inverse document frequency per bucket, from the training texts."""
    thresholds: dict[str, float]
    """Language → the confidence (probability that the answer's problem is right) from which
    an answer is confident."""
    strong: dict[str, float]
    """Language → confidence from which the match is called strong."""
    clarify_ratio: float = 0.3
    """Another problem whose best article has at least this share of the top article's
    probability is worth asking about (the ranker's probabilities are peaked, so a ratio)."""
    confidence_coef: list[float] = field(default_factory=list)
    """Logistic-regression weights over standardised `CONFIDENCE_FEATURES`: P(the answer's
    problem is right). Empty: the top article's probability is the confidence."""
    confidence_intercept: float = 0.0
    confidence_mean: list[float] = field(default_factory=list)
    confidence_scale: list[float] = field(default_factory=list)
    scenarios: tuple[str, ...] = ()
    """Scenario keys, in the scenario classifier's class order (empty: no scenario classifier)."""
    scenario_coef: list[list[float]] = field(default_factory=list)
    """(scenarios, sum of encoder dims) weights of the classifier of the text's scenario."""
    scenario_intercept: list[float] = field(default_factory=list)
    neighbours: NeighbourVote | None = None
    """A vote of the nearest training texts, blended into `problem_probs` (None: the
    classifier alone)."""
    trained_on: dict[str, Any] = field(default_factory=dict)
    """Counts and seed, for the record."""
    format: int = MODEL_FORMAT

    def problem_probs(self, query_vectors: Mapping[str, np.ndarray],
                      prior: Mapping[str, float] | None = None) -> np.ndarray:
        """P(class | query) from the concatenated query vectors (problems, then "none" when the
        model has it), blended with the neighbour vote when the model has one; the problems
        reweighted by an optional prior."""
        vector = self._vector(query_vectors)
        probs = _softmax(self._arrays["coef"] @ vector + self._arrays["intercept"])
        if self.neighbours is not None:
            probs = blend(probs, self.neighbours.probs(vector, len(probs)), self.neighbours.share)
        return self._with_prior(probs, prior)

    def scenario_probs(self, query_vectors: Mapping[str, np.ndarray]) -> dict[str, float]:
        """P(scenario | query) from the concatenated query vectors ({} without a classifier)."""
        if not self.scenarios:
            return {}
        probs = _softmax(self._arrays["scenario"] @ self._vector(query_vectors)
                         + self._arrays["scenario_intercept"])
        return dict(zip(self.scenarios, probs.tolist(), strict=True))

    def _vector(self, query_vectors: Mapping[str, np.ndarray]) -> np.ndarray:
        """The classifiers' input: the query vectors of `encoders`, concatenated in order."""
        return np.concatenate([query_vectors[name] for name in self.encoders])

    def lexical_probs(self, tokens: Sequence[str],
                      prior: Mapping[str, float] | None = None) -> np.ndarray:
        """P(class | query) from its keyword tokens."""
        index, values = lexical_vector(tokens, self._arrays["idf"])
        logits = self._arrays["lexical"][:, index] @ values + self._arrays["lexical_intercept"]
        return self._with_prior(_softmax(logits), prior)

    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        # Converted once: the JSON lists would otherwise become arrays on every query.
        return {"coef": np.asarray(self.classifier_coef),
                "intercept": np.asarray(self.classifier_intercept),
                "lexical": np.asarray(self.lexical_coef),
                "lexical_intercept": np.asarray(self.lexical_intercept),
                "idf": np.asarray(self.lexical_idf),
                "mean": np.asarray(self.feature_mean), "scale": np.asarray(self.feature_scale),
                "ranker": np.asarray(self.ranker_coef),
                "confidence": np.asarray(self.confidence_coef),
                "confidence_mean": np.asarray(self.confidence_mean),
                "confidence_scale": np.asarray(self.confidence_scale),
                "scenario": np.asarray(self.scenario_coef),
                "scenario_intercept": np.asarray(self.scenario_intercept)}

    def _with_prior(self, probs: np.ndarray, prior: Mapping[str, float] | None) -> np.ndarray:
        if prior:
            boost = np.array([1.0 + prior.get(p, 0.0) for p in self.problems]
                             + [1.0] * (len(probs) - len(self.problems)))
            probs = probs * boost / (probs * boost).sum()
        return probs

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """P(relevant) for each article row of a feature matrix."""
        z = (matrix - self._arrays["mean"]) / self._arrays["scale"]
        logits = z @ self._arrays["ranker"] + self.ranker_intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def confidence(self, row: np.ndarray) -> float:
        """P(the answer's problem is right) from a `confidence_features` row."""
        if not self.confidence_coef:
            return float(row[0])
        arrays = self._arrays
        z = (row - arrays["confidence_mean"]) / arrays["confidence_scale"]
        logit = float(z @ arrays["confidence"]) + self.confidence_intercept
        return 1.0 / (1.0 + np.exp(-logit))

    def save(self, path: Path) -> None:
        """Write the model as JSON (no pickle)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        path.write_text(json.dumps(data, separators=(",", ":")) + "\n", "utf-8")

    @staticmethod
    def load(path: Path) -> RankerModel:
        """Read a model file, refusing another format."""
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("format") != MODEL_FORMAT:
                raise ConfigError(f"{path}: ranker model format {data.get('format')}, expected "
                                  f"{MODEL_FORMAT}; run `kb train` to refit it")
            neighbours = data.get("neighbours")
            model = RankerModel(**{**data, "encoders": tuple(data["encoders"]),
                                   "problems": tuple(data["problems"]),
                                   "neighbours": NeighbourVote(**neighbours) if neighbours
                                   else None,
                                   "scenarios": tuple(data.get("scenarios", ())),
                                   "legs": tuple(data["legs"])})
            vote = model.neighbours
            if vote is not None and (vote.matrix.shape[1] != len(model.classifier_coef[0])
                                     or not len(vote.labels) == len(vote.weights)
                                     == len(vote.scales)):
                raise ValueError("the neighbour vote's vectors, labels and weights disagree")
            return model
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"{path}: unreadable ranker model ({exc}); run `kb train`") from exc
