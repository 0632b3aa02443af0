"""The glossary that bridges vocabularies: concepts and the terms, in any language, naming them.

Also the two text primitives every stage shares: `normalise` and `has_han`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from kb.errors import GlossaryError

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass(frozen=True)
class Glossary:
    """Concepts and the terms, in any language, that name them."""

    terms: tuple[tuple[str, str], ...] = ()
    """(normalised term, concept) pairs, longest term first."""

    # Derived once per glossary: tokens() runs for every chunk at build and every query.
    @cached_property
    def han_words(self) -> tuple[str, ...]:
        """Chinese terms, added to jieba's dictionary so they segment as one word."""
        return tuple(sorted(term for term, _ in self.terms if has_han(term)))

    @cached_property
    def concept_order(self) -> tuple[str, ...]:
        """Every concept once, in glossary order."""
        return tuple(dict.fromkeys(concept for _, concept in self.terms))

    @cached_property
    def concept_of(self) -> dict[str, str]:
        """Term → its concept (the first concept listing it)."""
        return dict(reversed(self.terms))

    @cached_property
    def latin_pattern(self) -> re.Pattern[str] | None:
        """One alternation of the Latin terms, longest first, matching whole words only
        ("lag" is not in "flag")."""
        latin = [term for term, _ in self.terms if not has_han(term)]
        return re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, latin))
                          + r")(?![a-z0-9])") if latin else None


def normalise(text: str) -> str:
    """NFKC (full-width → ASCII), lower case, control characters replaced by spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)


def has_han(text: str) -> bool:
    """True when the text contains Chinese characters."""
    return bool(_HAN.search(text))


def parse_glossary(text: str, source: str = "glossary") -> Glossary:
    """Glossary YAML: a mapping of concept name → list of terms."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise GlossaryError(source, mark.line + 1 if mark else 1,
                            f"invalid YAML in glossary: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise GlossaryError(source, 1, "the glossary must map concept names to lists of terms")
    lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value} \
        if isinstance(node, yaml.MappingNode) else {}
    pairs: list[tuple[str, str]] = []
    for concept, terms in data.items():
        if not isinstance(terms, list) or not all(isinstance(t, (str, int)) for t in terms):
            raise GlossaryError(source, lines.get(str(concept), 1),
                                f"concept `{concept}` must have a list of terms")
        for term in terms:
            normalised = normalise(str(term)).strip()
            if normalised:
                pairs.append((normalised, str(concept)))
    pairs.sort(key=lambda pair: -len(pair[0]))
    return Glossary(tuple(pairs))


MAX_GLOSSARY_BYTES = 1024 * 1024


def load_glossary(path: Path) -> Glossary:
    """Read the glossary file; a missing file means an empty glossary."""
    if not path.exists():
        return Glossary()
    size = path.stat().st_size
    if size > MAX_GLOSSARY_BYTES:
        raise GlossaryError(str(path), 1, f"glossary is {size // 1024} KB, over the "
                            f"{MAX_GLOSSARY_BYTES // 1024} KB limit")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GlossaryError(str(path), 1, f"not valid UTF-8 (byte {exc.start})") from exc
    return parse_glossary(text, str(path))
