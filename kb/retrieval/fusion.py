"""Reciprocal-rank fusion of retrievers' article rankings, and problem-level pooling.

Pure functions over `Ranking`s, so each retriever's own scores stay visible on the hits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RRF_K = 5
"""Damps the gap between neighbouring ranks; 5 beat the customary 60 on eval/ (BENCHMARKS.md)."""
POOL_TOP = 3
"""A problem's strength in a ranking: the mean of its best this-many articles' scores."""


@dataclass(frozen=True)
class Ranking:
    """One retriever's view: each article's score (higher is better)."""

    name: str
    """Retriever name (an encoder spec, `keyword`, or `<name>:problem` when pooled)."""
    scores: dict[str, float]
    """Article id → the retriever's own score."""

    def ranks(self) -> dict[str, int]:
        """Dense 1-based ranks: equal scores share a rank."""
        distinct = sorted(set(self.scores.values()), reverse=True)
        position = {score: rank for rank, score in enumerate(distinct, start=1)}
        return {article: position[score] for article, score in self.scores.items()}


def pool_by_problem(ranking: Ranking, problem_of: Mapping[str, str],
                    top: int = POOL_TOP) -> Ranking:
    """Score each article by how strongly the ranking points to its problem.

    Articles on one problem in different scenarios share its vocabulary (echo, howling, AEC)
    while articles of one scenario share theirs (mic seat, host); pooling per problem lets the
    problem evidence outvote scenario words that happen to match.
    """
    by_problem: dict[str, list[float]] = {}
    for article, score in ranking.scores.items():
        by_problem.setdefault(problem_of[article], []).append(score)
    strength = {p: sum(sorted(s, reverse=True)[:top]) / min(top, len(s))
                for p, s in by_problem.items()}
    return Ranking(f"{ranking.name}:problem",
                   {article: strength[problem_of[article]] for article in ranking.scores})


def fuse(rankings: Sequence[Ranking], k: int = RRF_K,
         weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """Weighted RRF, scaled so an article ranked first by every ranking scores 1.0."""
    weights = weights or {}
    total = sum(weights.get(r.name, 1.0) for r in rankings) / (k + 1)
    fused: dict[str, float] = {}
    for ranking in rankings:
        weight = weights.get(ranking.name, 1.0)
        for article_id, rank in ranking.ranks().items():
            fused[article_id] = fused.get(article_id, 0.0) + weight / (k + rank)
    if not total:
        return {}
    return {a: s / total for a, s in sorted(fused.items(), key=lambda item: -item[1])}
