"""A raw ticket → what each retriever should see.

Real tickets are long and noisy: an issue template ("Steps to reproduce / Expected / Actual"), a
pasted log or stack trace, a device list, version strings. The symptom is usually in the title
and the first sentences. `clean_query` makes any input safe; `focus` keeps the sentences that
describe what a person saw or heard, for the encoders, while error codes are looked for in the
whole text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kb.content.glossary import has_han

MAX_QUERY_CHARS = 500
"""Characters shown back and embedded: the symptom is in the first few sentences."""
MAX_TICKET_CHARS = 20_000
"""Characters of a pasted ticket searched for error codes and log signatures."""
FOCUS_SENTENCES = 6
"""Sentences of a long ticket the encoders read."""

_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.S)
_URL = re.compile(r"https?://\S+|www\.\S+")
_TEMPLATE = re.compile(
    r"^\s*(?:#+\s*|\*\*|__)?\s*(?:steps to reproduce|to reproduce|reproduction steps|expected"
    r"(?: behaviou?r| result)?|actual(?: behaviou?r| result)?|describe the bug|bug description"
    r"|description|environment|screenshots?|additional (?:context|information)|system info"
    r"|version information|smartphone|desktop|device(?: info)?|os|browser|platform"
    r"|sdk version|version|logs?|log output|relevant log output|code|minimal reproduction"
    r"|当前现象|问题描述|复现步骤|期望结果|实际结果|期望|环境|版本|设备|日志|平台|截图|补充信息)"
    r"\s*(?:\*\*|__)?\s*[:：]?\s*(?:\*\*|__)?\s*$", re.I)
_LOG_LINE = re.compile(
    r"^\s*(?:\d{2,4}[-/.]\d{1,2}[-/.]\d{1,2}[ T]\d|\[?\d{1,2}:\d{2}:\d{2}|at [\w.$<>]+\(|"
    r"[VDIWEF]/\w|\w+(?:Exception|Error)\b.*:|#\d+ 0x|\s*File \"|Traceback|\{|\}|\[|\]|"
    r"[\w.]+\s*=\s*\S+\s*$|<\w+)")
_VERSION = re.compile(r"(?<![\w.])[vV]?\d+(?:\.\d+){1,3}(?:[-+][a-zA-Z0-9.]+)?(?![\d.])")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])")


@dataclass(frozen=True)
class CleanQuery:
    """A query made safe to search."""

    text: str
    """Control characters removed, whitespace collapsed, at most MAX_QUERY_CHARS: what is shown
    and embedded."""
    notes: tuple[str, ...]
    """Keys of what was done: `controls_removed`, `shortened`."""
    lang: str
    """`zh` when the query contains Chinese characters, else `en`."""
    ticket: str = ""
    """The whole ticket (up to MAX_TICKET_CHARS) with line breaks, for codes and signatures."""
    focused: str = ""
    """The symptom sentences of the ticket (see `focus`), what the retrievers read."""


def clean_query(raw: str) -> CleanQuery:
    """Drop control characters, collapse whitespace, cap the length, detect the language."""
    notes = []
    without_controls = "".join(
        " " if unicodedata.category(ch)[0] == "C" and ch not in "\t\n\r" else ch for ch in raw)
    if without_controls != raw:
        notes.append("controls_removed")
    ticket = without_controls[:MAX_TICKET_CHARS].strip()
    text = " ".join(without_controls.split())
    focused = (focus(ticket) or text)[:MAX_QUERY_CHARS]
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append("shortened")
    return CleanQuery(text, tuple(notes), "zh" if has_han(text) else "en", ticket, focused)


def focus(ticket: str, sentences: int = FOCUS_SENTENCES) -> str:
    """The sentences of a ticket that describe the symptom: template headings, code blocks,
    log lines, URLs and version strings dropped; the first `sentences` kept."""
    text = _CODE_BLOCK.sub("\n", ticket)
    kept: list[str] = []
    for line in text.splitlines():
        line = line.strip().strip("#>*-").strip()
        if not line or _TEMPLATE.match(line) or _LOG_LINE.match(line):
            continue
        letters = sum(ch.isalpha() for ch in line)
        if letters < max(3, len(line) * 0.4):
            continue  # mostly digits, ids and punctuation
        line = _VERSION.sub(" ", _URL.sub(" ", line))
        kept.extend(s.strip() for s in _SENTENCE.split(line) if s and s.strip())
        if len(kept) >= sentences:
            break
    return " ".join(" ".join(kept[:sentences]).split())
