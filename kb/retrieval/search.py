"""Query → ranked `Hit`s, one per article: every retriever scores every article, then either the
learned ranker (when a model fits the index's encoders) or rank fusion orders them.

Retrievers ("legs"): one per encoder (cosine of the best chunk) and the keyword index (BM25 of
the best chunk). The learned path adds a problem classifier over the query vectors and facts
from the query (named scenario, glossary concepts, exact codes), and its probability is the
calibrated confidence. An error code or log signature that an article lists wins outright.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

import numpy as np

from kb.content.articles import Article
from kb.content.glossary import Glossary, normalise
from kb.content.taxonomy import PLATFORMS, SCENARIO_TERMS, SCENARIOS
from kb.errors import ConfigError, IndexMismatchError
from kb.retrieval.encoders import Encoder, load_encoder
from kb.retrieval.fusion import Ranking, fuse, pool_by_problem
from kb.retrieval.index import HNSW_EF_SEARCH, Index, load_index
from kb.retrieval.query import MAX_QUERY_CHARS, CleanQuery, clean_query
from kb.retrieval.ranker import (
    ArticleFacts,
    Legs,
    QueryFacts,
    RankerModel,
    confidence_features,
    features,
)
from kb.retrieval.text import CONCEPT_PREFIX, concepts_in, tokens
from kb.settings import Settings

__all__ = ["MAX_QUERY_CHARS", "CleanQuery", "Hit", "RankingConfig", "SearchResponse",
           "Searcher", "clean_query"]


@dataclass(frozen=True)
class RankingConfig:
    """Every ranking constant, as data: passed to `Searcher`, never patched."""

    rrf_k: int = 5
    """Fusion: damps the gap between neighbouring ranks (5 beat the customary 60 on eval/)."""
    pool_top: int = 3
    """Fusion: a problem's strength is the mean of its best this-many articles."""
    concept_weight: int = 3
    """How many times a glossary concept found in the query counts in the keyword leg."""
    chunk_candidates: int = 200
    """Chunks an approximate (HNSW) vector search hands on per query."""
    clarify_gap: float = 0.08
    """Fusion: another problem within this fused-score gap of the top answer is worth asking."""
    clarify_choices: int = 3
    confidence_threshold: float = 0.50
    """Fusion: best-chunk similarity that makes an answer confident on its own (`use`)."""
    supported_threshold: float = 0.38
    """Fusion: lower similarity that is confident when the query uses glossary vocabulary."""
    strong_threshold: float = 0.60
    """Fusion: similarity from which a confident match is called strong."""
    diverse_top: int = 3
    per_problem_top: int = 1
    """The first `diverse_top` results hold at most this many articles of one problem (0: no
    limit), so a wrong first answer comes with alternatives of other problems."""
    focus: bool = True
    """Retrievers read a long ticket's symptom sentences (`query.focus`), not its first 500
    characters."""
    model: RankerModel | None = None
    """The learned ranker; None ranks by fusion."""
    fallback: str = ""
    """Why a model file that exists is not used (fusion ranks instead), for readiness checks."""


def load_ranking(settings: Settings, index: Index) -> RankingConfig:
    """The ranking for this index: the model file that matches its encoders, else fusion."""
    config = RankingConfig(confidence_threshold=settings.confidence_threshold,
                           supported_threshold=settings.supported_threshold)
    path = settings.model_path
    if path is None or not path.exists():
        return config
    model = RankerModel.load(path)
    built = {info.name: info.fingerprint for info in index.manifest.encoders}
    if {name: built.get(name) for name in model.fingerprints} != model.fingerprints or \
            tuple(built) != model.legs[:-1]:
        # A changed model must not take search down: rank by fusion and say why.
        reason = (f"ranker model {path} was trained for {', '.join(model.fingerprints.values())}"
                  f" but the index has {', '.join(built.values())}: run `kb train`; ranking "
                  "by fusion meanwhile")
        return dataclasses.replace(config, fallback=reason)
    return dataclasses.replace(config, model=model)


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
    """Ranker probability that this is the right article (fusion: rank score, 1.0 when every
    retriever ranked it first)."""
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
    match: str = "weak"
    """`strong`, `fair` (confident) or `weak` (not confident): what an agent is shown."""

    def to_json(self) -> dict[str, Any]:
        """`{"query", "confident", "match", "results": [...]}`, plus `notes` when there are any."""
        data: dict[str, Any] = {"query": self.query, "confident": self.confident,
                                "match": self.match,
                                "results": [hit.to_json() for hit in self.results]}
        if self.notes:
            data["notes"] = list(self.notes)
        return data


class CodeMatcher:
    """Finds the articles whose error codes or log signatures appear in a ticket.

    A qualified code ("TURN 401", "Agora 110") matches when written in full, or when its number
    and its qualifier both appear ("agora join failed, error 110")."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self._ids: dict[str, set[str]] = {}
        self._qualifier: dict[str, set[str]] = {}
        for article in articles:
            for code in article.error_codes:
                needle = normalise(code).strip()
                if len(needle) >= 3:
                    self._ids.setdefault(needle, set()).add(article.id)
                parts = needle.split()
                if len(parts) > 1 and len(parts[-1]) >= 2:
                    self._qualifier.setdefault(parts[-1], set()).add(needle)
        # A code several articles share no longer names one article: keyword evidence only.
        shared = {code for code, ids in self._ids.items() if len(ids) > 2}
        codes = sorted((set(self._ids) - shared) | set(self._qualifier), key=len, reverse=True)
        # Whole-token match, so code `401` does not fire inside `14015`.
        self._pattern = re.compile(
            r"(?<![\w.])(" + "|".join(map(re.escape, codes)) + r")(?![\w])") if codes else None
        self._shared = shared

    def __call__(self, ticket: str) -> set[str]:
        if self._pattern is None:
            return set()
        text = normalise(ticket)
        words = set(re.findall(r"[\w-]+", text))
        found: set[str] = set()
        for match in self._pattern.finditer(text):
            needle = match.group(1)
            if needle in self._ids and needle not in self._shared:
                found |= self._ids[needle]
            for qualified in self._qualifier.get(needle, ()):
                if qualified not in self._shared and set(qualified.split()[:-1]) <= words:
                    found |= self._ids[qualified]
        return found


def alphabetical_rank(article_ids: Sequence[str]) -> np.ndarray:
    """Each article id's place in alphabetical order (the tie-break of `order_articles`)."""
    rank = np.empty(len(article_ids), dtype=np.int64)
    rank[np.argsort(np.array(article_ids, dtype=object), kind="stable")] = \
        np.arange(len(article_ids))
    return rank


def order_articles(scores: np.ndarray, exact: np.ndarray, tie_rank: np.ndarray,
                   keep: np.ndarray | None = None) -> np.ndarray:
    """Positions of the articles to show, best first: exact-code articles (`exact` mask), then
    by score, ties broken by `tie_rank` (stable output); `keep` masks the articles allowed."""
    candidates = np.arange(len(scores)) if keep is None else np.flatnonzero(keep)
    order = np.lexsort((tie_rank[candidates], -scores[candidates], ~exact[candidates]))
    return candidates[order]


def diversify(order: Iterable[str], problem_of: Mapping[str, str], top: int,
              per_problem: int, limit: int | None = None) -> list[str]:
    """The first `top` places hold at most `per_problem` articles of one problem (the next
    best of another problem moves up); the order is otherwise kept. When the first answer is
    the wrong problem, the alternatives shown beside it should not be its scenario twins.
    Reads `order` only as far as it must: the first `limit` articles are returned."""
    items = iter(order)
    if per_problem <= 0:
        return list(islice(items, limit))
    head: list[str] = []
    passed: list[str] = []
    count: dict[str, int] = {}
    for article_id in items:
        problem = problem_of[article_id]
        if count.get(problem, 0) < per_problem:
            head.append(article_id)
            count[problem] = count.get(problem, 0) + 1
            if len(head) == top:
                break
        else:
            passed.append(article_id)
    return list(islice(chain(head, passed, items), limit))


def keyword_query(text: str, glossary: Glossary, concept_weight: int) -> list[str]:
    """Keyword tokens of a query, each glossary concept token counted `concept_weight` times:
    concepts name the problem in the glossary's words and should outweigh the incidental words
    of a ticket (device, region, app type)."""
    query_tokens = tokens(text, glossary)
    concepts = [t for t in query_tokens if t.startswith(CONCEPT_PREFIX)]
    return query_tokens + concepts * (concept_weight - 1)


def _scenario_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    # Latin terms match whole words ("pk" is not in "unpacked"); Chinese terms anywhere.
    parts = [re.escape(t) if re.search(r"[\u4e00-\u9fff]", t)
             else r"(?<![a-z0-9])" + re.escape(t) + r"(?![a-z0-9])" for t in terms]
    return re.compile("|".join(parts))


_SCENARIO_PATTERNS = {scenario: _scenario_pattern(terms)
                      for scenario, terms in SCENARIO_TERMS.items()}


def scenarios_named(text: str) -> frozenset[str]:
    """Scenario keys whose words appear in a (normalised) query."""
    return frozenset(s for s, pattern in _SCENARIO_PATTERNS.items() if pattern.search(text))


class Searcher:
    """A loaded index with its encoders and ranking: the one search for the CLI, app and API."""

    def __init__(self, index: Index, encoders: dict[str, Encoder], settings: Settings,
                 ranking: RankingConfig | None = None) -> None:
        self.index = index
        self.encoders = encoders
        self.settings = settings
        self.ranking = ranking or RankingConfig(
            confidence_threshold=settings.confidence_threshold,
            supported_threshold=settings.supported_threshold)
        self._by_id: dict[str, dict[str, Article]] = {}
        for (article_id, lang), article in index.articles.items():
            self._by_id.setdefault(article_id, {})[lang] = article
        self.article_ids: tuple[str, ...] = tuple(index.article_ids)
        self.tie_rank = alphabetical_rank(self.article_ids)
        """Tie-break of the result order: each article id's alphabetical place."""
        firsts = [next(iter(self._by_id[a].values())) for a in self.article_ids]
        self._problem_of = {a.id: a.problem for a in firsts}
        self.facts = ArticleFacts(
            article_ids=self.article_ids,
            problems=tuple(a.problem for a in firsts),
            scenarios=tuple(frozenset(a.scenarios) for a in firsts),
            concepts=tuple(self._concepts(a) for a in self.article_ids),
        )
        self._codes = CodeMatcher(index.articles.values())
        # Chunks grouped by article, so "best chunk per article" is one segmented maximum.
        self._order = np.argsort(index.chunk_article, kind="stable")
        grouped = index.chunk_article[self._order]
        self._starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        self._segment_article = grouped[self._starts]

    def _concepts(self, article_id: str) -> frozenset[str]:
        """Glossary concepts of an article's titles and symptoms, in all its languages."""
        words = [w for v in self._by_id[article_id].values() for w in (v.title, *v.symptoms)]
        return frozenset(concepts_in(normalise(" ".join(words)), self.index.glossary))

    @classmethod
    def load(cls, settings: Settings) -> Searcher:
        """Load the index, its encoders (each once per process) and its ranking."""
        index = load_index(settings)
        encoders = {info.name: load_encoder(info.name, settings.threads)
                    for info in index.manifest.encoders}
        for info in index.manifest.encoders:
            if info.fingerprint and encoders[info.name].fingerprint != info.fingerprint:
                raise IndexMismatchError(
                    f"index in {settings.index_dir} was built with {info.fingerprint} but "
                    f"`{info.name}` is now {encoders[info.name].fingerprint}: run `kb build`")
        return cls(index, encoders, settings, load_ranking(settings, index))

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

    # -- the retrievers -------------------------------------------------------------------

    def retrieval_text(self, query: CleanQuery) -> str:
        """What the retrievers read of a query."""
        return query.focused if self.ranking.focus and query.focused else query.text

    def query_vectors(self, text: str,
                      instead: Mapping[str, Encoder] | None = None) -> dict[str, np.ndarray]:
        """Each encoder's unit query vector (`instead`: other encoders for some names, as
        `kb train` embeds a text with the tuned model that never saw it)."""
        encoders = {**self.encoders, **(instead or {})}
        return {name: np.asarray(encoders[name].encode_queries([text])[0], dtype=np.float32)
                for name in self.encoders}

    def legs(self, query: CleanQuery, vectors: Mapping[str, np.ndarray],
             allowed: np.ndarray | None = None) -> Legs:
        """Best-chunk score of every article for each retriever (`allowed`: article mask)."""
        names, rows = [], []
        for name, encoder in self.encoders.items():
            if encoder.languages is not None and query.lang not in encoder.languages:
                continue
            names.append(name)
            rows.append(self._vector_leg(name, vectors[name], allowed))
        names.append("keyword")
        rows.append(self._keyword_leg(self.retrieval_text(query)))
        scores = np.vstack(rows)
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        return Legs(tuple(names), scores)

    def _per_article(self, chunk_scores: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        best = np.full(len(self.article_ids), -np.inf)
        if rows is None:  # a score for every chunk
            if len(chunk_scores):
                best[self._segment_article] = np.maximum.reduceat(chunk_scores[self._order],
                                                                  self._starts)
            return best
        np.maximum.at(best, self.index.chunk_article[rows], chunk_scores)
        return best

    def _vector_leg(self, name: str, query_vector: np.ndarray,
                    allowed: np.ndarray | None) -> np.ndarray:
        matrix = self.index.matrices.get(name)
        if matrix is not None:  # exact: every chunk, one matrix-vector product
            return self._per_article(matrix @ query_vector)
        import faiss

        vector_index = self.index.vectors[name]
        k = min(self.ranking.chunk_candidates, len(self.index.chunks))
        params = None
        if allowed is not None:
            rows = np.flatnonzero(allowed[self.index.chunk_article])
            # Filter inside the search, before candidates are cut to k; search parameters
            # replace the index's own efSearch, so pass it again.
            params = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBatch(rows.astype(np.int64)),
                                                efSearch=max(HNSW_EF_SEARCH, k))
        scores, found = vector_index.search(query_vector[None, :].astype(np.float32), k,
                                            params=params)
        keep = found[0] >= 0  # FAISS pads with -1 when fewer than k vectors pass the filter
        return self._per_article(scores[0][keep], found[0][keep])

    def _keyword_leg(self, text: str) -> np.ndarray:
        query_tokens = keyword_query(text, self.index.glossary, self.ranking.concept_weight)
        if not query_tokens:
            return np.zeros(len(self.article_ids))
        scores = np.asarray(self.index.keyword.get_scores(query_tokens), dtype=np.float64)
        return self._per_article(scores)

    def query_facts(self, query: CleanQuery, allowed_ids: set[str]) -> QueryFacts:
        """Named scenarios, glossary concepts and exact codes of a query."""
        text = normalise(self.retrieval_text(query))
        return QueryFacts(scenarios=scenarios_named(text),
                          concepts=frozenset(concepts_in(text, self.index.glossary)),
                          exact=frozenset(self._codes(query.ticket or query.text) & allowed_ids))

    # -- ranking --------------------------------------------------------------------------

    def search(self, raw_query: str, *, top_k: int = 5, scenario: str | None = None,
               platform: str | None = None, lang: str | None = None,
               problem_prior: Mapping[str, float] | None = None) -> SearchResponse:
        """Rank articles for a query; `lang` picks the display language (default: the query's);
        `problem_prior` (problem → weight ≥ 0) adds evidence found elsewhere, e.g. in a pasted
        stats dump."""
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

        allowed_ids = set(self._by_id)
        allowed = None
        if scenario or platform:
            allowed_ids = set(self.allowed_ids(scenario, platform))
            allowed = self.facts.among(allowed_ids)
        text = self.retrieval_text(query)
        vectors = self.query_vectors(text)
        legs = self.legs(query, vectors, allowed)
        facts = self.query_facts(query, allowed_ids)
        model = self.ranking.model
        belief = 0.0
        if model is not None:
            probs = model.problem_probs(vectors, problem_prior)
            lexical = model.lexical_probs(tokens(text, self.index.glossary), problem_prior)
            scores = model.score(features(legs, probs, facts, self.facts, model.problems,
                                          lexical, model.scenario_probs(vectors)))
            if allowed is not None:
                scores = np.where(allowed, scores, -1.0)
            belief = model.confidence(confidence_features(
                scores, self.facts.problem_index(model.problems), model.problems, probs,
                lexical, legs, query.lang, len(text)))
        else:
            fused = self._fused(legs, problem_prior)
            scores = np.array([fused.get(a, 0.0) for a in self.article_ids])
        exact = self.facts.among(facts.exact)
        positions = order_articles(scores, exact, self.tie_rank, allowed)
        order = diversify((self.article_ids[i] for i in positions), self._problem_of,
                          self.ranking.diverse_top, self.ranking.per_problem_top, limit=top_k)
        similarity = self._similarity(legs)
        column = self.index.article_position
        hits = tuple(self._hit(a, display, float(scores[column[a]]),
                               float(similarity[column[a]]), legs, bool(exact[column[a]]))
                     for a in order)
        match = self._match(hits, query, belief) if hits else "weak"
        confident = match != "weak"
        return SearchResponse(query.text, confident, hits, display, query.notes,
                              self._clarify(hits) if confident and not hits[0].exact else (),
                              match)

    def _fused(self, legs: Legs, prior: Mapping[str, float] | None) -> dict[str, float]:
        rankings = []
        for name, row in zip(legs.names, legs.scores, strict=True):
            keep = np.isfinite(row) & ((row > 0) if name == "keyword" else True)
            rankings.append(Ranking(name, {a: float(s) for a, s, k in
                                           zip(self.article_ids, row, keep, strict=True) if k}))
        pooled = [pool_by_problem(r, self._problem_of, self.ranking.pool_top) for r in rankings]
        extra = []
        if prior:
            extra.append(Ranking("prior", {a: prior.get(p, 0.0)
                                           for a, p in self._problem_of.items()
                                           if prior.get(p, 0.0) > 0}))
        return fuse(rankings + pooled + extra, self.ranking.rrf_k)

    def _similarity(self, legs: Legs) -> np.ndarray:
        """Each article's best-chunk cosine over the encoders (0 when filtered out)."""
        vector_rows = [row for name, row in zip(legs.names, legs.scores, strict=True)
                       if name != "keyword"]
        if not vector_rows:
            return np.zeros(len(self.article_ids))
        best = np.max(np.vstack(vector_rows), axis=0)
        return np.where(np.isfinite(best), best, 0.0)

    def _match(self, hits: tuple[Hit, ...], query: CleanQuery, belief: float) -> str:
        """`strong`, `fair` or `weak`: exact codes, then the model's calibrated probability
        that the answer's problem is right (fusion: the best chunk's similarity)."""
        top = hits[0]
        if top.exact:
            return "strong"
        model, config = self.ranking.model, self.ranking
        if model is not None:
            if belief >= model.strong.get(query.lang, 1.0):
                return "strong"
            return "fair" if belief >= model.thresholds.get(query.lang, 1.0) else "weak"
        if top.similarity >= config.strong_threshold:
            return "strong"
        if top.similarity >= config.confidence_threshold:
            return "fair"
        supported = (top.similarity >= config.supported_threshold
                     and bool(concepts_in(normalise(query.text), self.index.glossary)))
        return "fair" if supported else "weak"

    def _hit(self, article_id: str, lang: str, score: float, similarity: float,
             legs: Legs, exact: bool) -> Hit:
        article = self.version(article_id, lang)
        fix = article.section("fix")
        column = self.index.article_position[article_id]
        return Hit(
            id=article.id, title=article.title, problem=article.problem,
            scenarios=article.scenarios, lang=article.lang, severity=article.severity,
            score=score, fix=fix.markdown if fix else "", path=article.path,
            similarity=similarity,
            leg_scores={name: round(float(row[column]), 4)
                        for name, row in zip(legs.names, legs.scores, strict=True)
                        if np.isfinite(row[column])},
            exact=exact,
        )

    def _clarify(self, hits: tuple[Hit, ...]) -> tuple[Hit, ...]:
        """The best hit of each problem scoring close to the top answer, when there are two+."""
        model = self.ranking.model

        def close(hit: Hit) -> bool:
            if model is not None:
                return hit.score >= model.clarify_ratio * hits[0].score
            return hits[0].score - hit.score <= self.ranking.clarify_gap

        choices: dict[str, Hit] = {}
        for hit in hits:
            if close(hit) and hit.problem not in choices:
                choices[hit.problem] = hit
        choices = dict(list(choices.items())[:self.ranking.clarify_choices])
        return tuple(choices.values()) if len(choices) > 1 else ()



