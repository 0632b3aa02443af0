"""`lint_diagnostics(path, corpus)`: the rules file checked against the indicators and articles."""

from __future__ import annotations

from pathlib import Path

from kb.content.articles import Corpus
from kb.content.issues import Issue
from kb.content.taxonomy import PROBLEMS
from kb.diagnose.model import INDICATORS
from kb.diagnose.rules import parse_rules


def lint_diagnostics(path: Path, corpus: Corpus) -> list[Issue]:
    """Unknown indicator, article, step or problem, duplicate ids, missing or bare references."""
    where = str(path)
    if not path.exists():
        return []
    rules, problems = parse_rules(path.read_text("utf-8"), where)
    issues = [Issue(where, line, "error", message) for line, message in problems]
    fix_steps: dict[str, int] = {}
    problem_of: dict[str, str] = {}
    for article in corpus.articles:
        if article.kind != "article":
            continue
        fix = article.section("fix")
        steps = len(fix.steps) if fix else 0
        fix_steps[article.id] = min(fix_steps.get(article.id, steps), steps)
        problem_of[article.id] = article.problem
    seen: set[str] = set()

    def error(line: int, message: str) -> None:
        issues.append(Issue(where, line, "error", message))

    for rule in rules:
        if rule.id in seen:
            error(rule.line, f"duplicate rule id `{rule.id}`")
        seen.add(rule.id)
        if rule.indicator not in INDICATORS:
            error(rule.line, f"rule `{rule.id}`: unknown indicator `{rule.indicator}`; known: "
                  + ", ".join(sorted(INDICATORS)))
        if rule.problem not in PROBLEMS:
            error(rule.line, f"rule `{rule.id}`: unknown problem `{rule.problem}`")
        if rule.article not in fix_steps:
            error(rule.line, f"rule `{rule.id}`: unknown article `{rule.article}`")
        elif not 1 <= rule.step <= fix_steps[rule.article]:
            error(rule.line, f"rule `{rule.id}`: article `{rule.article}` has "
                  f"{fix_steps[rule.article]} Fix steps, not step {rule.step}")
        elif problem_of[rule.article] != rule.problem:
            error(rule.line, f"rule `{rule.id}`: article `{rule.article}` is about "
                  f"`{problem_of[rule.article]}`, not `{rule.problem}`")
        if not rule.reference.strip():
            error(rule.line, f"rule `{rule.id}`: missing reference (\"Page title — site\")")
        elif " — " not in rule.reference:
            issues.append(Issue(where, rule.line, "warning", f"rule `{rule.id}`: reference "
                                "should read \"Page title — site\""))
        if rule.media not in ("", "audio", "video"):
            error(rule.line, f"rule `{rule.id}`: media must be audio or video")
        if rule.direction not in ("", "inbound", "outbound"):
            error(rule.line, f"rule `{rule.id}`: direction must be inbound or outbound")
    return issues
