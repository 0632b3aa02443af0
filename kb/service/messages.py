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
           "clarify": "Which is closest?", "full": "Full article", "this_search": "This search",
           "match": "Match", "strong": "strong", "fair": "fair", "weak": "weak",
           "open": "Open the article", "more": "More in this article"},
    "zh": {"problem": "问题", "scenarios": "场景", "severity": "级别", "platforms": "平台",
           "owner": "负责人", "reviewed": "最近审阅", "codes": "错误码", "fix": "解决方法",
           "source": "来源", "maybe": "可能相关", "no_match": "没有足够可信的匹配",
           "others": "其他候选", "clarify": "哪一个最接近？", "full": "完整文章",
           "this_search": "本次搜索", "match": "匹配度", "strong": "高", "fair": "中",
           "weak": "低", "open": "打开文章", "more": "文章其余部分"},
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


# --- The app (app.py): page chrome shown in both languages, sentences in one ---
UI: dict[str, dict[str, str]] = {
    "title": {"en": "RTC troubleshooting search", "zh": "音视频问题排查"},
    "artefact": {"en": "Paste a stats dump or log (webrtc-internals, getStats, SDK log) — "
                       "read here, never stored",
                 "zh": "粘贴统计数据或日志（webrtc-internals、getStats、SDK 日志）——只在本机读取，"
                       "不保存"},
    "artefact_file": {"en": "…or upload the file", "zh": "……或上传文件"},
    "evidence": {"en": "Evidence from what was pasted", "zh": "粘贴内容中的证据"},
    "loading": {"en": "Loading the index and models…", "zh": "正在加载索引和模型…"},
    "query": {"en": "Describe the symptom in your own words", "zh": "用自己的话描述现象"},
    "examples": {"en": "Examples", "zh": "示例"},
    "scenario": {"en": "Scenario", "zh": "场景"},
    "all_scenarios": {"en": "All scenarios", "zh": "全部场景"},
    "platform": {"en": "Platform", "zh": "平台"},
    "all_platforms": {"en": "All platforms", "zh": "全部平台"},
    "answer_lang": {"en": "Answer language", "zh": "回答语言"},
    "auto_lang": {"en": "Auto (query language)", "zh": "自动（按查询语言）"},
    "start": {"en": "Type a symptom or click an example above.",
              "zh": "输入现象或点击上面的示例。"},
    "best_guess": {"en": "Showing the best guess until you pick one.",
                   "zh": "选择之前先显示最可能的答案。"},
    "ticket": {"en": "Copy for ticket", "zh": "复制到工单"},
    "escalation": {"en": "Escalation helper", "zh": "升级助手"},
    "situation": {"en": "What is happening?", "zh": "现在是什么情况？"},
    "collect": {"en": "Collect before filing:", "zh": "提交前请收集："},
    "first_response": {"en": "first response", "zh": "首次响应"},
    "helpful_q": {"en": "Was this answer helpful?", "zh": "这个回答有帮助吗？"},
    "helpful": {"en": "helpful", "zh": "有帮助"},
    "not_helpful": {"en": "not helpful", "zh": "没有帮助"},
    "comment": {"en": "Comment (optional)", "zh": "备注（可选）"},
    "send": {"en": "Send feedback", "zh": "提交反馈"},
    "pick_verdict": {"en": "Pick helpful or not helpful first.",
                     "zh": "请先选择“有帮助”或“没有帮助”。"},
    "thanks": {"en": "Thanks for the feedback.", "zh": "感谢反馈。"},
    "back": {"en": "← Back to search", "zh": "← 返回搜索"},
    "no_article": {"en": "There is no article `{id}`: the link is old or mistyped. Search for "
                         "the symptom instead.",
                   "zh": "没有 ID 为 `{id}` 的文章：链接已过期或有误，请改为搜索现象。"},
    "view": {"en": "View", "zh": "视图"},
    "search_view": {"en": "Search", "zh": "搜索"},
    "writers_view": {"en": "Writers' view", "zh": "作者视图"},
    "staff_token": {"en": "Staff token", "zh": "员工口令"},
    "staff_help": {"en": "Unlocks the writers' view and ticket helpers.",
                   "zh": "解锁作者视图和工单工具。"},
    "wrong_token": {"en": "That token is not right.", "zh": "口令不正确。"},
    "coverage": {"en": "Coverage", "zh": "覆盖"},
    "coverage_legend": {
        "en": "Highlighted cells are gaps: red = a required pair missing a language (`!`), "
              "amber = only one language · en+zh = both languages · - = none · "
              "{gaps} required pair(s) incomplete",
        "zh": "高亮的是缺口：红色 = 必需的组合缺少某种语言（`!`），黄色 = 只有一种语言 · "
              "en+zh = 两种语言都有 · - = 没有 · {gaps} 个必需组合不完整"},
    "write_next": {"en": "What to write next", "zh": "待补充"},
    "log_off": {"en": "Search logging is off (KB_LOG=0).", "zh": "搜索日志已关闭（KB_LOG=0）。"},
    "log_counts": {"en": "{searches} searches · {no_confident_match} without a confident match "
                         "· {not_helpful} marked not helpful",
                   "zh": "{searches} 次搜索 · {no_confident_match} 次没有可信匹配 · "
                         "{not_helpful} 次被标为没有帮助"},
    "no_gaps": {"en": "No unanswered or unhelpful searches yet.",
                "zh": "还没有未解答或没有帮助的搜索。"},
    "review_age": {"en": "Articles by review age", "zh": "按审阅时间"},
    "index_switching": {
        "en": "A new index build ({published}) is published; answers switch to it within a "
              "few seconds.",
        "zh": "新的索引（{published}）已发布，几秒内会切换到新索引回答。"},
    "index_reload_failed": {
        "en": "A new index build ({published}) is published but could not be loaded ({error}); "
              "answers still come from the build of {built_at}. Run `kb build` again.",
        "zh": "新的索引（{published}）已发布但无法加载（{error}），仍使用 {built_at} 构建的索引"
              "回答。请重新运行 `kb build`。"},
    "index_stale": {
        "en": "The index answering now ({built_at}) is older than the articles ({files} "
              "changed): answers may be out of date. Run `kb build` to refresh it; the app "
              "picks the new build up without a restart.",
        "zh": "当前回答所用的索引（{built_at}）比文章旧（{files} 有改动），答案可能过时。"
              "运行 `kb build` 更新，应用无需重启即可使用新索引。"},
    "index_missing": {"en": "{error} (or `make run`, which builds it and starts the app).",
                      "zh": "索引不可用：运行 `kb build`（或 `make run`）后刷新页面。"},
    "and_more": {"en": "{shown} and {more} more", "zh": "{shown} 等 {total} 个文件"},
}
"""App text: `ui(key)` gives the bilingual `English / 中文` form, `ui(key, lang)` one language."""


def ui(key: str, lang: str | None = None, **values: object) -> str:
    """An app sentence in `lang`, or `en / zh` when no language is chosen yet; `values` fill
    the `{placeholders}`."""
    text = UI[key]
    if lang is not None:
        return text[lang].format(**values)
    return f"{text['en'].format(**values)} / {text['zh'].format(**values)}"


# --- Diagnosis (kb diagnose, diagnose_ticket): findings read from a pasted artefact ---
DIAGNOSE = {
    "en": {
        "read_as": "Read as", "findings": "Findings", "seen": "Seen", "at": "at",
        "threshold": "threshold", "fix": "Fix", "step": "step", "from": "Threshold from",
        "also": "also at", "times": "times", "notes": "Notes",
        "none": "Nothing in the artefact crossed a diagnostic threshold.",
        "unknown": ("No stats dump, getStats() report, SDK log line or measurement was "
                    "recognised."),
        "fallback": "Searching the ticket's words instead.",
        "evidence": "Evidence from the pasted artefact",
        "critical": "critical", "warning": "warning", "info": "info",
        "high": "sure", "medium": "likely", "low": "possible",
        "webrtc-internals": "Chrome webrtc-internals dump", "rtcstats": "getStats() report",
        "rtcstats-trace": "rtcstats trace dump",
        "log": "log text", "text": "numbers stated in the text", "kind_unknown": "nothing known",
        "peer_connections": "peer "
        "connection(s)", "stats": "stats", "samples": "sample(s)", "lines": "line(s)",
    },
    "zh": {
        "read_as": "识别为", "findings": "诊断结果", "seen": "观测", "at": "位置",
        "threshold": "阈值", "fix": "解决方法", "step": "第", "from": "阈值依据",
        "also": "另见", "times": "次", "notes": "说明",
        "none": "粘贴的内容没有超过任何诊断阈值。",
        "unknown": "没有识别到统计导出、getStats() 报告、SDK 日志或测量数值。",
        "fallback": "改为按工单文字搜索。",
        "evidence": "来自粘贴内容的证据",
        "critical": "严重", "warning": "警告", "info": "提示",
        "high": "确定", "medium": "很可能", "low": "可能",
        "webrtc-internals": "Chrome webrtc-internals 导出", "rtcstats": "getStats() 报告",
        "rtcstats-trace": "rtcstats 追踪导出",
        "log": "日志文本", "text": "文字中的数值", "kind_unknown": "无法识别",
        "peer_connections": "个 PeerConnection",
        "stats": "项统计", "samples": "次采样", "lines": "行",
    },
}

INDICATOR_TITLES: dict[str, tuple[str, str]] = {
    "loss_pct": ("Packet loss", "丢包"), "rtt_ms": ("Round-trip time", "往返时延 RTT"),
    "delay_ms": ("Delay", "延迟"), "jitter_ms": ("Jitter", "抖动"),
    "jitter_buffer_ms": ("Jitter-buffer delay", "抖动缓冲延迟"),
    "freeze_count": ("Video freezes", "视频卡顿次数"),
    "freeze_pct": ("Video freeze rate", "视频卡顿率"),
    "fps_received": ("Received frame rate", "接收帧率"),
    "fps_capture_gap": ("Frames dropped before sending", "发送前丢帧"),
    "quality_limited_cpu_pct": ("Encoder limited by CPU", "编码受 CPU 限制"),
    "quality_limited_bandwidth_pct": ("Encoder limited by bandwidth", "编码受带宽限制"),
    "resolution_changes": ("Resolution changes", "分辨率变化"),
    "resolution_drop_pct": ("Resolution drop", "分辨率下降"),
    "audio_level_max": ("Audio level near zero", "音量接近零"),
    "concealment_pct": ("Concealed audio", "音频丢帧补偿"),
    "bytes_received": ("Nothing received", "没有收到媒体"),
    "frames_decoded": ("Frames not decoded", "视频无法解码"),
    "ice_failed": ("ICE / connection failed", "ICE / 连接失败"),
    "no_succeeded_pair": ("No working candidate pair", "没有连通的候选对"),
    "dtls_failed": ("DTLS failed", "DTLS 握手失败"),
    "relay_tcp": ("TURN relay over TCP/TLS", "经 TCP/TLS 的 TURN 中继"),
    "reconnects": ("ICE disconnects", "ICE 断开次数"),
    "av_skew_ms": ("Audio/video playout skew", "音画播放偏差"),
    "turn_error": ("TURN / ICE candidate error", "TURN / ICE 候选错误"),
    "permission_denied": ("Permission denied", "权限被拒绝"),
    "autoplay_blocked": ("Autoplay blocked", "自动播放被阻止"),
    "device_busy": ("Device busy or unreadable", "设备被占用或无法读取"),
    "constraints_failed": ("Constraints not satisfiable", "采集约束无法满足"),
    "agora_error": ("Agora error code", "声网错误码"),
    "trtc_error": ("TRTC error code", "TRTC 错误码"),
    "audio_record_error": ("Android AudioRecord error", "Android AudioRecord 错误"),
    "audio_track_error": ("Android AudioTrack error", "Android AudioTrack 错误"),
    "ios_interruption": ("iOS audio interruption", "iOS 音频中断"),
    "ios_session_error": ("iOS audio session refused", "iOS 音频会话激活失败"),
}
"""Short finding titles per indicator (en, zh)."""
