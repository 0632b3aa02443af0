"""`RTCStatsReport` JSON as printed from getStats(): array or map form, one or more samples."""

from __future__ import annotations

import json
from typing import Any

from kb.diagnose.stats import PeerConnectionStats

_MAX_DEPTH = 4


def is_stat(value: Any) -> bool:
    """A single RTCStats object: has a `type` and a `timestamp` or an `id`."""
    return isinstance(value, dict) and isinstance(value.get("type"), str) and (
        "timestamp" in value or "id" in value)


def samples_in(value: Any, depth: int = 0) -> list[list[dict[str, Any]]]:
    """Every report in a parsed JSON value: a list of stats, a map id → stats, or nestings."""
    if depth > _MAX_DEPTH:
        return []
    if isinstance(value, list):
        stats = [v for v in value if is_stat(v)]
        if stats and len(stats) * 2 >= len(value):
            return [stats]
        return [s for v in value for s in samples_in(v, depth + 1)]
    if isinstance(value, dict):
        if is_stat(value):
            return [[value]]
        stats = [dict(v, id=v.get("id", k)) for k, v in value.items() if is_stat(v)]
        if stats:
            return [stats]
        return [s for v in value.values() for s in samples_in(v, depth + 1)]
    return []


def json_values(text: str) -> tuple[list[Any], str]:
    """Every top-level JSON value in the text (JSON lines and pasted runs included), and what
    was left unparsed (a truncated tail)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos, end = 0, len(text)
    while pos < end:
        while pos < end and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= end:
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return values, text[pos:]
        values.append(value)
    return values, ""


def salvage(tail: str) -> list[dict[str, Any]]:
    """Complete stats objects inside a truncated JSON text."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    pos = tail.find("{", 1)
    while pos != -1:
        try:
            value, end = decoder.raw_decode(tail, pos)
        except ValueError:
            pos = tail.find("{", pos + 1)
            continue
        if is_stat(value):
            found.append(value)
            pos = tail.find("{", end)
        else:
            pos = tail.find("{", pos + 1)
    return found


def to_connection(reports: list[list[dict[str, Any]]]) -> PeerConnectionStats:
    """Several reports of one connection → one series per stat id and property."""
    stats: dict[str, dict[str, Any]] = {}
    for report in reports:
        for i, stat in enumerate(report):
            stat_id = str(stat.get("id") or f"{stat['type']}#{i}")
            entry = stats.setdefault(stat_id, {"type": stat["type"]})
            for prop, value in stat.items():
                if prop not in ("id", "type"):
                    entry.setdefault(prop, []).append(value)
    return PeerConnectionStats("getStats", stats, samples=len(reports))
