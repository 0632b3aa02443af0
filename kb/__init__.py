"""Troubleshooting knowledge base for real-time audio/video apps.

Stages, each a sub-package, data flowing one way (a stage never imports a later one):
`kb.content` (Markdown → `Article`, lint, coverage) → `kb.retrieval` (text, chunks, encoders,
index, ranking: query → `Hit`s) → `kb.service` (search log, escalation, rendering, messages) →
faces (`kb.cli`, `app.py`, `kb.api`). Nothing heavy (faiss, torch, streamlit) is imported here.

    import kb
    searcher = kb.load_searcher()             # the built index in .kb-index (KB_INDEX_DIR)
    answer = searcher.search("I hear my own voice back", scenario="voice-room")
    best = answer.results[0]                   # a kb.Hit: id, title, problem, fix, ...
    print(answer.confident, best.title, best.fix)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kb.settings import Settings, load_settings

if TYPE_CHECKING:
    from kb.retrieval.search import Hit, Searcher, SearchResponse

__version__ = "0.2.0"
__all__ = ["Hit", "Searcher", "SearchResponse", "Settings", "load_searcher", "load_settings"]


def load_searcher(settings: Settings | None = None, **overrides: Any) -> Searcher:
    """Load the published index and its encoders; `overrides` are `Settings` fields."""
    from kb.retrieval.search import Searcher

    return Searcher.load(settings or load_settings(overrides))


def __getattr__(name: str) -> Any:
    # The records load on first use, so `import kb` stays light.
    if name in ("Hit", "Searcher", "SearchResponse"):
        from kb.retrieval import search

        return getattr(search, name)
    raise AttributeError(f"module 'kb' has no attribute {name!r}")
