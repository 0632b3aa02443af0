"""The search log and feedback in SQLite: what was asked, what was answered, was it helpful.

No user identity is stored. WAL mode lets readers and one writer work at once; every write is
its own short transaction with a busy timeout, so concurrent sessions wait instead of failing.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kb.errors import ConfigError
from kb.retrieval.text import tokens

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    query TEXT NOT NULL,
    scenario TEXT,
    platform TEXT,
    lang TEXT NOT NULL,
    article_id TEXT,
    score REAL,
    confident INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    search_id INTEGER NOT NULL REFERENCES searches(id),
    at TEXT NOT NULL,
    article_id TEXT,
    helpful INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS searches_confident ON searches(confident);
CREATE INDEX IF NOT EXISTS feedback_search ON feedback(search_id);
"""
NEAR_DUPLICATE_OVERLAP = 0.6
"""Share of keyword tokens two queries must have in common to be grouped."""


@dataclass(frozen=True)
class QueryGroup:
    """Searches that went unanswered or unhelped, grouped when they are near-duplicates."""

    query: str
    """The most frequent wording in the group."""
    count: int
    """How many searches the group holds."""
    variants: tuple[str, ...]
    """Other wordings in the group."""
    reason: str
    """`no confident match`, `not helpful`, or both."""
    comments: tuple[str, ...] = ()
    """Comments left with `not helpful` feedback."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class SearchLog:
    """Append-only log of searches and feedback in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise ConfigError(f"{path}: search log has schema {version}, newer than "
                                      f"this version ({SCHEMA_VERSION}); upgrade kb or set KB_DB "
                                      "to another file")
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise ConfigError(f"{path}: cannot open the search log ({exc}); set KB_DB to a "
                              "writable file or KB_LOG=0 to turn logging off") from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def log_search(self, query: str, lang: str, article_id: str | None, score: float | None,
                   confident: bool, scenario: str | None = None,
                   platform: str | None = None) -> int:
        """Record one search; returns its id for feedback."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO searches (at, query, scenario, platform, lang, article_id, score, "
                "confident) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), query, scenario, platform, lang, article_id, score, int(confident)))
            return int(cursor.lastrowid or 0)

    def record_feedback(self, search_id: int, helpful: bool, comment: str = "",
                        article_id: str | None = None) -> None:
        """Record helpful / not helpful on the answer to a search."""
        with self._connect() as db:
            db.execute("INSERT INTO feedback (search_id, at, article_id, helpful, comment) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (search_id, _now(), article_id, int(helpful), comment.strip()[:2000]))

    def counts(self) -> dict[str, int]:
        """Totals for the writers' view."""
        with self._connect() as db:
            searches, unconfident = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(confident = 0), 0) FROM searches").fetchone()
            helpful, unhelpful = db.execute(
                "SELECT COALESCE(SUM(helpful = 1), 0), COALESCE(SUM(helpful = 0), 0) "
                "FROM feedback").fetchone()
        return {"searches": searches, "no_confident_match": unconfident, "helpful": helpful,
                "not_helpful": unhelpful}

    def gaps(self, limit: int = 50) -> list[QueryGroup]:
        """Queries with no confident match or a not-helpful answer, grouped, most frequent
        first: what writers should write next."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT s.query, s.confident = 0, f.helpful = 0, COALESCE(f.comment, '') "
                "FROM searches s LEFT JOIN feedback f ON f.search_id = s.id "
                "WHERE s.confident = 0 OR f.helpful = 0").fetchall()
        return group_queries([(q, bool(u), bool(n), c) for q, u, n, c in rows])[:limit]


def group_queries(rows: list[tuple[str, bool, bool, str]]) -> list[QueryGroup]:
    """Group (query, unconfident, not helpful, comment) rows whose keywords mostly overlap."""
    groups: list[dict] = []
    for query, unconfident, not_helpful, comment in rows:
        words = set(tokens(query)) or {query.strip().lower()}
        for group in groups:
            overlap = len(words & group["words"]) / max(1, min(len(words), len(group["words"])))
            if overlap >= NEAR_DUPLICATE_OVERLAP:
                break
        else:
            group = {"words": words, "queries": {}, "reasons": set(), "comments": []}
            groups.append(group)
        group["queries"][query] = group["queries"].get(query, 0) + 1
        if unconfident:
            group["reasons"].add("no confident match")
        if not_helpful:
            group["reasons"].add("not helpful")
        if comment:
            group["comments"].append(comment)
    result = []
    for group in groups:
        wordings = sorted(group["queries"].items(), key=lambda item: (-item[1], item[0]))
        result.append(QueryGroup(
            query=wordings[0][0], count=sum(group["queries"].values()),
            variants=tuple(q for q, _ in wordings[1:]),
            reason=" + ".join(sorted(group["reasons"])), comments=tuple(group["comments"])))
    return sorted(result, key=lambda g: (-g.count, g.query))
