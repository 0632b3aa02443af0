"""The taxonomy keys from shared/taxonomy.md (a test keeps the two identical)."""

from __future__ import annotations

SCENARIOS: dict[str, dict[str, str]] = {
    "live-show": {"en": "Live show", "zh": "秀场直播 / 视频群聊"},
    "one-to-one": {"en": "1v1 video social", "zh": "1v1 视频社交"},
    "voice-room": {"en": "Voice chat room", "zh": "语聊房"},
    "game-voice": {"en": "Game voice", "zh": "游戏语音"},
    "conversational-ai": {"en": "Conversational AI", "zh": "对话式 AI"},
    "general": {"en": "General", "zh": "通用"},
}

PROBLEMS: dict[str, dict[str, str]] = {
    "echo": {"en": "Echo / howling", "zh": "回声 / 啸叫"},
    "noise": {"en": "Noise", "zh": "噪音 / 杂音"},
    "stutter": {"en": "Stutter / freezes", "zh": "卡顿"},
    "connect-rate": {"en": "Connect rate / join failures", "zh": "接通率 / 加入失败"},
    "av-sync": {"en": "A/V sync drift", "zh": "音画不同步"},
    "latency": {"en": "Latency", "zh": "延迟"},
    "no-audio": {"en": "No audio / one-way audio", "zh": "无声 / 单通"},
    "no-video": {"en": "No video / black screen", "zh": "黑屏 / 无画面"},
    "video-quality": {"en": "Poor video quality", "zh": "画质差"},
    "beauty-filter": {"en": "Beauty filter problems", "zh": "美颜异常"},
    "disconnect": {"en": "Disconnects", "zh": "掉线"},
    "audio-quality": {"en": "Poor audio quality / volume", "zh": "音质差 / 音量异常"},
    "capacity": {"en": "Capacity limits", "zh": "并发上限"},
    "privacy": {"en": "Privacy / encryption", "zh": "隐私 / 加密"},
    "ai-response": {"en": "AI agent response / barge-in", "zh": "AI 响应慢 / 打断"},
}

SEVERITIES: dict[str, dict[str, str]] = {
    "P0": {
        "en": "Service down: a live stream or calls fully interrupted for many users",
        "zh": "服务中断：直播或通话对大量用户完全中断",
        "response_en": "15 minutes, 24x7",
        "response_zh": "15 分钟，7x24",
    },
    "P1": {
        "en": "Major degradation in one region, scenario or platform",
        "zh": "某个区域、场景或平台严重劣化",
        "response_en": "1 hour",
        "response_zh": "1 小时",
    },
    "P2": {
        "en": "Single user or intermittent issue, workaround exists",
        "zh": "单个用户或偶发问题，有临时绕过办法",
        "response_en": "Next business day",
        "response_zh": "下一个工作日",
    },
}

PLATFORM_VERSIONS: tuple[str, ...] = ("android", "ios", "chrome", "windows", "macos")
"""Platforms whose major version an article's `platforms_checked` stamp records."""

PLATFORMS: dict[str, str] = {
    "android": "Android",
    "ios": "iOS",
    "web": "Web",
    "windows": "Windows",
    "macos": "macOS",
    "linux": "Linux",
}

LANGS: tuple[str, ...] = ("en", "zh")


def label(table: dict[str, dict[str, str]], key: str, lang: str) -> str:
    """The human label of a taxonomy key in `lang`, or the key itself if unknown."""
    return table.get(key, {}).get(lang, key)


SCENARIO_TERMS: dict[str, tuple[str, ...]] = {
    "live-show": ("live stream", "livestream", "live streaming", "streamer", "co-host", "cohost",
                  "co-hosting", "pk battle", "pk", "viewers", "audience", "broadcaster", "anchor",
                  "直播", "主播", "连麦", "观众", "秀场", "推流", "拉流", "美颜"),
    "one-to-one": ("1v1", "1 v 1", "1-on-1", "1:1", "one-to-one", "one to one", "one on one",
                   "video call", "calling app", "callee", "caller", "1对1", "一对一", "视频通话",
                   "语音通话", "视频聊天", "单聊"),
    "voice-room": ("voice room", "voice chat room", "audio room", "chat room", "mic seat",
                   "karaoke", "语聊房", "语音房", "聊天室", "麦位", "上麦", "k歌", "连麦房",
                   "房间"),
    "game-voice": ("game", "gaming", "in-game", "player", "players", "teammate", "teammates",
                   "minecraft", "unity", "unreal", "游戏", "开黑", "队友", "玩家", "团战"),
    "conversational-ai": ("ai agent", "voice agent", "agent", "assistant", "bot", "llm", "tts",
                          "stt", "asr", "realtime api", "chatgpt", "openai", "智能体", "ai 对话",
                          "ai对话", "机器人", "大模型", "语音助手", "数字人"),
}
"""Words that name a scenario in a ticket; the ranker prefers that scenario's article."""
