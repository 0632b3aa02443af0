"""Bytes → text → which reader → observations. The only place that guesses the kind."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from kb.diagnose import getstats, internals, trace
from kb.diagnose.freetext import read_numbers
from kb.diagnose.logs import read_log
from kb.diagnose.model import Observation
from kb.diagnose.stats import observe
from kb.errors import DiagnoseError

MAX_BYTES = 50 * 1024 * 1024
"""Largest artefact read: a long webrtc-internals dump is 5–30 MB."""
SALVAGE_LIMIT = 4 * 1024 * 1024
"""Truncated getStats JSON above this size is not scanned object by object."""
_STATS_HINT = re.compile(r'"type"\s*:\s*"(?:inbound-rtp|outbound-rtp|candidate-pair|'
                         r'remote-inbound-rtp|media-source|transport)"')


@dataclass(frozen=True)
class Reading:
    """What a reader made of the artefact."""

    kind: str
    """`webrtc-internals`, `rtcstats`, `log`, `text` or `unknown`."""
    observations: tuple[Observation, ...]
    """Everything measured."""
    notes: tuple[str, ...] = ()
    """What was tolerated or skipped."""
    summary: dict[str, Any] = field(default_factory=dict)
    """Counts: peer connections, stats ids, samples, lines."""
    span: tuple[int, int] | None = None
    """Where a JSON artefact sits inside a longer text (start, end), if it is embedded."""


def read_bytes(path: Path | None, stdin: IO[bytes] | None = None) -> bytes:
    """The artefact's bytes from a file or stdin, refused above MAX_BYTES."""
    cap = f"{MAX_BYTES // (1024 * 1024)} MB"
    if path is None:
        assert stdin is not None
        data = stdin.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise DiagnoseError(f"stdin: input is over the {cap} cap; attach a shorter excerpt "
                                "(the minutes around the problem)")
        return data
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DiagnoseError(f"{path}: cannot read: {exc.strerror}") from exc
    if size > MAX_BYTES:
        raise DiagnoseError(f"{path}: {size / 1024 / 1024:.0f} MB is over the {cap} cap; "
                            "attach a shorter excerpt (the minutes around the problem)")
    return path.read_bytes()


def decode(data: bytes, name: str) -> str:
    """Text from bytes (UTF-8, UTF-8 with BOM or UTF-16); binary data is refused."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    head = data[:65536]
    nul = head.count(b"\x00")
    if nul:
        raise DiagnoseError(f"{name}: looks like binary data ({nul} NUL bytes in the first "
                            f"{len(head)} bytes); attach a webrtc-internals JSON dump, getStats() "
                            "JSON or a text log")
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd", 0, 65536)
    if bad > max(8, len(head) // 100):
        raise DiagnoseError(f"{name}: not UTF-8 text ({bad} undecodable bytes in the first "
                            f"{len(head)}); save the log as UTF-8 and try again")
    return text


def read_text(text: str, name: str = "input") -> Reading:
    """Detect the kind of artefact and run its reader."""
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        reading = _read_json(stripped, name)
        if reading is not None:
            offset = len(text) - len(stripped)
            return Reading(reading.kind, reading.observations, reading.notes, reading.summary,
                           (offset, len(text)))
    span = embedded_json(text)
    if span:
        inner = _read_json(text[span[0]:span[1]], name)
        if inner is not None:
            rest = text[:span[0]] + text[span[1]:]
            extra = read_log(rest) + read_numbers(rest)
            return Reading(inner.kind, inner.observations + tuple(extra), inner.notes,
                           inner.summary, span)
    return _read_lines(text)


def embedded_json(text: str) -> tuple[int, int] | None:
    """Where a stats dump or report sits inside a longer text (a ticket), if one does."""
    hint = text.find('"PeerConnections"')
    if hint == -1:
        match = _STATS_HINT.search(text)
        hint = match.start() if match else -1
    if hint == -1:
        return None
    decoder = json.JSONDecoder()
    start = hint
    for _ in range(40):
        start = max(text.rfind("{", 0, start), text.rfind("[", 0, start))
        if start == -1:
            return None
        try:
            _, end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        value_text = text[start:end]
        if '"PeerConnections"' in value_text or _STATS_HINT.search(value_text):
            if end > hint:
                while True:  # widen to the outermost value that still parses
                    outer = max(text.rfind("{", 0, start), text.rfind("[", 0, start))
                    if outer == -1:
                        return start, end
                    try:
                        _, outer_end = decoder.raw_decode(text, outer)
                    except ValueError:
                        return start, end
                    start, end = outer, outer_end
    return None


def _read_json(text: str, name: str) -> Reading | None:
    head = text[:4096]
    values, tail = getstats.json_values(text)
    notes: list[str] = []
    if not values and tail:
        if internals.looks_like_dump(head):
            pcs = internals.salvage_dump(text, name)
            if not pcs:
                raise _json_error(text, name, "a webrtc-internals dump with no complete stats "
                                  "series; attach the whole file as downloaded")
            return _stats_reading("webrtc-internals", pcs, ["the dump is truncated or malformed; "
                                  "complete stats series were read"])
        if _STATS_HINT.search(head):
            stats = getstats.salvage(text[:SALVAGE_LIMIT])
            if stats:
                return _stats_reading("rtcstats", [getstats.to_connection([stats])],
                                      [f"the JSON is truncated; {len(stats)} complete stats "
                                       "objects were read"])
        if re.match(r"[\[{]\s*[\[{\"]", text):
            raise _json_error(text, name)
        return None  # "[12:00:01] ..." is a log line, not JSON
    if tail:
        notes.append(f"ignored {len(tail)} characters after the JSON (truncated or extra text)")
    first = values[0]
    if isinstance(first, dict) and ("PeerConnections" in first or "getUserMedia" in first):
        pcs = internals.read_dump(first, name)
        return _stats_reading("webrtc-internals", pcs, notes)
    if trace.is_trace(values):
        pcs, logged = trace.read_trace(values)
        reading = _stats_reading("rtcstats-trace", pcs, notes)
        return Reading(reading.kind, reading.observations + tuple(logged), reading.notes,
                       reading.summary)
    reports = [s for v in values for s in getstats.samples_in(v)]
    if tail and _STATS_HINT.search(tail[:4096]):
        extra = getstats.salvage(tail[:SALVAGE_LIMIT])
        if extra:
            reports.append(extra)
    if reports:
        return _stats_reading("rtcstats", [getstats.to_connection(reports)], notes)
    return None


def _json_error(text: str, name: str, what: str = "") -> DiagnoseError:
    hint = what or ("attach the file as downloaded, or paste the whole getStats() output")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return DiagnoseError(f"{name}:{exc.lineno}:{exc.colno}: malformed JSON ({exc.msg}); "
                             + hint)
    return DiagnoseError(f"{name}: malformed JSON; {hint}")


def _stats_reading(kind: str, pcs: list[Any], notes: list[str]) -> Reading:
    observations: list[Observation] = []
    for pc in pcs:
        observations += observe(pc)
    if not observations:
        notes.append("no indicator could be computed from these stats (only send counters, "
                     "certificates or codecs?); add inbound-rtp and candidate-pair stats")
    summary = {"peer_connections": len(pcs), "stats": sum(len(pc.stats) for pc in pcs),
               "samples": max((pc.samples for pc in pcs), default=0)}
    return Reading(kind, tuple(observations), tuple(notes), summary)


def _read_lines(text: str) -> Reading:
    logged = read_log(text)
    stated = read_numbers(text)
    lines = len(text.splitlines())
    if logged:
        return Reading("log", tuple(logged + stated), (), {"lines": lines})
    if stated:
        return Reading("text", tuple(stated), (), {"lines": lines})
    return Reading("unknown", (), ("no stats, log signature or stated measurement recognised",),
                   {"lines": lines})
