"""The SQLite search log: schema, concurrent writers, and the writers' gap report."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from kb.errors import ConfigError
from kb.service.searchlog import SCHEMA_VERSION, SearchLog, group_queries


def test_created_on_first_use_in_wal_mode_with_a_schema_version(tmp_path):
    path = tmp_path / "nested" / "kb.sqlite3"
    SearchLog(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_stores_query_answer_confidence_and_feedback_without_identity(tmp_path):
    log = SearchLog(tmp_path / "kb.sqlite3")
    search_id = log.log_search("echo in room", "en", "voice-room-echo", 0.93, True, "voice-room")
    log.record_feedback(search_id, False, "  wrong scenario  ", "voice-room-echo")
    with sqlite3.connect(log.path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(searches)")]
        search = db.execute("SELECT query, article_id, score, confident, scenario, at "
                            "FROM searches").fetchone()
        feedback = db.execute("SELECT search_id, helpful, comment FROM feedback").fetchone()
    assert not {"user", "user_id", "ip", "session"} & set(columns)
    assert search[:5] == ("echo in room", "voice-room-echo", 0.93, 1, "voice-room")
    assert search[5].endswith("+00:00")
    assert feedback == (search_id, 0, "wrong scenario")


def test_a_newer_schema_is_refused_with_advice(tmp_path):
    path = tmp_path / "kb.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigError, match="newer than this version"):
        SearchLog(path)


def _write_many(path: str, worker: int) -> None:
    log = SearchLog(__import__("pathlib").Path(path))
    for n in range(40):
        search_id = log.log_search(f"query {worker}-{n}", "en", None, None, False)
        log.record_feedback(search_id, n % 2 == 0)


def test_concurrent_sessions_lose_nothing(tmp_path):
    path = tmp_path / "kb.sqlite3"
    SearchLog(path)
    workers = [multiprocessing.Process(target=_write_many, args=(str(path), w))
               for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    counts = SearchLog(path).counts()
    assert counts == {"searches": 160, "no_confident_match": 160, "helpful": 80,
                      "not_helpful": 80}


def test_gaps_group_near_duplicates_most_frequent_first(tmp_path):
    log = SearchLog(tmp_path / "kb.sqlite3")
    for query in ("screen share shows a black window", "screen share shows black window",
                  "Screen share shows a black window!", "invoice in euros"):
        log.log_search(query, "en", None, None, False)
    answered = log.log_search("echo when co-hosting", "en", "live-show-echo", 0.9, True)
    log.record_feedback(answered, False, "this is about music, not voice")
    log.record_feedback(log.log_search("fine answer", "en", "x", 0.9, True), True)
    groups = log.gaps()
    assert [(g.query, g.count) for g in groups] == [
        ("Screen share shows a black window!", 3), ("echo when co-hosting", 1),
        ("invoice in euros", 1)]
    assert groups[1].reason == "not helpful"
    assert groups[1].comments == ("this is about music, not voice",)


def test_grouping_works_for_chinese():
    groups = group_queries([("屏幕共享的时候是黑的", True, False, ""),
                            ("屏幕共享的时候黑的", True, False, ""),
                            ("发票怎么开", True, False, "")])
    assert [g.count for g in groups] == [2, 1]
