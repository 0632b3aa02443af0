"""Writes the synthetic fixtures in this folder: `python tests/data/diagnose/synthetic/make.py`.

Each fixture trips chosen rules (see ../cases.yaml); the numbers are picked to sit clearly on
one side of each threshold in articles/diagnostics.yaml.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def dump(pcs: dict[str, dict], events: dict[str, list] | None = None) -> dict:
    """A webrtc-internals dump: stats as `<id>-<prop>` → {statsType, values: JSON string}."""
    out = {"getUserMedia": [], "UserAgent": "Mozilla/5.0 (synthetic) Chrome/131.0.0.0",
           "PeerConnections": {}}
    for pc_id, stats in pcs.items():
        entries = {}
        for stat_id, (kind, props) in stats.items():
            n = max(len(v) for v in props.values())
            props = {"timestamp": [1_700_000_000_000 + 1000 * i for i in range(n)], **props}
            for prop, values in props.items():
                entries[f"{stat_id}-{prop}"] = {
                    "startTime": "2024-01-01T00:00:00.000Z", "endTime": "2024-01-01T00:05:00Z",
                    "statsType": kind, "values": json.dumps(values)}
        out["PeerConnections"][pc_id] = {
            "constraints": "", "rtcConfiguration": "{ iceServers: [] }", "stats": entries,
            "updateLog": (events or {}).get(pc_id, []), "url": "https://example.test/call"}
    return out


def ramp(start: float, step: float, n: int = 30) -> list[float]:
    return [round(start + step * i, 4) for i in range(n)]


def constant(value: object, n: int = 30) -> list[object]:
    return [value] * n


def bad_network() -> dict:
    """8 % video loss, 45 ms jitter, freezes, CPU-limited sender, RTT 320 ms."""
    return dump({"1234-1": {
        "IT01V1111": ("inbound-rtp", {
            "kind": constant("video"), "packetsReceived": ramp(100, 100),
            "packetsLost": ramp(8, 8.7), "jitter": constant(0.045),
            "framesPerSecond": constant(14), "framesReceived": ramp(30, 15),
            "framesDecoded": ramp(30, 15), "freezeCount": ramp(0, 0.2),
            "totalFreezesDuration": ramp(0, 0.3), "totalInterFrameDelay": ramp(1, 1),
            "frameHeight": constant(720), "bytesReceived": ramp(1000, 90000)}),
        "IT01A2222": ("inbound-rtp", {
            "kind": constant("audio"), "packetsReceived": ramp(50, 50),
            "packetsLost": ramp(0, 0.2), "jitter": constant(0.012),
            "concealedSamples": ramp(0, 100), "totalSamplesReceived": ramp(48000, 48000),
            "audioLevel": constant(0.2), "bytesReceived": ramp(500, 4000)}),
        "OT01V3333": ("outbound-rtp", {
            "kind": constant("video"), "framesPerSecond": constant(15),
            "qualityLimitationReason": constant("cpu"),
            "qualityLimitationDurations": constant(
                json.dumps({"none": 10.0, "cpu": 20.0, "bandwidth": 0.0, "other": 0.0})),
            "qualityLimitationResolutionChanges": ramp(0, 0.1)}),
        "CPabc_def": ("candidate-pair", {
            "state": constant("succeeded"), "nominated": constant(True),
            "currentRoundTripTime": constant(0.32), "localCandidateId": constant("Iabc"),
            "remoteCandidateId": constant("Idef")}),
        "Iabc": ("local-candidate", {"candidateType": constant("host"),
                                     "protocol": constant("udp")}),
        "T01": ("transport", {"selectedCandidatePairId": constant("CPabc_def"),
                              "dtlsState": constant("connected"),
                              "iceState": constant("connected")}),
    }})


def ice_failed() -> dict:
    """Candidate pairs never succeed; the update log ends in `failed`."""
    return dump({"9876-2": {
        "CPx_y": ("candidate-pair", {"state": ["waiting", "in-progress", "failed"],
                                     "nominated": constant(False, 3)}),
        "CPx_z": ("candidate-pair", {"state": ["waiting", "in-progress", "in-progress"]}),
        "T01": ("transport", {"iceState": ["new", "checking", "failed"],
                              "dtlsState": ["new", "new", "new"]}),
    }}, {"9876-2": [
        {"time": "1/1/2024, 10:00:01 AM", "type": "iceconnectionstatechange",
         "value": "checking"},
        {"time": "1/1/2024, 10:00:31 AM", "type": "iceconnectionstatechange",
         "value": "failed"},
        {"time": "1/1/2024, 10:00:31 AM", "type": "connectionstatechange", "value": "failed"},
    ]})


def no_video_decoded() -> dict:
    """Video packets arrive and are never decoded; audio plays; two ICE disconnects; TCP relay."""
    return dump({"555-1": {
        "IT01V1": ("inbound-rtp", {
            "kind": constant("video"), "packetsReceived": ramp(100, 200),
            "packetsLost": constant(0), "framesReceived": ramp(30, 15),
            "framesDecoded": constant(0), "bytesReceived": ramp(5000, 150000)}),
        "IT01A1": ("inbound-rtp", {
            "kind": constant("audio"), "packetsReceived": constant(0),
            "packetsLost": constant(0), "bytesReceived": constant(0)}),
        "CP1": ("candidate-pair", {"state": constant("succeeded"), "nominated": constant(True),
                                   "currentRoundTripTime": constant(0.09),
                                   "localCandidateId": constant("L1")}),
        "L1": ("local-candidate", {"candidateType": constant("relay"),
                                   "relayProtocol": constant("tls")}),
        "T1": ("transport", {"selectedCandidatePairId": constant("CP1")}),
    }}, {"555-1": [
        {"time": "t1", "type": "iceconnectionstatechange", "value": "disconnected"},
        {"time": "t2", "type": "iceconnectionstatechange", "value": "connected"},
        {"time": "t3", "type": "iceconnectionstatechange", "value": "disconnected"},
        {"time": "t4", "type": "iceconnectionstatechange", "value": "connected"},
    ]})


def legacy() -> dict:
    """Chrome before 2020: `ssrc` and `googCandidatePair` stats with goog* names."""
    return dump({"77-1": {
        "ssrc_111_recv": ("ssrc", {"mediaType": constant("video"),
                                   "packetsReceived": ramp(100, 100),
                                   "packetsLost": ramp(10, 12),
                                   "googFrameRateReceived": constant("6"),
                                   "googFrameRateDecoded": constant("6")}),
        "ssrc_222_send": ("ssrc", {"mediaType": constant("audio"), "packetsSent": ramp(50, 50),
                                   "packetsLost": constant(0), "googRtt": constant("420"),
                                   "audioInputLevel": constant("0")}),
        "Conn-audio-1-0": ("googCandidatePair", {"googActiveConnection": constant("true"),
                                                 "googRtt": constant("410"),
                                                 "googLocalCandidateType": constant("local")}),
    }})


def unknown_version() -> dict:
    data = dump({"1-1": {"X1": ("rtp-inbound-v9", {"lossRatio": constant(0.1)})}})
    return data


def getstats_array() -> list:
    """One getStats() report, array form: the mic sends silence; 5 % concealed audio."""
    return [
        {"id": "OA1", "type": "outbound-rtp", "kind": "audio", "timestamp": 1.7e12,
         "packetsSent": 1500, "bytesSent": 120000, "mediaSourceId": "SA1"},
        {"id": "SA1", "type": "media-source", "kind": "audio", "timestamp": 1.7e12,
         "audioLevel": 0, "totalAudioEnergy": 0},
        {"id": "IA1", "type": "inbound-rtp", "kind": "audio", "timestamp": 1.7e12,
         "packetsReceived": 1500, "packetsLost": 10, "jitter": 0.008,
         "concealedSamples": 24000, "totalSamplesReceived": 480000, "audioLevel": 0.3,
         "jitterBufferDelay": 48.0, "jitterBufferEmittedCount": 480000},
        {"id": "CP1", "type": "candidate-pair", "timestamp": 1.7e12, "state": "succeeded",
         "nominated": True, "currentRoundTripTime": 0.05, "localCandidateId": "L1"},
        {"id": "L1", "type": "local-candidate", "timestamp": 1.7e12, "candidateType": "srflx",
         "protocol": "udp"},
        {"id": "T1", "type": "transport", "timestamp": 1.7e12, "selectedCandidatePairId": "CP1",
         "dtlsState": "connected"},
    ]


def getstats_samples() -> str:
    """Three getStats() reports in map form, one per line: high jitter buffer, A/V skew."""
    lines = []
    for i in range(1, 4):
        report = {
            "IA": {"type": "inbound-rtp", "kind": "audio", "timestamp": 1.7e12 + i * 1000,
                   "packetsReceived": 500 * i, "packetsLost": 0,
                   "jitterBufferDelay": 0.35 * 48000 * i, "jitterBufferEmittedCount": 48000 * i,
                   "audioLevel": 0.2, "bytesReceived": 20000 * i},
            "IV": {"type": "inbound-rtp", "kind": "video", "timestamp": 1.7e12 + i * 1000,
                   "packetsReceived": 900 * i, "packetsLost": 0, "framesPerSecond": 24,
                   "framesReceived": 24 * i + 30, "framesDecoded": 24 * i + 30,
                   "jitterBufferDelay": 0.5 * 24 * i, "jitterBufferEmittedCount": 24 * i,
                   "bytesReceived": 300000 * i},
            "CP": {"type": "candidate-pair", "timestamp": 1.7e12 + i * 1000, "state": "succeeded",
                   "nominated": True, "currentRoundTripTime": 0.04, "localCandidateId": "L"},
            "L": {"type": "local-candidate", "timestamp": 1.7e12, "candidateType": "host"},
        }
        lines.append(json.dumps(report))
    return "\n".join(lines) + "\n"


def healthy() -> list:
    """A report with nothing wrong: no findings expected."""
    return [
        {"id": "IV", "type": "inbound-rtp", "kind": "video", "timestamp": 1.7e12,
         "packetsReceived": 9000, "packetsLost": 9, "jitter": 0.004, "framesPerSecond": 30,
         "framesReceived": 900, "framesDecoded": 899, "freezeCount": 0,
         "totalFreezesDuration": 0, "totalInterFrameDelay": 30.0},
        {"id": "CP", "type": "candidate-pair", "timestamp": 1.7e12, "state": "succeeded",
         "nominated": True, "currentRoundTripTime": 0.03},
    ]


def main() -> None:
    files = {
        "internals-bad-network.json": json.dumps(bad_network(), indent=1),
        "internals-ice-failed.json": json.dumps(ice_failed()),
        "internals-no-video.json": json.dumps(no_video_decoded()),
        "internals-legacy.json": json.dumps(legacy()),
        "internals-unknown-version.json": json.dumps(unknown_version()),
        "getstats-array.json": json.dumps(getstats_array(), indent=2),
        "getstats-samples.jsonl": getstats_samples(),
        "getstats-healthy.json": json.dumps(healthy()),
    }
    bad = files["internals-bad-network.json"]
    files["internals-truncated.json"] = bad[: int(len(bad) * 0.8)]
    files["getstats-truncated.json"] = files["getstats-array.json"][:-120]
    files["malformed.json"] = '{"PeerConnections": {"1-1": {"stats": {,}}}}'
    for name, text in files.items():
        (HERE / name).write_text(text, "utf-8")


if __name__ == "__main__":
    main()
