"""Time `kb diagnose` on a synthetic 20 MB webrtc-internals dump (and a truncated copy).

The dump is shaped like a long Chrome call: 4 peer connections, 30 stat objects each with ~17
properties, ~1,500 samples per series, every series a JSON-encoded string as Chrome writes it.
Reports the median of several runs of read → decode → detect → indicators → rules, plus peak
Python memory for one run. Run: .venv/bin/python benchmarks/diagnose_speed.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from kb.diagnose import diagnose_bytes, load_rules, read_bytes

REPO = Path(__file__).resolve().parent.parent
TARGET_MB = 20
STAT_TYPES = (
    ("IT01V", "inbound-rtp", "video", ("packetsReceived", "packetsLost", "jitter",
                                       "framesPerSecond", "framesReceived", "framesDecoded",
                                       "freezeCount", "totalFreezesDuration",
                                       "totalInterFrameDelay", "frameHeight", "bytesReceived",
                                       "jitterBufferDelay", "jitterBufferEmittedCount",
                                       "nackCount", "pliCount", "qpSum", "framesDropped")),
    ("IT01A", "inbound-rtp", "audio", ("packetsReceived", "packetsLost", "jitter",
                                       "concealedSamples", "totalSamplesReceived", "audioLevel",
                                       "bytesReceived", "jitterBufferDelay",
                                       "jitterBufferEmittedCount", "totalAudioEnergy",
                                       "insertedSamplesForDeceleration",
                                       "removedSamplesForAcceleration", "silentConcealedSamples",
                                       "concealmentEvents", "totalSamplesDuration",
                                       "headerBytesReceived", "fecPacketsReceived")),
    ("OT01V", "outbound-rtp", "video", ("framesPerSecond", "qualityLimitationReason",
                                        "qualityLimitationResolutionChanges", "bytesSent",
                                        "packetsSent", "framesEncoded", "totalEncodeTime",
                                        "frameWidth", "frameHeight", "nackCount", "pliCount",
                                        "retransmittedBytesSent", "targetBitrate", "qpSum",
                                        "hugeFramesSent", "totalPacketSendDelay",
                                        "keyFramesEncoded")),
)


def synthetic_dump(samples: int, seed: int = 7) -> bytes:
    """A dump with `samples` points per series: numbers drift like real counters."""
    rng = random.Random(seed)
    pcs = {}
    for pc in range(4):
        stats: dict[str, dict] = {}
        for prefix, kind, media, props in STAT_TYPES:
            for n in range(10):
                for prop in ("timestamp", "kind", *props):
                    if prop == "kind":
                        values: list = [media] * samples
                    elif prop == "timestamp":
                        values = [1_704_103_200_000 + 1000 * i for i in range(samples)]
                    elif prop == "qualityLimitationReason":
                        values = [rng.choice(("none", "none", "cpu", "bandwidth"))
                                  for _ in range(samples)]
                    else:
                        base = rng.uniform(0, 1000)
                        values = [round(base + i * rng.uniform(0, 3), 3) for i in range(samples)]
                    stats[f"{prefix}{pc}{n:04d}-{prop}"] = {
                        "startTime": "2024-01-01T10:00:00.000Z",
                        "endTime": "2024-01-01T10:20:00.000Z",
                        "statsType": kind, "values": json.dumps(values)}
        pcs[f"1000{pc}-1"] = {"constraints": "", "rtcConfiguration": "", "stats": stats,
                               "updateLog": [], "url": "https://example.test/"}
    return json.dumps({"getUserMedia": [], "PeerConnections": pcs,
                       "UserAgent": "synthetic Chrome/131"}).encode()


def sized_dump(target_bytes: int) -> bytes:
    """A dump of about `target_bytes`, scaled from a small one's size per sample."""
    samples = 100
    for _ in range(2):  # JSON grows a little faster than linearly with the sample count
        samples = max(10, int(samples * target_bytes / len(synthetic_dump(samples))))
    return synthetic_dump(samples)


def timed(path: Path, rules: list, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        result = diagnose_bytes(read_bytes(path), rules, path.name)
        seconds.append(time.perf_counter() - start)
    assert result.findings or result.observations
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mb", type=float, default=TARGET_MB)
    args = parser.parse_args()
    rules = load_rules(REPO / "articles" / "diagnostics.yaml")
    with tempfile.TemporaryDirectory() as folder:
        full = Path(folder) / "dump.json"
        full.write_bytes(sized_dump(int(args.mb * 1024 * 1024)))
        cut = Path(folder) / "truncated.json"
        data = full.read_bytes()
        cut.write_bytes(data[: int(len(data) * 0.9)])
        size = full.stat().st_size / 1e6
        result = diagnose_bytes(data, rules, "dump.json")
        print(f"dump: {size:.1f} MB, {result.summary['peer_connections']} peer connections, "
              f"{result.summary['stats']} stat objects, {result.summary['samples']} samples, "
              f"{len(result.observations)} observations, {len(result.findings)} findings")
        for label, path in (("complete dump", full), ("truncated dump (salvage)", cut)):
            seconds = timed(path, rules, args.runs)
            print(f"{label}: median {statistics.median(seconds):.2f} s, "
                  f"min {min(seconds):.2f} s, max {max(seconds):.2f} s over {args.runs} runs")
        tracemalloc.start()
        diagnose_bytes(read_bytes(full), rules, "dump.json")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"peak Python memory for one complete dump: {peak / 1024 / 1024:.0f} MB")


if __name__ == "__main__":
    main()
