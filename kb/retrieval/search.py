"""Query → ranked `Hit`s, one per article: vector and keyword legs fused, filters first.

Each retriever ranks articles by their best chunk; `fusion.fuse` combines the rankings. An error
code or log signature that an article lists wins outright. Confidence comes from the semantic
similarity of the best chunk, calibrated on the evaluation queries (BENCHMARKS.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kb.content.articles import Article
from kb.content.taxonomy import PLATFORMS, SCENARIOS
from kb.errors import ConfigError
from kb.retrieval.encoders import Encoder, load_encoder
from kb.retrieval.fusion import Ranking, fuse, pool_by_problem
from kb.retrieval.index import HNSW_EF_SEARCH, Index, load_index
from kb.retrieval.text import CONCEPT_PREFIX, concepts_in, has_han, normalise, tokens
from kb.settings import Settings

MAX_QUERY_CHARS = 500
CHUNK_CANDIDATES = 200
"""Chunks each retriever hands to fusion, after filtering."""
CONCEPT_QUERY_WEIGHT = 3
"""How many times a glossary concept found in the query counts in the keyword leg."""
CLARIFY_GAP = 0.08
"""Fused-score gap within which an answer on another problem is about as likely (BENCHMARKS.md)."""
CLARIFY_CHOICES = 3

@dataclass(frozen=True)
class Hit:
    """One article in a ranking, shown in the display language."""

    id: str
    """Article id (shared by its translations)."""
    title: str
    problem: str
    scenarios: tuple[str, ...]
    lang: str
    """Language of the version shown."""
    severity: str
    score: float
    """Fused rank score, 1.0 when every retriever ranked it first."""
    fix: str
    """The Fix section as Markdown."""
    path: str
    similarity: float = 0.0
    """Cosine similarity of the article's best chunk to the query (best over encoders)."""
    leg_scores: dict[str, float] = field(default_factory=dict)
    """Each retriever's own best-chunk score, to explain the ranking."""
    exact: bool = False
    """An error code or log signature from the article's `error_codes` is in the query."""

    CONTRACT = ("id", "title", "problem", "scenarios", "lang", "severity", "score", "fix", "path")

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form used by `kb search --json` and evaluation tools."""
        data = {name: getattr(self, name) for name in self.CONTRACT}
        data["scenarios"] = list(self.scenarios)
        data["score"] = round(self.score, 4)
        return data


@dataclass(frozen=True)
class SearchResponse:
    """The answer to one query."""

    query: str
    """The query as searched (cleaned, possibly shortened)."""
    confident: bool
    """False when no article matched well enough to present its fix as the answer."""
    results: tuple[Hit, ...]
    """Best first, one per article."""
    lang: str
    """Display language of the results."""
    notes: tuple[str, ...] = ()
    """Keys of what was done to the query: `controls_removed`, `shortened`, `empty`
    (sentences for them live in `kb.service.messages`)."""
    clarify: tuple[Hit, ...] = ()
    """When the best answers point to different problems with close scores: one per problem."""

    def to_json(self) -> dict[str, Any]:
        """`{"query", "confident", "results": [...]}`, plus `notes` when there are any."""
        data: dict[str, Any] = {"query": self.query, "confident": self.confident,
                                "results": [hit.to_json() for hit in self.results]}
        if self.notes:
            data["notes"] = list(self.notes)
        return data


@dataclass(frozen=True)
class CleanQuery:
    """A query made safe to search."""

    text: str
    notes: tuple[str, ...]
    lang: str
    """`zh` when the query contains Chinese characters, else `en`."""


def clean_query(raw: str) -> CleanQuery:
    """Drop control characters, collapse whitespace, cap the length, detect the language."""
    notes = []
    without_controls = "".join(
        " " if unicodedata.category(ch)[0] == "C" and ch not in "\t\n\r" else ch for ch in raw)
    if without_controls != raw:
        notes.append("controls_removed")
    text = " ".join(without_controls.split())
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append("shortened")
    return CleanQuery(text, tuple(notes), "zh" if has_han(text) else "en")


class CodeMatcher:
    """Finds the articles whose error codes or log signatures appear in a query."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self._ids: dict[str, set[str]] = {}
        for article in articles:
            for code in article.error_codes:
                needle = normalise(code).strip()
                if len(needle) >= 3:
                    self._ids.setdefault(needle, set()).add(article.id)
        codes = sorted(self._ids, key=len, reverse=True)
        # Whole-token match, so code `401` does not fire inside `14015`.
        self._pattern = re.compile(
            r"(?<![\w.])(" + "|".join(map(re.escape, codes)) + r")(?!\w)") if codes else None

    def __call__(self, query: str) -> set[str]:
        if self._pattern is None:
            return set()
        found: set[str] = set()
        for match in self._pattern.finditer(normalise(query)):
            found |= self._ids[match.group(1)]
        return found


class Searcher:
    """A loaded index with its encoders: the one search implementation for the CLI and app."""

    def __init__(self, index: Index, encoders: dict[str, Encoder], settings: Settings) -> None:
        self.index = index
        self.encoders = encoders
        self.settings = settings
        self._by_id: dict[str, dict[str, Article]] = {}
        for (article_id, lang), article in index.articles.items():
            self._by_id.setdefault(article_id, {})[lang] = article
        self._problem_of = {a: next(iter(v.values())).problem for a, v in self._by_id.items()}
        self._codes = CodeMatcher(index.articles.values())

    @classmethod
    def load(cls, settings: Settings) -> Searcher:
        """Load the index and its encoders (each once per process)."""
        index = load_index(settings)
        encoders = {info.name: load_encoder(info.name, settings.threads)
                    for info in index.manifest.encoders}
        return cls(index, encoders, settings)

    def warm_up(self) -> None:
        """Run one English and one Chinese search so the first real one is not slowed by
        lazy initialisation (jieba's dictionary, BLAS buffers)."""
        self.search("echo")
        self.search("回声")

    def version(self, article_id: str, lang: str) -> Article:
        """The article in `lang`, or its other language when that is all there is."""
        versions = self._by_id[article_id]
        return versions.get(lang) or next(iter(versions.values()))

    def allowed_ids(self, scenario: str | None, platform: str | None) -> list[str]:
        """Article ids passing the filters; `general` articles apply to every scenario."""
        allowed = []
        for article_id, versions in self._by_id.items():
            article = next(iter(versions.values()))
            if scenario and scenario not in article.scenarios and \
                    "general" not in article.scenarios:
                continue
            if platform and platform not in article.platforms:
                continue
            allowed.append(article_id)
        return allowed

    def search(self, raw_query: str, *, top_k: int = 5, scenario: str | None = None,
               platform: str | None = None, lang: str | None = None) -> SearchResponse:
        """Rank articles for a query; `lang` picks the display language (default: the query's)."""
        if scenario and scenario not in SCENARIOS:
            raise ConfigError(f"unknown scenario `{scenario}`; expected one of: "
                              + ", ".join(SCENARIOS))
        if platform and platform not in PLATFORMS:
            raise ConfigError(f"unknown platform `{platform}`; expected one of: "
                              + ", ".join(PLATFORMS))
        if lang and lang not in ("en", "zh"):
            raise ConfigError(f"unknown language `{lang}`; expected en or zh")
        if top_k < 1:
            raise ConfigError("--top-k must be at least 1")
        query = clean_query(raw_query)
        display = lang or query.lang
        if not query.text:
            return SearchResponse("", False, (), display, query.notes + ("empty",))

        rows: np.ndarray | None = None
        allowed_set = set(self._by_id)
        if scenario or platform:
            allowed_set = set(self.allowed_ids(scenario, platform))
            positions = [self.index.article_position[a] for a in allowed_set]
            rows = np.flatnonzero(np.isin(self.index.chunk_article, positions))
        rankings: list[Ranking] = []
        similarity: dict[str, float] = {}
        for name, encoder in self.encoders.items():
            if encoder.languages is not None and query.lang not in encoder.languages:
                continue
            ranking = self._vector_ranking(name, encoder, query.text, rows)
            rankings.append(ranking)
            for article_id, score in ranking.scores.items():
                similarity[article_id] = max(score, similarity.get(article_id, -1.0))
        rankings.append(self._keyword_ranking(query.text, rows))

        fused = fuse(rankings + [pool_by_problem(r, self._problem_of) for r in rankings])
        exact = self._codes(query.text) & allowed_set
        order = sorted(exact | (fused.keys() & allowed_set),
                       key=lambda a: (a not in exact, -fused.get(a, 0.0), a))
        hits = tuple(self._hit(a, display, fused.get(a, 0.0), similarity.get(a, 0.0), rankings,
                               a in exact) for a in order[:top_k])
        confident = bool(hits) and self._confident(hits[0], query.text)
        return SearchResponse(query.text, confident, hits, display, query.notes,
                              self._clarify(hits) if confident and not hits[0].exact else ())

    def _confident(self, top: Hit, text: str) -> bool:
        """Exact code, strong similarity, or fair similarity backed by domain vocabulary."""
        if top.exact or top.similarity >= self.settings.confidence_threshold:
            return True
        return (top.similarity >= self.settings.supported_threshold
                and bool(concepts_in(normalise(text), self.index.glossary)))

    def _vector_ranking(self, name: str, encoder: Encoder, text: str,
                        rows: np.ndarray | None) -> Ranking:
        import faiss

        vector_index = self.index.vectors[name]
        query_vector = encoder.encode([text])
        limit = len(self.index.chunks) if rows is None else len(rows)
        k = min(CHUNK_CANDIDATES, limit)
        if k == 0:
            return Ranking(name, {})
        params = None
        if rows is not None:
            # Filter inside the search, before candidates are cut to k.
            selector = faiss.IDSelectorBatch(rows.astype(np.int64))
            # Search parameters replace the index's own efSearch, so pass it again.
            params = (faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
                      if isinstance(vector_index, faiss.IndexHNSW)
                      else faiss.SearchParameters(sel=selector))
        scores, found = vector_index.search(query_vector, k, params=params)
        return self._best_per_article(name, found[0], scores[0])

    def _keyword_ranking(self, text: str, rows: np.ndarray | None) -> Ranking:
        query_tokens = tokens(text, self.index.glossary)
        # Concept tokens name the problem in the glossary's words; weigh them above the
        # incidental words of a ticket (device, region, app type).
        query_tokens += [t for t in query_tokens if t.startswith(CONCEPT_PREFIX)] * (
            CONCEPT_QUERY_WEIGHT - 1)
        scores = np.asarray(self.index.keyword.get_scores(query_tokens), dtype=np.float32) \
            if query_tokens else np.zeros(len(self.index.chunks), dtype=np.float32)
        if rows is not None:
            mask = np.zeros_like(scores)
            mask[rows] = 1.0
            scores = scores * mask
        k = min(CHUNK_CANDIDATES, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
        top = top[scores[top] > 0]
        top = top[np.argsort(-scores[top], kind="stable")]
        return self._best_per_article("keyword", top, scores[top])

    def _best_per_article(self, name: str, rows: np.ndarray, scores: np.ndarray) -> Ranking:
        best: dict[str, float] = {}
        for row, score in zip(rows, scores, strict=True):
            if row < 0:  # FAISS pads with -1 when fewer than k vectors pass the filter
                continue
            article_id = self.index.chunks[int(row)].article_id
            best.setdefault(article_id, float(score))  # rows arrive best first
        return Ranking(name, best)

    def _hit(self, article_id: str, lang: str, score: float, similarity: float,
             rankings: list[Ranking], exact: bool) -> Hit:
        article = self.version(article_id, lang)
        fix = article.section("fix")
        return Hit(
            id=article.id, title=article.title, problem=article.problem,
            scenarios=article.scenarios, lang=article.lang, severity=article.severity,
            score=score, fix=fix.markdown if fix else "", path=article.path,
            similarity=similarity,
            leg_scores={r.name: round(r.scores[article_id], 4) for r in rankings
                        if article_id in r.scores},
            exact=exact,
        )

    def _clarify(self, hits: tuple[Hit, ...]) -> tuple[Hit, ...]:
        """The best hit of each problem scoring close to the top answer, when there are two+."""
        choices: dict[str, Hit] = {}
        for hit in hits:
            if hits[0].score - hit.score <= CLARIFY_GAP and hit.problem not in choices:
                choices[hit.problem] = hit
        choices = dict(list(choices.items())[:CLARIFY_CHOICES])
        return tuple(choices.values()) if len(choices) > 1 else ()
