"""What the support page needs beyond search: escalation, examples, links, index readiness.

Pure logic and small readers; `app.py` only turns these into widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from kb.content.taxonomy import SEVERITIES
from kb.errors import KbError
from kb.service.messages import CHECKLIST, SEVERITY_OF_SITUATION
from kb.settings import Settings


@dataclass(frozen=True)
class Escalation:
    """How urgent a case is and what to collect before filing it."""

    severity: str
    """P0, P1 or P2."""
    meaning: str
    response_target: str
    checklist: tuple[str, ...]


def escalation(situation: str, lang: str) -> Escalation:
    """Severity, first-response target and checklist for a situation key."""
    severity = SEVERITY_OF_SITUATION[situation]
    info = SEVERITIES[severity]
    return Escalation(severity, info[lang], info[f"response_{lang}"], CHECKLIST[lang])


def share_query(query: str, scenario: str | None, platform: str | None, lang: str) -> str:
    """The query-string part of a link that reopens this search."""
    params = {"q": query, "lang": lang}
    if scenario:
        params["scenario"] = scenario
    if platform:
        params["platform"] = platform
    return "?" + urlencode(params)


@dataclass(frozen=True)
class Readiness:
    """Whether the index can answer, and what to tell the user if not."""

    ok: bool
    """False when search cannot run at all."""
    message: str = ""
    """What is wrong, including the command that fixes it."""


def readiness(settings: Settings) -> Readiness:
    """Missing, incompatible or stale index → a message naming the fix."""
    from kb.retrieval.index import check_compatible, read_manifest, stale_files

    try:
        manifest = read_manifest(settings.index_dir)
        check_compatible(manifest, settings, settings.index_dir)
    except KbError as exc:
        return Readiness(False, f"{exc} (or `make run`, which builds it and starts the app).")
    changed = stale_files(manifest, settings)
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3
                                          else "")
        return Readiness(True, f"The index is older than the articles ({shown} changed): "
                               "answers may be out of date. Run `kb build` to refresh it.")
    return Readiness(True)
