"""Chrome `webrtc-internals` dumps: PeerConnections → stat series and the update log."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from kb.diagnose.stats import LEGACY_TYPES, STANDARD_TYPES, PeerConnectionStats
from kb.errors import DiagnoseError

_ENTRY = re.compile(r'"([^"\\]{1,300})":\s*(\{[^{}]*?"values"[^{}]*\})')
_EVENT = re.compile(r'\{\s*"time":\s*"([^"]*)",\s*"type":\s*"([^"]*)",\s*'
                    r'"value":\s*"((?:[^"\\]|\\.)*)"')
_PC = re.compile(r'"([^"]{1,80})":\s*\{\s*"constraints"')


def looks_like_dump(head: str) -> bool:
    """True when the text starts like a webrtc-internals dump."""
    return '"PeerConnections"' in head or '"getUserMedia"' in head and '"UserAgent"' in head


def read_dump(data: Mapping[str, Any], name: str) -> list[PeerConnectionStats]:
    """Every PeerConnection in a parsed dump; unknown stats layouts are refused by name."""
    pcs = data.get("PeerConnections")
    if not isinstance(pcs, dict):
        raise DiagnoseError(f"{name}: a webrtc-internals dump needs a `PeerConnections` object; "
                            "download it again from chrome://webrtc-internals (Create dump)")
    out = []
    seen_types: set[str] = set()
    for pc_id, pc in pcs.items():
        if not isinstance(pc, dict):
            continue
        stats, types = _stats(pc.get("stats") or {})
        seen_types |= types
        out.append(PeerConnectionStats(str(pc_id), stats, _events(pc.get("updateLog") or []),
                                       _samples(pc.get("stats") or {})))
    _check_known(seen_types, name)
    return out


def salvage_dump(text: str, name: str) -> list[PeerConnectionStats]:
    """A truncated dump: keep every complete stat series and update-log event."""
    entries: dict[str, Any] = {}
    for match in _ENTRY.finditer(text):
        try:
            entries[json.loads(f'"{match.group(1)}"')] = json.loads(match.group(2))
        except ValueError:
            continue
    stats, types = _stats(entries)
    if not stats:
        return []
    _check_known(types, name)
    events = tuple((t, k, v) for t, k, v in _EVENT.findall(text))
    pcs = _PC.findall(text)
    pc_id = pcs[0] + (" (and others)" if len(pcs) > 1 else "") if pcs else "?"
    return [PeerConnectionStats(f"{pc_id} [truncated dump]", stats, events, _samples(entries))]


def _stats(raw: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    stats: dict[str, dict[str, Any]] = {}
    types: set[str] = set()
    for key, entry in raw.items():
        stat_id, _, prop = key.rpartition("-")
        if not stat_id or prop.startswith("[") or not isinstance(entry, dict):
            continue
        kind = entry.get("statsType", "")
        types.add(kind)
        target = stats.setdefault(stat_id, {"type": kind})
        target[prop] = entry.get("values")
    return stats, types


def _samples(raw: Mapping[str, Any]) -> int:
    for key, entry in raw.items():
        if key.endswith("-timestamp") and isinstance(entry, dict):
            values = entry.get("values")
            if isinstance(values, str):
                return values.count(",") + 1
            if isinstance(values, list):
                return len(values)
    return 1


def _events(log: Any) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(log, list):
        return ()
    return tuple((str(e.get("time", "")), str(e.get("type", "")), str(e.get("value", "")))
                 for e in log if isinstance(e, dict))


def _check_known(types: set[str], name: str) -> None:
    if types and not types & (STANDARD_TYPES | LEGACY_TYPES):
        shown = ", ".join(sorted(types)[:6])
        raise DiagnoseError(f"{name}: webrtc-internals dump with stats types this reader does "
                            f"not know ({shown}); it may come from an unsupported Chrome "
                            "version; paste getStats() output instead, or file an issue with "
                            "the Chrome version")
