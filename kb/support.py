"""What the support page needs beyond search: escalation, examples, links, index readiness.

Pure logic and small readers; `app.py` only turns these into widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from kb.errors import KbError
from kb.settings import Settings
from kb.taxonomy import SEVERITIES

SITUATIONS: dict[str, dict[str, str]] = {
    "many": {"en": "Many users down: a live stream or calls fully interrupted",
             "zh": "大量用户中断：直播或通话完全不可用"},
    "region": {"en": "One region, platform or scenario badly degraded",
               "zh": "某个区域、平台或场景严重劣化"},
    "one": {"en": "One user, or intermittent with a workaround",
            "zh": "单个用户，或偶发且有临时办法"},
}
SEVERITY_OF_SITUATION = {"many": "P0", "region": "P1", "one": "P2"}

CHECKLIST: dict[str, tuple[str, ...]] = {
    "en": (
        "Time window of the problem, in UTC (start, end or still ongoing)",
        "Region(s) and country of the affected users",
        "Channel / room id(s)",
        "Affected user ids (and one unaffected user for comparison)",
        "SDK version and platform (Android / iOS / Web / Windows / macOS), device models",
        "Network type (Wi-Fi, 4G/5G, corporate network, VPN)",
        "Client logs covering the time window",
        "A short recording or screen capture of the problem",
        "How many users are affected, and since when it started",
    ),
    "zh": (
        "问题发生的时间段（UTC，开始和结束时间，或仍在持续）",
        "受影响用户所在的区域和国家",
        "频道 / 房间 ID",
        "受影响的用户 ID（再附一个正常用户作对比）",
        "SDK 版本和平台（Android / iOS / Web / Windows / macOS）、机型",
        "网络类型（Wi-Fi、4G/5G、公司网络、VPN）",
        "覆盖该时间段的客户端日志",
        "一段简短的录音或录屏",
        "受影响的用户数量，以及从什么时候开始",
    ),
}

EXAMPLES: dict[str, tuple[str, ...]] = {
    "en": (
        "viewers hear an echo when I co-host",
        "video keeps freezing for users on 4G",
        "calls ring but never connect",
        "the AI agent won't stop talking when I interrupt",
    ),
    "zh": (
        "连麦的时候观众听到回声",
        "语聊房里听不到麦上的人说话",
        "1v1 视频对方一直黑屏",
        "游戏语音延迟很高，队友说话慢半拍",
    ),
}


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
    from kb.index import check_compatible, read_manifest, stale_files

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
