"""The scenario × problem coverage matrix: which language versions exist for each pair."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kb.content.articles import Article
from kb.content.taxonomy import LANGS, PROBLEMS, SCENARIOS

# The pairs the corpus promises to cover (issue #3), in both languages.
REQUIRED: dict[str, tuple[str, ...]] = {
    "live-show": ("stutter", "video-quality", "beauty-filter", "latency", "av-sync", "no-video",
                  "disconnect", "echo"),
    "one-to-one": ("connect-rate", "privacy", "no-video", "no-audio", "echo", "stutter",
                   "disconnect"),
    "voice-room": ("echo", "noise", "capacity", "audio-quality", "no-audio", "latency",
                   "disconnect"),
    "game-voice": ("latency", "no-audio", "noise", "echo", "stutter", "capacity"),
    "conversational-ai": ("ai-response", "latency", "noise", "echo", "stutter", "connect-rate"),
    "general": ("connect-rate", "disconnect", "latency", "stutter", "av-sync", "no-audio",
                "no-video", "privacy"),
}


@dataclass(frozen=True)
class Cell:
    """One (scenario, problem) pair."""

    scenario: str
    problem: str
    langs: tuple[str, ...]
    """Languages with at least one article listing this scenario and problem."""
    ids: tuple[str, ...]
    """Article ids covering the pair."""
    required: bool

    @property
    def gap(self) -> bool:
        """A required pair without both languages."""
        return self.required and set(self.langs) != set(LANGS)


def coverage(articles: Iterable[Article]) -> list[Cell]:
    """Every scenario × problem cell, in taxonomy order."""
    langs: dict[tuple[str, str], set[str]] = {}
    ids: dict[tuple[str, str], set[str]] = {}
    for article in articles:
        for scenario in article.scenarios:
            key = (scenario, article.problem)
            langs.setdefault(key, set()).add(article.lang)
            ids.setdefault(key, set()).add(article.id)
    return [
        Cell(s, p, tuple(lang for lang in LANGS if lang in langs.get((s, p), ())),
             tuple(sorted(ids.get((s, p), ()))), p in REQUIRED.get(s, ()))
        for s in SCENARIOS for p in PROBLEMS
    ]


def cell_mark(cell: Cell) -> str:
    """`en+zh`, `en`, `zh`, `-`; required gaps end with `!`."""
    mark = "+".join(cell.langs) or "-"
    return mark + "!" if cell.gap else mark


def coverage_table(cells: list[Cell]) -> str:
    """The matrix as a fixed-width text table, problems as rows."""
    scenarios = list(SCENARIOS)
    width = max(len(s) for s in scenarios) + 1
    header = "problem".ljust(15) + "".join(s.ljust(width) for s in scenarios)
    lines = [header, "-" * len(header)]
    by_key = {(c.scenario, c.problem): c for c in cells}
    for problem in PROBLEMS:
        lines.append(problem.ljust(15) + "".join(
            cell_mark(by_key[(s, problem)]).ljust(width) for s in scenarios))
    gaps = [c for c in cells if c.gap]
    lines += ["", "en+zh = both languages, - = none, ! = required pair missing a language",
              f"{len(gaps)} required pair(s) incomplete"
              + (": " + ", ".join(f"{c.scenario}/{c.problem}" for c in gaps) if gaps else "")]
    return "\n".join(lines)
