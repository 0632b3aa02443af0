"""Log text → observations: WebRTC native, browser errors, Agora, TRTC, Android, iOS lines.

Each pattern names its indicator and how to read its value; a line may match several. Vendor
codes are read only when the text names the vendor, so a bare "110" in someone's log is not
taken for an Agora token error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kb.diagnose.model import Observation

MAX_QUOTE = 160

AGORA_REASONS = {
    "3": "BANNED_BY_SERVER", "4": "JOIN_FAILED", "6": "INVALID_APP_ID",
    "8": "INVALID_TOKEN", "9": "TOKEN_EXPIRED", "14": "KEEP_ALIVE_TIMEOUT",
    "19": "SAME_UID_LOGIN",
}
"""Agora CONNECTION_CHANGED_REASON_TYPE numbers worth a finding."""


@dataclass(frozen=True)
class Pattern:
    """One log signature."""

    indicator: str
    regex: re.Pattern[str]
    value: Callable[[re.Match[str], str], float | str | None]
    """Match and line → the value, or None to ignore this match."""
    context: str = ""
    """A word the whole text must contain (vendor name), lower case."""


def _flag(match: re.Match[str], line: str) -> float:
    return 1.0


def _group(match: re.Match[str], line: str) -> str:
    return next(g for g in match.groups() if g is not None)


def _media(match: re.Match[str], line: str) -> str:
    low = line.lower()
    return "camera" if any(w in low for w in ("video", "camera", "webcam")) else (
        "microphone" if any(w in low for w in ("audio", "microphone", "mic")) else "device")


def _not_autoplay(match: re.Match[str], line: str) -> str | None:
    return None if _AUTOPLAY.search(line) else _media(match, line)


def _agora_reason(match: re.Match[str], line: str) -> str | None:
    return AGORA_REASONS.get(match.group(1))


def _agora_name(match: re.Match[str], line: str) -> str:
    """Agora Web packs the reason into CAN_NOT_GET_GATEWAY_SERVER's message: read it."""
    name = _group(match, line)
    if name != "CAN_NOT_GET_GATEWAY_SERVER":
        return name
    low = line.lower()
    if "vendor key" in low or "appid" in low:
        return "INVALID_VENDOR_KEY"
    if "timeout" in low or "expired" in low:
        return "DYNAMIC_KEY_EXPIRED"
    if "token" in low or "dynamic" in low:
        return "INVALID_TOKEN"
    return name


def _interruption(match: re.Match[str], line: str) -> float | None:
    low = line.lower()
    return None if "ended" in low and "began" not in low else 1.0


_AUTOPLAY = re.compile(r"play\(\)[^\n]{0,160}NotAllowedError|NotAllowedError[^\n]{0,200}"
                       r"(?:play\(\)|user didn't interact|user gesture|autoplay)|"
                       r"Autoplay is only allowed|AUTOPLAY_NOT_ALLOWED", re.I)

PATTERNS: tuple[Pattern, ...] = (
    Pattern("ice_failed", re.compile(
        r"ICE failed|ice[ _]?connection[ _]?state\W{0,4}(?:(?:changed\s+)?to\W{0,3}|is\W{0,3}|"
        r"=>?\s*|->\s*)?\W?failed|IceConnectionState\w*[^\n]{0,40}?(?:kIceConnectionFailed|"
        r"\bfailed\b)|(?:peer)?connection[ _]?state\W{0,4}(?:(?:changed\s+)?to\W{0,3}|=>?\s*|"
        r"->\s*)?\W?failed|All pairs are failed|Ice connection failed|"
        r"PeerConnectionState\w*[^\n]{0,30}?kFailed|ICE_FAILED|"
        r"(?:New state:|=>|->|to)\s*kIceConnectionFailed", re.I), _flag),
    Pattern("reconnects", re.compile(
        r"ice[ _]?connection[ _]?state\W{0,4}(?:(?:changed\s+)?to\W{0,3}|is\W{0,3}|=>?\s*|"
        r"->\s*)?\W?disconnected|"
        r"(?:New state:|=>|->|to)\s*kIceConnectionDisconnected", re.I), _flag),
    Pattern("dtls_failed", re.compile(
        r"DTLS[^\n]{0,40}?(?:handshake\s+)?(?:failed|failure|error|alert)|dtls_?state\W{0,4}"
        r"(?:changed\s+to\s+)?failed|SSL_do_handshake|kDtlsTransportFailed|"
        r"DtlsTransportState::kFailed", re.I), _flag),
    Pattern("turn_error", re.compile(
        r"icecandidateerror[^\n]{0,160}?\b(701|401|441)\b|\bTURN\b[^\n]{0,80}?\b(401|441)\b|"
        r"errorCode\W{0,4}(701)\b", re.I), _group),
    Pattern("autoplay_blocked", _AUTOPLAY, _flag),
    Pattern("permission_denied", re.compile(
        r"NotAllowedError|PermissionDeniedError|Permission denied(?! \(publickey)|"
        r"PERMISSION_DENIED|android\.permission\.RECORD_AUDIO[^\n]{0,40}denied|"
        r"onPermissionError", re.I), _not_autoplay),
    Pattern("device_busy", re.compile(
        r"NotReadableError|TrackStartError|Could not start (?:audio|video) source|"
        r"Device in use|ERROR_CAMERA_IN_USE|LOCAL_AUDIO_STREAM_REASON_DEVICE_BUSY|"
        r"videoDeviceInUseByAnotherClient", re.I), _media),
    Pattern("constraints_failed", re.compile(
        r"OverconstrainedError|ConstraintNotSatisfiedError"), _flag),
    Pattern("agora_error", re.compile(
        r"\bonError\b\W{0,6}(?:err(?:or)?(?:\s*code)?\W{0,3})?(-?\d{1,6})\b|"
        r"\berr(?:or)?[ _]?code\W{1,3}(\d{1,6})\b", re.I), _group, "agora"),
    Pattern("agora_error", re.compile(
        r"\bonWarning\b\W{0,6}(?:warn(?:ing)?(?:\s*code)?\W{0,3})?(\d{1,6})\b", re.I),
        lambda m, line: f"warn {m.group(1)}", "agora"),
    Pattern("agora_error", re.compile(
        r"onConnectionStateChanged[^\n]{0,60}?reason\W{0,4}(\d{1,2})\b", re.I),
        _agora_reason, "agora"),
    Pattern("agora_error", re.compile(
        r"CONNECTION_CHANGED_(BANNED_BY_SERVER|JOIN_FAILED|INVALID_APP_ID|INVALID_TOKEN|"
        r"TOKEN_EXPIRED|KEEP_ALIVE_TIMEOUT|SAME_UID_LOGIN)|"
        r"\b(INVALID_TOKEN|TOKEN_EXPIRED|DYNAMIC_KEY_EXPIRED|INVALID_VENDOR_KEY|"
        r"CAN_NOT_GET_GATEWAY_SERVER|UID_CONFLICT)\b"), _agora_name),
    Pattern("trtc_error", re.compile(
        r"(?<![\w.])(-(?:100018|3308|3301|3319|3320|1317|1319|1314|1316|1301|1302))\b"),
        _group, "trtc"),
    Pattern("audio_record_error", re.compile(
        r"(?:AudioRecord|WebRtcAudioRecord|AudioRecordJni)\b[^\n]{0,200}?"
        r"(ERROR_INVALID_OPERATION|ERROR_DEAD_OBJECT|ERROR_BAD_VALUE|uninitialized|"
        r"status:? -?\d+|start(?:Recording)?\(\) failed|init(?:Recording)?\w* failed|"
        r"Could not get audio input|initCheck|read\(\) returned -?\d+|[A-Za-z]*Exception)",
        re.I), _group),
    Pattern("audio_track_error", re.compile(
        r"(?:AudioTrack|WebRtcAudioTrack|AudioTrackJni)\b[^\n]{0,200}?"
        r"(ERROR_\w+|uninitialized|status:? -?\d+|start(?:Playout)?\(\) failed|"
        r"init(?:Playout)?\w* failed|could not create track|dead IAudioTrack|"
        r"(?:write|play)(?:\(\))? (?:failed|called on (?:an )?uninitialized)|"
        r"[A-Za-z]*Exception)", re.I), _group),
    Pattern("ios_interruption", re.compile(
        r"AVAudioSessionInterruption\w*|AVAudioSession[^\n]{0,100}?interruption|"
        r"audio session interruption", re.I), _interruption),
    Pattern("ios_session_error", re.compile(r"561017449|'!pri'|insufficient ?priority", re.I),
            _flag),
)
_ANY = re.compile("|".join(f"(?:{p.regex.pattern})" for p in PATTERNS), re.I)


def read_log(text: str) -> list[Observation]:
    """Every matching line, with its 1-based line number and a short quote."""
    low = text.lower()
    active = [p for p in PATTERNS if not p.context or p.context in low]
    out: list[Observation] = []
    disconnects: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not _ANY.search(line):
            continue
        quote = line.strip()[:MAX_QUOTE]
        for pattern in active:
            match = pattern.regex.search(line)
            if not match:
                continue
            value = pattern.value(match, line)
            if value is None:
                continue
            if pattern.indicator == "reconnects":
                disconnects.append(number)
                continue
            out.append(Observation(pattern.indicator, value, f"line {number}", detail=quote))
    if disconnects:
        out.append(Observation("reconnects", float(len(disconnects)),
                               f"line {disconnects[0]}" + (
                                   f" (+{len(disconnects) - 1} more)" if len(disconnects) > 1
                                   else ""), samples=len(disconnects)))
    return out
