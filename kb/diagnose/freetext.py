"""Numbers in a customer's own words (English and Chinese): "丢包 30%", "RTT 800ms", "fps drops
to 5". Low confidence by design: one stated number, no time series."""

from __future__ import annotations

import re

from kb.diagnose.model import Observation

_NUM = r"(\d+(?:\.\d+)?)"
_GAP = r"[^\d\n。，,;；]{0,24}?"
PATTERNS: tuple[tuple[str, re.Pattern[str], float], ...] = (
    ("loss_pct", re.compile(rf"(?:packet[\s-]*loss|\bloss\b|丢包率?){_GAP}{_NUM}\s*[%％]", re.I),
     1.0),
    ("loss_pct", re.compile(rf"{_NUM}\s*[%％]\s*(?:of\s+)?(?:packet[\s-]*)?(?:loss|丢包)", re.I),
     1.0),
    ("rtt_ms", re.compile(
        rf"(?:\brtt\b|\bping\b|往返(?:时延|延迟|时间)?){_GAP}{_NUM}\s*(?:ms|毫秒)", re.I), 1.0),
    ("rtt_ms", re.compile(rf"{_NUM}\s*ms\s*(?:rtt|ping)\b", re.I), 1.0),
    ("delay_ms", re.compile(rf"(?:latency|delay|\blag\b|延迟|时延){_GAP}{_NUM}\s*(?:ms|毫秒)",
                            re.I), 1.0),
    ("delay_ms", re.compile(rf"(?:latency|delay|\blag\b|延迟|时延){_GAP}{_NUM}\s*(?:s|sec|"
                            r"seconds?|秒)(?![a-z])", re.I), 1000.0),
    ("jitter_ms", re.compile(rf"(?:jitter|抖动){_GAP}{_NUM}\s*(?:ms|毫秒)", re.I), 1.0),
    ("fps_received", re.compile(rf"(?:\bfps\b|frame\s*rate|帧率){_GAP}{_NUM}(?!\s*[%％])", re.I),
     1.0),
    ("fps_received", re.compile(rf"{_NUM}\s*(?:fps|帧每秒|帧/秒)", re.I), 1.0),
    ("freeze_pct", re.compile(rf"(?:freeze|stall|卡顿率?){_GAP}{_NUM}\s*[%％]", re.I), 1.0),
)


_VIDEO = re.compile(r"video|camera|picture|画面|视频|图像", re.I)
_AUDIO = re.compile(r"audio|voice|sound|声音|语音|音频", re.I)


def _media(indicator: str, line: str) -> str:
    if indicator in ("fps_received", "freeze_pct"):
        return "video"
    if indicator in ("rtt_ms", "delay_ms"):
        return ""
    video, audio = bool(_VIDEO.search(line)), bool(_AUDIO.search(line))
    return "video" if video and not audio else "audio" if audio and not video else ""


def read_numbers(text: str) -> list[Observation]:
    """Stated measurements, each with its line number and the words around it."""
    out: list[Observation] = []
    for number, line in enumerate(text.splitlines(), 1):
        taken: set[tuple[str, int]] = set()
        for indicator, regex, scale in PATTERNS:
            for match in regex.finditer(line):
                key = (indicator, match.start(1))
                if any(k[0] == indicator and abs(k[1] - key[1]) < 3 for k in taken):
                    continue
                taken.add(key)
                value = float(match.group(1)) * scale
                out.append(Observation(indicator, value, f"line {number}",
                                       _media(indicator, line),
                                       detail=match.group(0).strip()[:80]))
    return out
