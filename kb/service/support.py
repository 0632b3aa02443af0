"""What the support page needs beyond search: escalation, examples, links, index readiness.

Pure logic and small readers; `app.py` only turns these into widgets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from kb.content.taxonomy import SEVERITIES
from kb.errors import KbError
from kb.service.messages import CHECKLIST, SEVERITY_OF_SITUATION, ui
from kb.settings import Settings

if TYPE_CHECKING:
    from kb.retrieval.index import Manifest


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


def share_query(query: str, scenario: str | None, platform: str | None, lang: str,
                pick: str | None = None) -> str:
    """The query-string part of a link that reopens this search (and the clarifying pick)."""
    params = {"q": query, "lang": lang}
    if scenario:
        params["scenario"] = scenario
    if platform:
        params["platform"] = platform
    if pick:
        params["pick"] = pick
    return "?" + urlencode(params)


@dataclass(frozen=True)
class Readiness:
    """Whether the index can answer, and what to tell the user if not."""

    ok: bool
    """False when search cannot run at all."""
    message: str = ""
    """What is wrong, including the command that fixes it."""


def readiness(settings: Settings) -> Readiness:
    """Missing or incompatible index → a message naming the fix (before anything is loaded)."""
    from kb.retrieval.index import check_compatible, read_manifest

    try:
        manifest = read_manifest(settings.index_dir)
        check_compatible(manifest, settings, settings.index_dir)
    except KbError as exc:
        return Readiness(False, ui("index_missing", "en", error=exc) + "\n\n"
                         + ui("index_missing", "zh"))
    return Readiness(True)


def published_build(settings: Settings) -> str:
    """Name of the build folder `current` points at ("" when none is published)."""
    from kb.retrieval.index import CURRENT

    try:
        return os.path.basename(os.readlink(settings.index_dir / CURRENT))
    except OSError:
        return ""


def freshness(settings: Settings, serving: Manifest, serving_build: str, published_build: str,
              reload_error: str = "") -> Readiness:
    """What to say about the build that answers now (not merely the newest on disk): a newer
    build on its way in or failing to load, or articles changed since it was built."""
    from kb.retrieval.index import stale_files

    built_at = serving.built_at[:16].replace("T", " ") + " UTC"
    if published_build and published_build != serving_build:
        key = "index_reload_failed" if reload_error else "index_switching"
        values = {"published": published_build, "error": reload_error, "built_at": built_at}
        return Readiness(True, ui(key, "en", **values) + "\n\n" + ui(key, "zh", **values))
    changed = stale_files(serving, settings)
    if not changed:
        return Readiness(True)
    shown = ", ".join(changed[:3])
    if len(changed) > 3:
        shown = ui("and_more", "en", shown=shown, more=len(changed) - 3)
    values = {"built_at": built_at}
    return Readiness(True, ui("index_stale", "en", files=shown, **values) + "\n\n"
                     + ui("index_stale", "zh", files=", ".join(changed[:3])
                          + (" …" if len(changed) > 3 else ""), **values))
