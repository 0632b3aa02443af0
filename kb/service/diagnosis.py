"""Tickets with a pasted artefact: findings from `kb.diagnose`, weighed into search, rendered.

`diagnose_ticket` is what every face calls (CLI, app, and `POST /v1/diagnose`): it takes the
ticket text as given, reads any artefact in it, searches with the remaining words plus the
findings' problems, and returns both. The artefact itself is never stored: `TicketDiagnosis`
carries only the words searched and the findings, which is what a search log may keep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from kb.content.taxonomy import PROBLEMS, label
from kb.diagnose import Diagnosis, Finding, Rule, diagnose, load_rules, rules_path
from kb.diagnose.model import INDICATORS
from kb.retrieval.search import MAX_QUERY_CHARS, SearchResponse
from kb.service.messages import DIAGNOSE, INDICATOR_TITLES

if TYPE_CHECKING:
    from kb.retrieval.search import Searcher

StepText = Callable[[str, int, str], "str | None"]
"""(article id, step, lang) → the Fix step's text, when the caller can look it up."""


@dataclass(frozen=True)
class TicketDiagnosis:
    """Findings from the ticket's artefact and the search they informed."""

    diagnosis: Diagnosis
    """What the artefact showed (kind `unknown` and no findings when there was none)."""
    response: SearchResponse
    """The ranked answer; findings' problems weighed into it."""
    words: str
    """The text searched: the ticket without its artefact, plus the findings' problems."""
    prior: dict[str, float]
    """Problem → weight handed to search."""

    def to_json(self) -> dict[str, Any]:
        """JSON for `kb diagnose --json` and `POST /v1/diagnose`."""
        return {"diagnosis": self.diagnosis.to_json(), "search": self.response.to_json(),
                "words": self.words, "prior": self.prior}


def diagnose_ticket(searcher: Searcher, text: str, *, lang: str | None = None,
                    scenario: str | None = None, platform: str | None = None,
                    rules: Sequence[Rule] | None = None, top_k: int = 5) -> TicketDiagnosis:
    """Read the artefact inside a ticket, then search with its findings as a problem prior."""
    if rules is None:
        rules = load_rules(rules_path(searcher.settings.articles_dir))
    result = diagnose(text, rules, "ticket")
    span = _artefact_span(text, result)
    words = (text[:span[0]] + " " + text[span[1]:]).strip() if span else text.strip()
    prior = result.problem_weights
    if prior:
        display = lang or ("zh" if any("\u4e00" <= c <= "\u9fff" for c in words) else "en")
        problems = " ".join(label(PROBLEMS, p, display) for p in prior)
        words = f"{words[:MAX_QUERY_CHARS - len(problems) - 1]} {problems}".strip()
    response = searcher.search(words, top_k=top_k, scenario=scenario, platform=platform,
                               lang=lang, problem_prior=prior or None)
    return TicketDiagnosis(result, response, words, prior)


def _artefact_span(text: str, result: Diagnosis) -> tuple[int, int] | None:
    """The part of the ticket that is artefact, so it is neither searched nor logged."""
    from kb.diagnose.detect import embedded_json

    if result.kind in ("webrtc-internals", "rtcstats", "rtcstats-trace"):
        stripped = text.lstrip()
        if stripped[:1] in "{[":
            return len(text) - len(stripped), len(text)
        return embedded_json(text)
    if result.kind == "log":
        lines = text.splitlines()
        logged = {int(o.where.split()[1]) for o in result.observations
                  if o.where.startswith("line ") and o.where.split()[1].isdigit()}
        if len(lines) > 3 or logged:
            # keep only the lines people wrote: no log signature, no timestamp-like prefix
            first = min(logged) - 1 if logged else 0
            kept = "\n".join(lines[:first])
            return len(kept), len(text)
    return None


def render_findings(result: Diagnosis, lang: str = "en", *, markdown: bool = False,
                    step_text: StepText | None = None, searched: bool = False) -> str:
    """The evidence block: what was read, each finding with value, place, threshold and Fix;
    `searched` says the answer below comes from the ticket's words alone."""
    m = DIAGNOSE["en" if lang not in DIAGNOSE else lang]
    lines: list[str] = []
    read = m["kind_unknown"] if result.kind == "unknown" else m.get(result.kind, result.kind)
    counts = ", ".join(f"{v} {m.get(k, k)}" for k, v in result.summary.items())
    bold = "**" if markdown else ""
    lines.append(f"{m['read_as']}: {read}" + (f" ({counts})" if counts else ""))
    if result.kind == "unknown" or not result.findings:
        lines.append(m["unknown" if result.kind == "unknown" else "none"]
                     + (" " + m["fallback"] if searched else ""))
    else:
        lines.append(f"{bold}{m['findings']} ({len(result.findings)}){bold}")
        for n, f in enumerate(result.findings, 1):
            lines += _finding_lines(n, f, lang, m, markdown, step_text)
    if result.notes and result.kind != "unknown":
        lines.append(f"{m['notes']}: " + "; ".join(result.notes))
    return "\n".join(lines)


def _finding_lines(n: int, f: Finding, lang: str, m: dict[str, str], markdown: bool,
                   step_text: StepText | None) -> list[str]:
    code = "`" if markdown else ""
    indent = "   "
    head = (f"{n}. [{m[f.severity]} · {m[f.confidence]}] {label(PROBLEMS, f.problem, lang)} — "
            f"{_title(f.indicator, lang)}")
    value = f.value if isinstance(f.value, str) else _number(f.value)
    seen = (f"{indent}{m['seen']}: {code}{f.indicator} = {value}{code} {m['at']} {f.where}"
            f" ({m['threshold']} {f.threshold})")
    if f.detail:
        seen += f" — {f.detail}"
    if f.occurrences > 1:
        seen += f"; {f.occurrences} {m['times']}"
    step = (f"{f.article} {m['step']} {f.step} 步" if lang == "zh"
            else f"{f.article}, {m['step']} {f.step}")
    fix = f"{indent}{m['fix']}: {step}"
    text = step_text(f.article, f.step, lang) if step_text else None
    if text:
        fix += f" — {text}"
    out = [head, seen, fix, f"{indent}{m['from']}: {f.reference}"]
    if markdown:
        out = [out[0]] + [f"{indent}- {line.strip()}" for line in out[1:]]
    return out


def _number(value: float) -> str:
    """7.98, 320, 0.0001: two decimals for ordinary numbers, significant digits for tiny ones."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) >= 0.01 else f"{value:.2g}"


def _title(indicator: str, lang: str) -> str:
    titles = INDICATOR_TITLES.get(indicator)
    if not titles:
        return INDICATORS.get(indicator, indicator)
    return titles[1] if lang == "zh" else titles[0]


def diagnosis_json(result: Diagnosis) -> dict[str, Any]:
    """Findings only (no observations): the part a search log may store."""
    return {"kind": result.kind, "findings": [asdict(f) for f in result.findings],
            "problems": result.problem_weights}


def fix_step_lookup(articles: Sequence[Any]) -> StepText:
    """A `StepText` over loaded articles: the step's first sentence, in the wanted language."""
    steps = {}
    for article in articles:
        fix = article.section("fix") if hasattr(article, "section") else None
        if fix:
            steps[(article.id, article.lang)] = fix.steps

    def lookup(article_id: str, step: int, lang: str) -> str | None:
        found = steps.get((article_id, lang)) or steps.get((article_id, "en")) or ()
        if not 1 <= step <= len(found):
            return None
        text = found[step - 1]
        return text.split(". ", 1)[0].rstrip(".") + "." if lang == "en" else text.split("。")[0]

    return lookup
