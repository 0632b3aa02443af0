"""The records that flow through diagnosis: artefact → `Observation`s → `Finding`s."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

INDICATORS: dict[str, str] = {
    # name: what it measures (unit in the name's suffix: _pct, _ms, _fps, or a count / flag)
    "loss_pct": "packets lost / packets expected, over the call (per direction and media kind)",
    "rtt_ms": "round-trip time of the selected candidate pair or RTCP, median over the call",
    "delay_ms": "a stated end-to-end or one-way delay (free text)",
    "jitter_ms": "inter-arrival jitter reported by the receiver, median over the call",
    "jitter_buffer_ms": "average jitter-buffer delay (jitterBufferDelay / emitted count)",
    "freeze_count": "video freezes counted by the receiver (freezeCount)",
    "freeze_pct": "time in freezes / time receiving video (totalFreezesDuration)",
    "fps_received": "decoded or received frames per second, median over the call",
    "fps_capture_gap": "capture fps minus sent fps on the sender (frames dropped before sending)",
    "quality_limited_cpu_pct": "share of sending time limited by CPU (qualityLimitationDurations)",
    "quality_limited_bandwidth_pct": "share of sending time limited by bandwidth",
    "resolution_changes": "qualityLimitationResolutionChanges on the sender",
    "resolution_drop_pct": "how far frameHeight fell below its peak during the call",
    "audio_level_max": "highest audio level seen (0..1); near zero means silence",
    "concealment_pct": "concealed samples / received samples (audio)",
    "bytes_received": "media bytes received on a stream while the connection was up",
    "frames_decoded": "frames decoded while frames were received (0 = decoder failure)",
    "ice_failed": "ICE or the peer connection reached `failed` (flag)",
    "no_succeeded_pair": "candidate pairs exist but none succeeded (flag)",
    "dtls_failed": "DTLS handshake or transport failed (flag)",
    "relay_tcp": "the selected path is a TURN relay over TCP/TLS (flag)",
    "reconnects": "times ICE went to `disconnected` during the call",
    "av_skew_ms": "video minus audio playout delay on one connection (positive: audio early)",
    "turn_error": "TURN or ICE candidate error code (401, 441, 701)",
    "permission_denied": "camera or microphone access refused (NotAllowedError, Permission)",
    "autoplay_blocked": "media element play() refused without a user gesture",
    "device_busy": "capture device in use or unreadable (NotReadableError, busy)",
    "constraints_failed": "getUserMedia constraints could not be satisfied",
    "agora_error": "Agora SDK error, warning or connection-change code",
    "trtc_error": "TRTC SDK error code",
    "audio_record_error": "Android AudioRecord failed to start or read",
    "audio_track_error": "Android AudioTrack failed to initialise or play",
    "ios_interruption": "iOS AVAudioSession interruption began (phone call, Siri, alarm)",
    "ios_session_error": "iOS audio session activation refused (561017449 '!pri')",
}
"""Every indicator a rule may name; readers emit only these."""

KINDS = ("webrtc-internals", "rtcstats", "rtcstats-trace", "log", "text")


@dataclass(frozen=True)
class Observation:
    """One measured or logged value, with where it was seen."""

    indicator: str
    """A key of INDICATORS."""
    value: float | str
    """A number (percent, ms, count, 1 for a flag) or a code string for error indicators."""
    where: str
    """PeerConnection / stat id, or `line N`: enough to find it again in the artefact."""
    media: str = ""
    """`audio`, `video` or empty when not per stream."""
    direction: str = ""
    """`inbound`, `outbound` or empty."""
    samples: int = 1
    """How many samples the value summarises (more samples, surer finding)."""
    detail: str = ""
    """A short quote or extra numbers (peak, the log line)."""


@dataclass(frozen=True)
class Rule:
    """One row of articles/diagnostics.yaml: indicator and threshold → problem and Fix step."""

    id: str
    """Stable key for the rule, e.g. `video-loss-high`."""
    indicator: str
    """A key of INDICATORS."""
    op: str
    """`>=`, `>`, `<=`, `<`, `==` (numbers) or `in` (codes)."""
    threshold: float | tuple[str, ...]
    """The number compared against, or the codes matched by `in`."""
    problem: str
    """Problem key from the taxonomy."""
    article: str
    """Article id whose Fix applies."""
    step: int
    """1-based Fix step number in that article."""
    severity: str
    """`critical`, `warning` or `info`."""
    reference: str
    """Public source of the threshold: "Page title — site"."""
    media: str = ""
    """Only observations of this media kind (`audio`/`video`), or any."""
    direction: str = ""
    """Only observations in this direction, or any."""
    line: int = 0
    """1-based line of the rule in the file, for lint messages."""


@dataclass(frozen=True)
class Finding:
    """A rule that fired: what was seen, against what threshold, and what to do."""

    rule: str
    """Rule id."""
    problem: str
    """Problem key."""
    article: str
    """Article id."""
    step: int
    """Fix step to apply."""
    severity: str
    """`critical`, `warning` or `info`."""
    confidence: str
    """`high`, `medium` or `low`: how sure (margin over the threshold, number of samples)."""
    indicator: str
    """What was measured."""
    value: float | str
    """The worst value seen."""
    threshold: str
    """The rule's condition as text, e.g. `>= 5`."""
    where: str
    """Where the worst value was seen."""
    reference: str
    """Where the threshold comes from."""
    occurrences: int = 1
    """How many observations crossed the threshold."""
    also: tuple[str, ...] = ()
    """Other places it was seen (at most a few)."""
    detail: str = ""
    """Quote or extra numbers for the evidence line."""


@dataclass(frozen=True)
class Diagnosis:
    """Everything `kb diagnose` reports for one artefact."""

    kind: str
    """Which reader was used: one of KINDS, or `unknown`."""
    findings: tuple[Finding, ...]
    """Most severe and surest first."""
    observations: tuple[Observation, ...] = ()
    """Everything measured, fired or not."""
    notes: tuple[str, ...] = ()
    """What the reader tolerated or skipped (truncated input, unknown stats)."""
    summary: dict[str, Any] = field(default_factory=dict)
    """Counts for the report: peer connections, stats, samples, lines."""

    @property
    def problem_weights(self) -> dict[str, float]:
        """Problem → weight (0..1) for ranking: the surest, most severe finding per problem."""
        weight = {"critical": 1.0, "warning": 0.7, "info": 0.3}
        sure = {"high": 1.0, "medium": 0.75, "low": 0.5}
        out: dict[str, float] = {}
        for f in self.findings:
            w = weight.get(f.severity, 0.3) * sure.get(f.confidence, 0.5)
            out[f.problem] = max(out.get(f.problem, 0.0), round(w, 3))
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by `kb diagnose --json` and the API."""
        data = asdict(self)
        data["problems"] = self.problem_weights
        return data
