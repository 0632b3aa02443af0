"""Rules as data: articles/diagnostics.yaml → `Rule`s; observations × rules → `Finding`s."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from kb.diagnose.model import Finding, Observation, Rule
from kb.errors import ConfigError

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
}
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}
RULE_FIELDS = ("id", "indicator", "op", "threshold", "problem", "article", "step", "severity",
               "reference", "media", "direction")
MAX_PLACES = 3


def parse_rules(text: str, source: str) -> tuple[list[Rule], list[tuple[int, str]]]:
    """Rules from YAML text, and (line, problem) for each entry that could not be read."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [((mark.line + 1) if mark else 0, f"invalid YAML: {exc}")]
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return [], [(1, "expected a mapping with a `rules:` list")]
    lines = [1] * len(data["rules"])
    for key, value in getattr(root, "value", []):
        if getattr(key, "value", None) == "rules":
            lines = [item.start_mark.line + 1 for item in value.value]
    rules: list[Rule] = []
    problems: list[tuple[int, str]] = []
    for line, item in zip(lines, data["rules"], strict=False):
        try:
            rules.append(_rule(item, line))
        except (TypeError, ValueError, KeyError) as exc:
            problems.append((line, str(exc).strip("'\"")))
    return rules, problems


def _rule(item: Any, line: int) -> Rule:
    if not isinstance(item, dict):
        raise ValueError("a rule must be a mapping")
    unknown = sorted(set(item) - set(RULE_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    missing = [f for f in RULE_FIELDS[:8] if f not in item]
    if missing:
        raise ValueError(f"rule `{item.get('id', '?')}` is missing: {', '.join(missing)}")
    op = str(item["op"])
    if op == "in":
        values = item["threshold"]
        if not isinstance(values, list) or not values:
            raise ValueError(f"rule `{item['id']}`: `in` needs a list of codes")
        threshold: float | tuple[str, ...] = tuple(str(v) for v in values)
    elif op in OPS:
        threshold = float(item["threshold"])
    else:
        raise ValueError(f"rule `{item['id']}`: unknown op `{op}`; use one of "
                         + ", ".join([*OPS, "in"]))
    severity = str(item["severity"])
    if severity not in SEVERITY_ORDER:
        raise ValueError(f"rule `{item['id']}`: severity must be critical, warning or info")
    return Rule(str(item["id"]), str(item["indicator"]), op, threshold, str(item["problem"]),
                str(item["article"]), int(item["step"]), severity, str(item.get("reference") or ""),
                str(item.get("media") or ""), str(item.get("direction") or ""), line)


def load_rules(path: Path) -> list[Rule]:
    """The rules file, refused with every problem listed when any entry is malformed."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the diagnostic rules: {exc.strerror}") from exc
    rules, problems = parse_rules(text, str(path))
    if problems:
        raise ConfigError("; ".join(f"{path}:{line}: {p}" for line, p in problems)
                          + "; run `kb lint`")
    return rules


def fires(rule: Rule, obs: Observation) -> bool:
    """True when the observation is the rule's indicator, media, direction and crosses it."""
    # an observation of unknown media (a stated number, a log line) may be either kind
    if obs.indicator != rule.indicator or (rule.media and obs.media not in ("", rule.media)) or (
            rule.direction and obs.direction not in ("", rule.direction)):
        return False
    if rule.op == "in":
        assert isinstance(rule.threshold, tuple)
        return "*" in rule.threshold or _code(obs.value) in rule.threshold
    if isinstance(obs.value, str):
        return False
    return OPS[rule.op](obs.value, rule.threshold)  # type: ignore[arg-type]


def _code(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def condition(rule: Rule) -> str:
    """The rule's condition as people read it: `>= 5`, `in 110, 109`."""
    if isinstance(rule.threshold, tuple):
        return "any" if "*" in rule.threshold else "in " + ", ".join(rule.threshold)
    return f"{rule.op} {_code(rule.threshold)}"


def confidence(rule: Rule, obs: Observation, kind: str) -> str:
    """How sure: stated numbers are low; log lines and flags high; numbers by margin and
    by how many samples they summarise."""
    if kind == "text":
        return "low"
    if rule.op == "in" or rule.op == "==" or isinstance(obs.value, str):
        return "high"
    value, threshold = float(obs.value), float(rule.threshold)  # type: ignore[arg-type]
    if rule.indicator in ("ice_failed", "no_succeeded_pair", "dtls_failed", "relay_tcp",
                          "ios_interruption", "ios_session_error", "autoplay_blocked",
                          "constraints_failed"):
        return "high"
    if threshold <= 0 or value <= 0:
        margin = 2.0 if (value <= threshold) == (rule.op in ("<", "<=")) else 1.0
    else:
        margin = value / threshold if rule.op in (">", ">=") else threshold / value
    if obs.samples >= 10 and margin >= 1.5:
        return "high"
    if obs.samples >= 10 or margin >= 2:
        return "medium"
    return "low"


def evaluate(observations: Iterable[Observation], rules: Sequence[Rule],
             kind: str = "") -> list[Finding]:
    """One finding per rule that fired, for its worst observation; most severe first."""
    observations = list(observations)
    findings: list[tuple[int, Finding]] = []
    for order, rule in enumerate(rules):
        hits = [o for o in observations if fires(rule, o)]
        if not hits:
            continue
        numeric = [o for o in hits if not isinstance(o.value, str)]
        worst = hits[0]
        if numeric and rule.op in (">", ">="):
            worst = max(numeric, key=lambda o: float(o.value))
        elif numeric and rule.op in ("<", "<="):
            worst = min(numeric, key=lambda o: float(o.value))
        places = [o.where for o in hits if o is not worst][:MAX_PLACES]
        findings.append((order, Finding(
            rule.id, rule.problem, rule.article, rule.step, rule.severity,
            confidence(rule, worst, kind), rule.indicator, worst.value, condition(rule),
            worst.where + (f" ({worst.media} {worst.direction})".replace(" )", ")")
                           if worst.media or worst.direction else ""),
            rule.reference, len(hits), tuple(places), worst.detail)))
    findings.sort(key=lambda pair: (SEVERITY_ORDER[pair[1].severity],
                                    CONFIDENCE_ORDER[pair[1].confidence], pair[0]))
    return [f for _, f in findings]
