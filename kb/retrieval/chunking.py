"""Split an article into separately searchable chunks: `Article` → `list[Chunk]`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kb.content.articles import Article

# Sections that describe the problem (what users report and why it happens) and its fix.
# Verify and Escalate are shown with the answer but not indexed: their wording ("collect logs",
# "check the metric") is the same in every article and would only blur the ranking.
INDEXED_SECTIONS: tuple[str, ...] = ("symptoms", "causes", "fix")


@dataclass(frozen=True)
class Chunk:
    """One searchable piece of an article."""

    chunk_id: str
    """Stable id: `article id:lang:section:n`."""
    article_id: str
    """The article's `id` (shared by its translations)."""
    lang: str
    """Language of the text."""
    section: str
    """`title`, `symptom` (one front-matter phrasing), or a body section key."""
    text: str
    """Plain text that is embedded and tokenised."""

    @property
    def content_hash(self) -> str:
        """Hash of the text: unchanged text reuses its stored embedding on rebuild."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:32]


def chunk(article: Article) -> list[Chunk]:
    """The title, each symptom phrasing, and the Symptoms, Causes and Fix sections."""
    pieces: list[tuple[str, str]] = [("title", article.title)]
    pieces += [("symptom", phrase) for phrase in article.symptoms]
    for key in INDEXED_SECTIONS:
        section = article.section(key)
        if section and section.text:
            pieces.append((key, section.text))
    counts: dict[str, int] = {}
    chunks = []
    for section, text in pieces:
        n = counts[section] = counts.get(section, -1) + 1
        chunks.append(Chunk(f"{article.id}:{article.lang}:{section}:{n}", article.id,
                            article.lang, section, text))
    return chunks
