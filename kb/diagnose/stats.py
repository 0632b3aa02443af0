"""Indicators from WebRTC stats: one `PeerConnectionStats` per connection → `Observation`s.

Both readers (webrtc-internals dumps and getStats() JSON) fill the same shape: for each stat
id its type and, for each property, the values over time. Dumps keep each series as the
JSON-encoded string Chrome wrote; it is decoded only when an indicator reads it, so a 20 MB
dump costs one `json.loads` plus a few dozen small ones.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kb.diagnose.model import Observation

STANDARD_TYPES = frozenset({
    "inbound-rtp", "outbound-rtp", "remote-inbound-rtp", "remote-outbound-rtp", "media-source",
    "candidate-pair", "local-candidate", "remote-candidate", "transport", "codec", "track",
    "peer-connection", "certificate", "media-playout", "data-channel", "stream", "receiver",
    "sender",
})
LEGACY_TYPES = frozenset({"ssrc", "googCandidatePair", "VideoBwe", "googComponent",
                          "localcandidate", "remotecandidate", "googTrack", "googCertificate",
                          "googLibjingleSession"})
MIN_PACKETS = 50
"""Fewer packets than this say nothing about loss."""


@dataclass(frozen=True)
class PeerConnectionStats:
    """The stats of one peer connection, as series over time."""

    id: str
    """PeerConnection id as the artefact names it (`12345-1`, or `getStats`)."""
    stats: Mapping[str, Mapping[str, Any]]
    """stat id → {"type": stat type, property: values over time (list or JSON string)}."""
    events: tuple[tuple[str, str, str], ...] = ()
    """(time, event type, value) from the dump's update log."""
    samples: int = 1
    """Number of stats samples (getStats calls or dump points)."""
    notes: tuple[str, ...] = field(default=())
    """What the reader could not use."""


def series(entry: Mapping[str, Any], prop: str) -> list[Any]:
    """Values of one property over time, decoding a dump's JSON string once (cached)."""
    raw = entry.get(prop)
    if raw is None:
        return []
    if isinstance(raw, str) and raw[:1] == "[":
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
        if isinstance(entry, dict):
            entry[prop] = raw
    return raw if isinstance(raw, list) else [raw]


def numbers(entry: Mapping[str, Any], prop: str) -> list[float]:
    """Numeric values of a property (strings like "12" from legacy stats included)."""
    values = series(entry, prop)
    try:  # the common case, all numbers: one C-level pass instead of a Python loop
        return [float(v) for v in values if v is not None and v is not True and v is not False]
    except (TypeError, ValueError):
        pass
    out: list[float] = []
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out.append(float(value))
        elif isinstance(value, str):
            try:
                out.append(float(value))
            except ValueError:
                continue
    return out


def last(entry: Mapping[str, Any], prop: str) -> float | None:
    """The latest numeric value; a dump's series string is not decoded for it."""
    raw = entry.get(prop)
    if isinstance(raw, str) and raw[:1] == "[" and raw.endswith("]"):
        tail = raw[raw.rfind(",") + 1:-1].strip().strip('"') if "," in raw else raw[1:-1]
        try:
            return float(tail)
        except ValueError:
            pass
    values = numbers(entry, prop)
    return values[-1] if values else None


def _active(values: list[float]) -> list[float]:
    """Values from the first non-zero one on: before media flows, zeros mean nothing."""
    for i, v in enumerate(values):
        if v:
            return values[i:]
    return []


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _strings(entry: Mapping[str, Any], prop: str) -> list[str]:
    return [str(v) for v in series(entry, prop) if v is not None]


def _kind(entry: Mapping[str, Any]) -> str:
    kinds = _strings(entry, "kind") or _strings(entry, "mediaType")
    return kinds[-1] if kinds else ""


def _of_type(pc: PeerConnectionStats, *types: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for stat_id, entry in pc.stats.items():
        if entry.get("type") in types:
            yield stat_id, entry


def _durations(entry: Mapping[str, Any]) -> dict[str, float] | None:
    values = series(entry, "qualityLimitationDurations")
    if not values:
        return None
    value = values[-1]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def observe(pc: PeerConnectionStats) -> list[Observation]:
    """Every indicator the stats of one connection allow."""
    if any(e.get("type") in LEGACY_TYPES for e in pc.stats.values()) and not any(
            e.get("type") == "inbound-rtp" or e.get("type") == "outbound-rtp"
            for e in pc.stats.values()):
        return _observe_legacy(pc)
    out: list[Observation] = []
    n = pc.samples

    def add(indicator: str, value: float | str, where: str, media: str = "",
            direction: str = "", detail: str = "", samples: int = n) -> None:
        value = round(value, 4) if isinstance(value, float) else value
        out.append(Observation(indicator, value, f"PeerConnection {pc.id} / {where}",
                               media, direction, samples, detail))

    playout: dict[str, float] = {}
    for stat_id, e in _of_type(pc, "inbound-rtp"):
        kind = _kind(e)
        lost, received = last(e, "packetsLost"), last(e, "packetsReceived")
        if lost is not None and received is not None and lost + received >= MIN_PACKETS:
            add("loss_pct", 100 * max(lost, 0) / (lost + received), stat_id, kind, "inbound",
                f"{int(lost)} lost of {int(lost + received)}")
        jitter = _median(_active(numbers(e, "jitter")))
        if jitter is not None:
            add("jitter_ms", jitter * 1000, stat_id, kind, "inbound",
                f"peak {max(numbers(e, 'jitter')) * 1000:.0f} ms")
        delay, emitted = last(e, "jitterBufferDelay"), last(e, "jitterBufferEmittedCount")
        if delay is not None and emitted:
            playout[kind] = 1000 * delay / emitted
            add("jitter_buffer_ms", playout[kind], stat_id, kind, "inbound")
        received_bytes = numbers(e, "bytesReceived")
        if len(received_bytes) >= 3:  # one sample may be taken before media starts
            add("bytes_received", received_bytes[-1], stat_id, kind, "inbound",
                samples=len(received_bytes))
        if kind == "video":
            _video_inbound(stat_id, e, add)
        elif kind == "audio":
            concealed, total = last(e, "concealedSamples"), last(e, "totalSamplesReceived")
            if concealed is not None and total:
                add("concealment_pct", 100 * concealed / total, stat_id, kind, "inbound",
                    f"{int(concealed)} of {int(total)} samples")
            levels = numbers(e, "audioLevel")
            if levels and received:
                add("audio_level_max", max(levels), stat_id, kind, "inbound")
    if "audio" in playout and "video" in playout:
        add("av_skew_ms", playout["video"] - playout["audio"], "inbound-rtp audio vs video",
            detail=f"video {playout['video']:.0f} ms, audio {playout['audio']:.0f} ms buffered")

    capture_fps: dict[str, list[float]] = {}
    for stat_id, e in _of_type(pc, "media-source"):
        kind = _kind(e)
        if kind == "audio":
            levels = numbers(e, "audioLevel")
            if levels:
                add("audio_level_max", max(levels), stat_id, kind, "outbound")
        elif kind == "video":
            capture_fps[stat_id] = _active(numbers(e, "framesPerSecond"))
    for stat_id, e in _of_type(pc, "outbound-rtp"):
        _outbound(stat_id, e, _kind(e), capture_fps, add)
    for stat_id, e in _of_type(pc, "remote-inbound-rtp"):
        kind = _kind(e)
        fraction = _median(numbers(e, "fractionLost"))
        if fraction is not None and len(numbers(e, "fractionLost")) >= 1:
            add("loss_pct", 100 * fraction, stat_id, kind, "outbound", "fractionLost (RTCP)")
    _transport(pc, add)
    return out


def _video_inbound(stat_id: str, e: Mapping[str, Any], add: Any) -> None:
    freezes = last(e, "freezeCount")
    if freezes is not None:
        add("freeze_count", freezes, stat_id, "video", "inbound")
    frozen, watched = last(e, "totalFreezesDuration"), last(e, "totalInterFrameDelay")
    if frozen is not None and watched:
        add("freeze_pct", 100 * frozen / watched, stat_id, "video", "inbound",
            f"{frozen:.1f} s frozen of {watched:.1f} s")
    fps = _active(numbers(e, "framesPerSecond"))
    if fps:
        add("fps_received", _median(fps) or 0.0, stat_id, "video", "inbound",
            f"min {min(fps):.0f}, max {max(fps):.0f}", len(fps))
    received, decoded = last(e, "framesReceived"), last(e, "framesDecoded")
    if received and decoded is not None and received >= 30:
        add("frames_decoded", decoded, stat_id, "video", "inbound",
            f"{int(received)} frames received")
    heights = _active(numbers(e, "frameHeight"))
    if len(heights) >= 2 and max(heights):
        drop = 100 * (max(heights) - _median(heights)) / max(heights)  # type: ignore[operator]
        add("resolution_drop_pct", drop, stat_id, "video", "inbound",
            f"{max(heights):.0f}p peak, {_median(heights):.0f}p typical")


def _outbound(stat_id: str, e: Mapping[str, Any], kind: str, capture_fps: dict[str, list[float]],
              add: Any) -> None:
    if kind != "video":
        return
    durations = _durations(e)
    if durations:
        total = sum(float(v) for v in durations.values() if isinstance(v, (int, float)))
        if total > 0:
            for reason in ("cpu", "bandwidth"):
                share = 100 * float(durations.get(reason, 0)) / total
                add(f"quality_limited_{reason}_pct", share, stat_id, "video", "outbound",
                    f"qualityLimitationDurations over {total:.0f} s")
    else:
        reasons = _strings(e, "qualityLimitationReason")
        for reason in ("cpu", "bandwidth"):
            if reasons:
                add(f"quality_limited_{reason}_pct",
                    100 * reasons.count(reason) / len(reasons), stat_id, "video", "outbound",
                    f"qualityLimitationReason in {len(reasons)} sample(s)", len(reasons))
    changes = last(e, "qualityLimitationResolutionChanges")
    if changes is not None:
        add("resolution_changes", changes, stat_id, "video", "outbound")
    sent = _active(numbers(e, "framesPerSecond"))
    source = next(iter(v for v in capture_fps.values() if v), [])
    source_ids = [str(s) for s in series(e, "mediaSourceId")]
    if source_ids and source_ids[-1] in capture_fps:
        source = capture_fps[source_ids[-1]]
    if sent and source:
        gap = (_median(source) or 0.0) - (_median(sent) or 0.0)
        add("fps_capture_gap", gap, stat_id, "video", "outbound",
            f"captured {_median(source):.0f} fps, sent {_median(sent):.0f} fps")


def _transport(pc: PeerConnectionStats, add: Any) -> None:
    pairs = list(_of_type(pc, "candidate-pair"))
    states = {stat_id: _strings(e, "state") for stat_id, e in pairs}
    known = [s for s in states.values() if s]  # delta-compressed traces omit unchanged states
    flowing = any(last(e, "bytesReceived") for _, e in pairs)
    if known and not flowing and not any("succeeded" in s for s in known):
        add("no_succeeded_pair", 1, f"{len(pairs)} candidate pair(s)",
            detail="states seen: " + ", ".join(sorted({x for s in states.values() for x in s})))
    selected: set[str] = set()
    for _, e in _of_type(pc, "transport"):
        selected.update(_strings(e, "selectedCandidatePairId")[-1:])
        if "failed" in _strings(e, "dtlsState"):
            add("dtls_failed", 1, "transport dtlsState")
        if "failed" in _strings(e, "iceState"):
            add("ice_failed", 1, "transport iceState")
    if not selected:
        selected = {i for i, e in pairs if "true" in [str(v).lower() for v in
                                                      series(e, "nominated")]
                    and "succeeded" in states[i]}
    for stat_id in sorted(selected):
        e = pc.stats.get(stat_id)
        if not e:
            continue
        rtt = _median(_active(numbers(e, "currentRoundTripTime")))
        if rtt is not None:
            add("rtt_ms", rtt * 1000, stat_id,
                detail=f"peak {max(numbers(e, 'currentRoundTripTime')) * 1000:.0f} ms")
        local = pc.stats.get((_strings(e, "localCandidateId") or [""])[-1], {})
        kind = (_strings(local, "candidateType") or [""])[-1]
        relay = (_strings(local, "relayProtocol") or [""])[-1]
        if kind == "relay":
            add("relay_tcp", 1 if relay in ("tcp", "tls") else 0, stat_id,
                detail=f"local candidate relay over {relay or 'unknown protocol'}")
    if not selected:
        for stat_id, e in _of_type(pc, "remote-inbound-rtp"):
            rtt = _median(_active(numbers(e, "roundTripTime")))
            if rtt is not None:
                add("rtt_ms", rtt * 1000, stat_id, _kind(e), "outbound")
                break
    _events(pc, add)


def _events(pc: PeerConnectionStats, add: Any) -> None:
    disconnects = 0
    for time, kind, value in pc.events:
        low = value.lower()
        if kind in ("iceconnectionstatechange", "connectionstatechange",
                    "iceConnectionStateChange") and low.startswith("failed"):
            add("ice_failed", 1, f"event {kind} at {time}")
        elif kind in ("iceconnectionstatechange", "iceConnectionStateChange") and \
                low.startswith("disconnected"):
            disconnects += 1
        elif kind == "icecandidateerror":
            for code in ("701", "401", "441"):
                if code in value:
                    add("turn_error", code, f"event icecandidateerror at {time}",
                        detail=value[:120])
                    break
    if disconnects:
        add("reconnects", disconnects, "events iceconnectionstatechange")


def _observe_legacy(pc: PeerConnectionStats) -> list[Observation]:
    """Chrome's pre-2020 `goog*` stats: loss, RTT, jitter, fps, levels, limits."""
    out: list[Observation] = []

    def add(indicator: str, value: float | str, where: str, media: str = "",
            direction: str = "", detail: str = "") -> None:
        value = round(value, 4) if isinstance(value, float) else value
        out.append(Observation(indicator, value, f"PeerConnection {pc.id} / {where}",
                               media, direction, pc.samples, detail + " (legacy goog stats)"))

    for stat_id, e in _of_type(pc, "ssrc"):
        kind = _kind(e)
        lost = last(e, "packetsLost")
        received, sent = last(e, "packetsReceived"), last(e, "packetsSent")
        if received is not None and lost is not None and lost + received >= MIN_PACKETS:
            add("loss_pct", 100 * max(lost, 0) / (lost + received), stat_id, kind, "inbound",
                f"{int(lost)} lost of {int(lost + received)}")
        elif sent is not None and lost is not None and sent >= MIN_PACKETS:
            add("loss_pct", 100 * max(lost, 0) / sent, stat_id, kind, "outbound",
                f"{int(lost)} reported lost of {int(sent)} sent")
        rtt = _median(_active(numbers(e, "googRtt")))
        if rtt is not None and sent is not None:
            add("rtt_ms", rtt, stat_id, kind, "outbound")
        jitter = _median(_active(numbers(e, "googJitterReceived")))
        if jitter is not None:
            add("jitter_ms", jitter, stat_id, kind, "inbound")
        fps = _active(numbers(e, "googFrameRateDecoded") or numbers(e, "googFrameRateReceived"))
        if fps and kind == "video":
            add("fps_received", _median(fps) or 0.0, stat_id, kind, "inbound",
                f"min {min(fps):.0f}, max {max(fps):.0f}")
        for prop, direction in (("audioInputLevel", "outbound"), ("audioOutputLevel", "inbound")):
            levels = numbers(e, prop)
            if levels and kind == "audio":
                add("audio_level_max", max(levels) / 32767, stat_id, kind, direction)
        for prop, reason in (("googCpuLimitedResolution", "cpu"),
                             ("googBandwidthLimitedResolution", "bandwidth")):
            flags = _strings(e, prop)
            if flags:
                add(f"quality_limited_{reason}_pct",
                    100 * flags.count("true") / len(flags), stat_id, "video", "outbound")
    pairs = list(_of_type(pc, "googCandidatePair"))
    for stat_id, e in pairs:
        if "true" in _strings(e, "googActiveConnection"):
            rtt = _median(_active(numbers(e, "googRtt")))
            if rtt is not None:
                add("rtt_ms", rtt, stat_id)
            if "relay" in _strings(e, "googLocalCandidateType"):
                proto = (_strings(e, "googTransportType") or [""])[-1]
                add("relay_tcp", 1 if proto == "tcp" else 0, stat_id,
                    detail=f"relay over {proto or 'unknown'}")
    if pairs and not any("true" in _strings(e, "googActiveConnection") for _, e in pairs):
        add("no_succeeded_pair", 1, f"{len(pairs)} candidate pair(s)", detail="none active")
    _events(pc, lambda indicator, value, where, media="", direction="", detail="":
            add(indicator, value, where, media, direction, detail))
    return out
