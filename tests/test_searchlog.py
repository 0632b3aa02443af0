"""The search log on a SQLite file: WAL mode, upgrading a first-version file, and grouping.

The contract shared with PostgreSQL (rows, feedback, masking, concurrent writers, migrations)
is in test_db.py, which runs against both.
"""

from __future__ import annotations

import sqlite3

from kb.service.searchlog import SCHEMA_VERSION, SearchLog, group_queries

FIRST_VERSION_SCHEMA = """
CREATE TABLE searches (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
    query TEXT NOT NULL, scenario TEXT, platform TEXT, lang TEXT NOT NULL, article_id TEXT,
    score REAL, confident INTEGER NOT NULL);
CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT,
    search_id INTEGER NOT NULL REFERENCES searches(id), at TEXT NOT NULL, article_id TEXT,
    helpful INTEGER NOT NULL, comment TEXT NOT NULL DEFAULT '');
CREATE INDEX searches_confident ON searches(confident);
CREATE INDEX feedback_search ON feedback(search_id);
INSERT INTO searches (at, query, lang, confident) VALUES ('2026-11-01T10:00:00+00:00',
    'old query', 'en', 0);
PRAGMA user_version=1;
"""


def test_a_sqlite_file_is_created_on_first_use_in_wal_mode(tmp_path):
    path = tmp_path / "nested" / "kb.sqlite3"
    log = SearchLog(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log.schema_version() == SCHEMA_VERSION


def test_a_log_written_by_the_first_version_is_upgraded_in_place(tmp_path):
    path = tmp_path / "kb.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_VERSION_SCHEMA)
    log = SearchLog(path)
    assert log.schema_version() == SCHEMA_VERSION
    [old] = log.searches_since()
    assert (old.query, old.confident, old.source) == ("old query", False, None)
    new_id = log.log_search("new query", "en", None, None, False, source="api")
    assert [s.id for s in log.searches_since()] == [old.id, new_id]


def test_grouping_works_for_chinese():
    groups = group_queries([("屏幕共享的时候是黑的", True, False, ""),
                            ("屏幕共享的时候黑的", True, False, ""),
                            ("发票怎么开", True, False, "")])
    assert [g.count for g in groups] == [2, 1]
