"""Retrieval quality on labelled queries: hit@1, hit@3 and MRR@10 on the problem key."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.content.taxonomy import PROBLEMS, SCENARIOS
from kb.errors import ConfigError

MRR_DEPTH = 10
MAX_EVAL_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class EvalQuery:
    """One labelled query."""

    q: str
    problem: str
    scenario: str
    lang: str
    split: str = "all"
    """`dev` / `train` (fitted or tuned on), `heldout` / `test` (never), `all` when unmarked."""
    source: str = ""
    """Where a real text was found (`owner/repo#123`); empty for authored queries."""


@dataclass(frozen=True)
class Outcome:
    """Where the right problem landed for one query."""

    query: EvalQuery
    rank: int | None
    """1-based rank of the first result with the right problem; None if not in the top 10."""
    top_problems: tuple[str, ...]
    confident: bool
    scenario_ok: bool = False
    """The top answer has the right problem and the query's scenario (or is a general one)."""


@dataclass(frozen=True)
class Scores:
    """Metrics over a group of queries."""

    n: int
    hit1: float
    hit3: float
    mrr10: float
    confident: float
    """Share of queries answered with a confident match."""
    right_when_confident: float = 0.0
    """Of the confident answers, the share whose top problem is right."""
    scenario_hit1: float = 0.0
    """Right problem and the query's scenario's (or a general) article first."""


def _read_text(path: Path) -> str:
    """An evaluation file's text, refused when missing, over the size cap or not UTF-8."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    if path.stat().st_size > MAX_EVAL_BYTES:
        raise ConfigError(f"{path}:1: file is {path.stat().st_size // 1024 // 1024} MB, over the "
                          f"{MAX_EVAL_BYTES // 1024 // 1024} MB limit for an evaluation set")
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {exc.start})") from exc


def read_queries(path: Path) -> list[EvalQuery]:
    """Parse a JSONL file of `{"q", "problem", "scenario", "lang"[, "split"]}` lines."""
    text = _read_text(path)
    queries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            query = EvalQuery(q=str(data["q"]), problem=data["problem"],
                              scenario=data["scenario"], lang=data["lang"],
                              split=data.get("split", "all"), source=data.get("source", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: expected a JSON object with q, problem, "
                              f"scenario and lang ({exc})") from exc
        if query.problem not in PROBLEMS:
            raise ConfigError(f"{path}:{number}: unknown problem key `{query.problem}`")
        if query.scenario not in SCENARIOS:
            raise ConfigError(f"{path}:{number}: unknown scenario key `{query.scenario}`")
        if query.lang not in ("en", "zh"):
            raise ConfigError(f"{path}:{number}: lang must be en or zh")
        queries.append(query)
    return queries


def outcome(query: EvalQuery, problems: Sequence[str], confident: bool,
            top_scenarios: Sequence[str] = ()) -> Outcome:
    """Score one ranking (the problem keys of the results, best first; the top result's
    scenarios)."""
    rank = next((i for i, p in enumerate(problems[:MRR_DEPTH], start=1)
                 if p == query.problem), None)
    scenario_ok = rank == 1 and (query.scenario in top_scenarios or "general" in top_scenarios)
    return Outcome(query, rank, tuple(problems[:3]), confident, scenario_ok)


def score(outcomes: Iterable[Outcome]) -> Scores:
    """hit@1, hit@3 and MRR@10 of a group of outcomes."""
    items = list(outcomes)
    n = len(items)
    if not n:
        return Scores(0, 0.0, 0.0, 0.0, 0.0)
    confident = [o for o in items if o.confident]
    return Scores(
        n=n,
        hit1=sum(o.rank == 1 for o in items) / n,
        hit3=sum(o.rank is not None and o.rank <= 3 for o in items) / n,
        mrr10=sum(1 / o.rank for o in items if o.rank) / n,
        confident=len(confident) / n,
        right_when_confident=(sum(o.rank == 1 for o in confident) / len(confident)
                              if confident else 0.0),
        scenario_hit1=sum(o.scenario_ok for o in items) / n,
    )


def repository(source: str) -> str:
    """`owner/repo` of a source such as `owner/repo#123` (empty when it names none)."""
    return source.split("#", 1)[0] if "#" in source else ""


def breakdown(outcomes: Sequence[Outcome],
              trained_repositories: frozenset[str] | None = None) -> dict[str, Scores]:
    """Scores overall, per language and per split; with `trained_repositories`, also per
    language for texts from a repository the training texts came from (`repo=seen`) or not
    (`repo=new`: the nearer measure of a new customer's words)."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups["all"].append(o)
        groups[f"lang={o.query.lang}"].append(o)
        if o.query.split != "all":
            groups[f"split={o.query.split}"].append(o)
            groups[f"split={o.query.split} lang={o.query.lang}"].append(o)
        repo = repository(o.query.source)
        if trained_repositories is not None and repo:
            seen = "seen" if repo in trained_repositories else "new"
            groups[f"repo={seen} lang={o.query.lang}"].append(o)
    order = sorted(groups, key=lambda name: (name != "all", name.count("="), name))
    return {name: score(groups[name]) for name in order}


def run_eval(queries: Sequence[EvalQuery],
             search: Callable[[str], tuple[list[str], bool, Sequence[str]]]) -> list[Outcome]:
    """Search every query; `search` returns the ranked problem keys, the confidence and the
    top result's scenarios."""
    return [outcome(q, *search(q.q)) for q in queries]


def read_out_of_scope(path: Path) -> list[tuple[str, str, str, str]]:
    """`(text, lang, source, split)` of a JSONL file of real out-of-scope texts."""
    rows = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            rows.append((str(data["q"]), data["lang"], data["source"], data["split"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: expected q, lang, source and split ({exc})") \
                from exc
    return rows
