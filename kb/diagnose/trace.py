"""rtcstats trace dumps (one JSON array per line: method, peer connection, value, time), as
written by the rtcstats client library and read by rtcstats-server and webrtc-dump-importer.

getStats samples are delta-compressed: a stat lists only what changed, and its `type` only the
first time; types missing from an excerpt are inferred from Chrome's stat id prefixes.
"""

from __future__ import annotations

import json
from typing import Any

from kb.diagnose.model import Observation
from kb.diagnose.stats import PeerConnectionStats

ID_PREFIXES = (
    ("RTCInboundRTPVideoStream", "inbound-rtp", "video"),
    ("RTCInboundRTPAudioStream", "inbound-rtp", "audio"),
    ("RTCOutboundRTPVideoStream", "outbound-rtp", "video"),
    ("RTCOutboundRTPAudioStream", "outbound-rtp", "audio"),
    ("RTCRemoteInboundRtpVideoStream", "remote-inbound-rtp", "video"),
    ("RTCRemoteInboundRtpAudioStream", "remote-inbound-rtp", "audio"),
    ("RTCIceCandidatePair", "candidate-pair", ""),
    ("RTCAudioSource", "media-source", "audio"),
    ("RTCVideoSource", "media-source", "video"),
    ("RTCTransport", "transport", ""),
)
_STATE_EVENTS = {"oniceconnectionstatechange": "iceconnectionstatechange",
                 "onconnectionstatechange": "connectionstatechange",
                 "onicecandidateerror": "icecandidateerror"}
_GUM_ERRORS = {"NotAllowedError": "permission_denied", "PermissionDeniedError": "permission_denied",
               "NotReadableError": "device_busy", "TrackStartError": "device_busy",
               "OverconstrainedError": "constraints_failed"}


def is_trace(values: list[Any]) -> bool:
    """True when parsed JSON values look like rtcstats trace lines."""
    head = values[:5]
    return bool(head) and all(isinstance(v, list) and len(v) == 4 and isinstance(v[0], str)
                              for v in head)


def _infer(stat_id: str) -> tuple[str, str]:
    for prefix, kind, media in ID_PREFIXES:
        if stat_id.startswith(prefix):
            return kind, media
    return "", ""


def read_trace(values: list[Any]) -> tuple[list[PeerConnectionStats], list[Observation]]:
    """Peer connections with their stats and state events, plus getUserMedia failures."""
    stats: dict[str, dict[str, dict[str, Any]]] = {}
    events: dict[str, list[tuple[str, str, str]]] = {}
    samples: dict[str, int] = {}
    observed: list[Observation] = []
    wants_video = False
    for number, line in enumerate(values, 1):
        if not (isinstance(line, list) and len(line) == 4 and isinstance(line[0], str)):
            continue
        method, pc, value, time = line
        pc = str(pc)
        if method == "getstats" and isinstance(value, dict):
            samples[pc] = samples.get(pc, 0) + 1
            table = stats.setdefault(pc, {})
            for stat_id, stat in value.items():
                if not isinstance(stat, dict):
                    continue
                entry = table.get(stat_id)
                if entry is None:
                    kind, media = _infer(stat_id)
                    entry = table[stat_id] = {"type": stat.get("type", kind)}
                    if media and "kind" not in stat:
                        entry["kind"] = [media]
                for prop, v in stat.items():
                    if prop != "type":
                        entry.setdefault(prop, []).append(v)
        elif method in _STATE_EVENTS:
            events.setdefault(pc, []).append((str(time), _STATE_EVENTS[method], str(value)))
        elif method.endswith("getUserMedia") and isinstance(value, dict):
            wants_video = bool(value.get("video"))
        elif method.endswith("getUserMediaOnFailure"):
            indicator = _GUM_ERRORS.get(str(value))
            if indicator:
                media = "camera" if wants_video else "microphone"
                code: float | str = 1.0 if indicator == "constraints_failed" else media
                observed.append(Observation(indicator, code, f"trace line {number}",
                                            detail=f"{method}: {value}"))
    pcs = [PeerConnectionStats(pc, stats.get(pc, {}), tuple(events.get(pc, ())),
                               samples.get(pc, 1))
           for pc in sorted(set(stats) | set(events))]
    return pcs, observed


def dumps_line(value: Any) -> str:
    """One trace line as rtcstats writes it (used by tests and the benchmark)."""
    return json.dumps(value, separators=(",", ":"))
