"""Reciprocal-rank fusion of several retrievers' article rankings (a pure function)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

RRF_K = 60
"""The usual RRF constant: damps the gap between neighbouring ranks."""


@dataclass(frozen=True)
class Ranking:
    """One retriever's view: each article's best-chunk score, best first."""

    name: str
    """Retriever name (an encoder spec, or `keyword`)."""
    scores: dict[str, float]
    """Article id → the retriever's own score; insertion order is rank order."""
    sections: dict[str, str] = field(default_factory=dict)
    """Article id → section of the chunk that scored."""


def fuse(rankings: Sequence[Ranking], k: int = RRF_K,
         weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """Weighted RRF, scaled so an article ranked first by every retriever scores 1.0."""
    weights = weights or {}
    total = sum(weights.get(r.name, 1.0) for r in rankings) / (k + 1)
    fused: dict[str, float] = {}
    for ranking in rankings:
        weight = weights.get(ranking.name, 1.0)
        for rank, article_id in enumerate(ranking.scores, start=1):
            fused[article_id] = fused.get(article_id, 0.0) + weight / (k + rank)
    if not total:
        return {}
    return {a: s / total for a, s in sorted(fused.items(), key=lambda item: -item[1])}
