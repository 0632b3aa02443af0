"""Diagnosis: a pasted stats dump, getStats() report, SDK log or stated numbers → findings.

`detect` picks the reader (`internals`, `getstats`, `logs`, `freetext`), `stats` turns stats
series into `Observation`s, and `rules` matches them against articles/diagnostics.yaml to give
`Finding`s that name the article and Fix step. Pure functions over text; only `read_bytes`
touches the disk. Nothing here imports retrieval or service.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kb.diagnose.detect import MAX_BYTES, decode, read_bytes, read_text
from kb.diagnose.model import INDICATORS, Diagnosis, Finding, Observation, Rule
from kb.diagnose.rules import evaluate, load_rules

RULES_FILE = "diagnostics.yaml"
"""The rules file's name inside the articles folder."""

__all__ = ["INDICATORS", "MAX_BYTES", "RULES_FILE", "Diagnosis", "Finding", "Observation",
           "Rule", "decode", "diagnose", "diagnose_bytes", "load_rules", "read_bytes",
           "rules_path"]


def rules_path(articles_dir: Path) -> Path:
    """Where the rules live for an articles folder."""
    return articles_dir / RULES_FILE


def diagnose(text: str, rules: Sequence[Rule], name: str = "input") -> Diagnosis:
    """Read an artefact (any supported kind) and apply the rules."""
    reading = read_text(text, name)
    findings = evaluate(reading.observations, rules, reading.kind)
    return Diagnosis(reading.kind, tuple(findings), reading.observations, reading.notes,
                     reading.summary)


def diagnose_bytes(data: bytes, rules: Sequence[Rule], name: str = "input") -> Diagnosis:
    """`diagnose` for raw bytes (a file or an upload): binary and non-UTF-8 data refused."""
    return diagnose(decode(data, name), rules, name)
