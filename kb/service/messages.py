"""Every user-facing sentence, in English and Chinese: one place to review and translate."""

from __future__ import annotations

from kb.retrieval.search import MAX_QUERY_CHARS

NO_MATCH_GUIDANCE = {
    "en": ("No confident match. The closest articles are listed as maybe. If many users are "
           "affected, treat it as P0 (15-minute response) and escalate now; otherwise collect "
           "the time window (UTC), region, channel/room id, user ids, SDK version and platform, "
           "network type, logs and a short recording, then file a ticket."),
    "zh": ("没有足够可信的匹配。下面列出的是可能相关的文章。"
           "如果大量用户受影响，按 P0（15 分钟响应）立即升级；"
           "否则请先收集 UTC 时间段、区域、频道/房间 ID、用户 ID、SDK 版本和平台、网络类型、"
           "日志和一段简短录音或录屏，再提交工单。"),
}
EMPTY_QUERY = {
    "en": "Type a symptom in your own words, e.g. \"viewers hear an echo when I co-host\".",
    "zh": "请用自己的话描述现象，例如“连麦时观众听到回声”。",
}

NOTES = {
    "controls_removed": {"en": "control characters were removed from the query",
                         "zh": "已删除查询中的控制字符"},
    "shortened": {"en": f"the query was shortened to its first {MAX_QUERY_CHARS} characters",
                  "zh": f"查询过长，只使用了前 {MAX_QUERY_CHARS} 个字符"},
    "empty": EMPTY_QUERY,
}


def note_text(key: str, lang: str) -> str:
    """The sentence for a search note key in `lang` (the key itself when unknown)."""
    return NOTES.get(key, {}).get(lang, key)


LABELS = {
    "en": {"problem": "Problem", "scenarios": "Scenarios", "severity": "Severity",
           "platforms": "Platforms", "owner": "Owner", "reviewed": "Last reviewed",
           "codes": "Error codes", "fix": "Fix", "source": "Source", "maybe": "Maybe",
           "no_match": "No confident match", "others": "Other candidates",
           "clarify": "Which is closest?", "full": "Full article"},
    "zh": {"problem": "问题", "scenarios": "场景", "severity": "级别", "platforms": "平台",
           "owner": "负责人", "reviewed": "最近审阅", "codes": "错误码", "fix": "解决方法",
           "source": "来源", "maybe": "可能相关", "no_match": "没有足够可信的匹配",
           "others": "其他候选", "clarify": "哪一个最接近？", "full": "完整文章"},
}

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
