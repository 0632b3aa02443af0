"""The search log's contract, run against a SQLite file and a real PostgreSQL server.

PostgreSQL comes from Debian's packages: a throwaway cluster on a unix socket is started for the
session and removed afterwards. Without the packages the PostgreSQL cases skip, unless
KB_REQUIRE_POSTGRES=1 (set by .ci/run) makes them fail.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os

import pytest
import sqlalchemy as sa
from postgres import new_database, postgres_bin, throwaway_cluster

from kb.errors import ConfigError
from kb.service.searchlog import SCHEMA_VERSION, SearchLog, schema_table


@pytest.fixture(scope="session")
def postgres_server():
    if postgres_bin() is None:
        if os.environ.get("KB_REQUIRE_POSTGRES") == "1":
            pytest.fail("KB_REQUIRE_POSTGRES=1 but PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    with throwaway_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> str:
    """A KB_DB value for an empty database of each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "kb.sqlite3")
    return new_database(request.getfixturevalue("postgres_server"))


def test_stores_query_answer_confidence_and_feedback_without_identity(db):
    log = SearchLog(db)
    search_id = log.log_search("echo in room", "en", "voice-room-echo", 0.93, True, "voice-room",
                               source="api")
    log.record_feedback(search_id, False, "  wrong scenario  ", "voice-room-echo")
    columns = {c["name"] for c in sa.inspect(log.engine).get_columns("searches")}
    [search] = log.searches_since()
    [verdict] = log.feedback_since()
    assert not {"user", "user_id", "ip", "session"} & columns
    assert (search.query, search.article_id, search.score, search.confident, search.scenario,
            search.source) == ("echo in room", "voice-room-echo", 0.93, True, "voice-room", "api")
    assert search.at.endswith("+00:00")
    assert (verdict.search_id, verdict.helpful, verdict.comment) == (search_id, False,
                                                                     "wrong scenario")


def test_feedback_on_an_unknown_search_is_refused_and_not_stored(db):
    log = SearchLog(db)
    assert log.record_feedback(12345, True, "who?") is None
    assert log.feedback_since() == []


def test_personal_data_is_masked_before_storage(db):
    log = SearchLog(db)
    search_id = log.log_search(
        "uid 123456789 in channel 5550001234 can't join, mail li.wei@example.com or call "
        "+86 138 0013 8000; TRTC -100018 since 2026-11-21", "en", None, None, False)
    log.record_feedback(search_id, False, "I am bob@example.org, uid 98765432")
    with log.engine.connect() as conn:
        stored = " ".join(conn.execute(sa.text(
            "SELECT query FROM searches UNION ALL SELECT comment FROM feedback")).scalars())
    for secret in ("123456789", "5550001234", "li.wei@example.com", "138 0013 8000",
                   "bob@example.org", "98765432"):
        assert secret not in stored
    for kept in ("[number]", "[email]", "[phone]", "-100018", "2026-11-21", "can't join"):
        assert kept in stored


def test_exports_filter_by_time_and_confidence(db):
    log = SearchLog(db)
    answered = log.log_search("echo", "en", "room-echo", 0.9, True)
    unanswered = log.log_search("invoice in euros", "en", None, None, False)
    log.record_feedback(answered, True)
    assert [s.id for s in log.searches_since(confident=False)] == [unanswered]
    assert [s.id for s in log.searches_since(confident=True)] == [answered]
    tomorrow = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert log.searches_since(since=tomorrow) == []
    assert log.feedback_since(since=tomorrow) == []
    assert len(log.feedback_since(since="2000-01-01")) == 1


def test_gaps_group_near_duplicates_most_frequent_first(db):
    log = SearchLog(db)
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
    assert log.counts() == {"searches": 6, "no_confident_match": 4, "helpful": 1,
                            "not_helpful": 1}


def test_a_newer_schema_is_refused_with_advice(db):
    log = SearchLog(db)
    with log.engine.begin() as conn:
        conn.execute(schema_table.insert().values(version=SCHEMA_VERSION + 1, applied_at="x"))
    log.close()
    with pytest.raises(ConfigError, match="newer than this version"):
        SearchLog(db)


def _open(db: str) -> None:
    SearchLog(db).close()


def test_servers_starting_together_apply_each_migration_once(db):
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_open, [db] * 8)
    log = SearchLog(db)
    with log.engine.connect() as conn:
        versions = conn.execute(sa.select(schema_table.c.version)).scalars().all()
    assert sorted(versions) == list(range(1, SCHEMA_VERSION + 1))


def _write_many(db: str, worker: int) -> None:
    log = SearchLog(db)
    for n in range(40):
        search_id = log.log_search(f"query {worker}-{n}", "en", None, None, False)
        assert log.record_feedback(search_id, n % 2 == 0) is not None
    log.close()


def test_concurrent_writers_lose_nothing(db):
    SearchLog(db).close()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_many, args=(db, w)) for w in range(8)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    assert SearchLog(db).counts() == {"searches": 320, "no_confident_match": 320,
                                      "helpful": 160, "not_helpful": 160}
