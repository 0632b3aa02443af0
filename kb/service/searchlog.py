"""The search log and feedback: what was asked, what was answered, was it helpful.

One schema, written with SQLAlchemy Core, for a SQLite file (the embedded default, in WAL mode so
readers and one writer work at once) or a PostgreSQL server (`KB_DB=postgresql://…`) shared by
several app and API servers. The schema is created and upgraded by numbered migrations recorded
in the `kb_schema` table. No user identity is stored, and obvious personal data in queries and
comments is masked before it reaches the database (`kb.service.privacy`).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kb.errors import ConfigError
from kb.retrieval.text import tokens
from kb.service.privacy import mask_personal_data

NEAR_DUPLICATE_OVERLAP = 0.6
"""Share of keyword tokens two queries must have in common to be grouped."""
MAX_COMMENT_CHARS = 2000

metadata = sa.MetaData()
searches = sa.Table(
    "searches", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("scenario", sa.String(64)),
    sa.Column("platform", sa.String(64)),
    sa.Column("lang", sa.String(8), nullable=False),
    sa.Column("article_id", sa.String(200)),
    sa.Column("score", sa.Float),
    sa.Column("confident", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("source", sa.String(16)),
    sa.Index("searches_confident", "confident"),
)
feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("search_id", sa.Integer, sa.ForeignKey("searches.id"), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("article_id", sa.String(200)),
    sa.Column("helpful", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Index("feedback_search", "search_id"),
)
schema_table = sa.Table(
    "kb_schema", sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.String(32), nullable=False),
)


def _v1(conn: Connection) -> None:
    """Searches and feedback as the first SQLite log had them (existing files keep theirs)."""
    v1 = sa.MetaData()
    sa.Table(
        "searches", v1,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("scenario", sa.String(64)),
        sa.Column("platform", sa.String(64)),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("article_id", sa.String(200)),
        sa.Column("score", sa.Float),
        sa.Column("confident", sa.Boolean(create_constraint=False), nullable=False),
        sa.Index("searches_confident", "confident"),
    )
    sa.Table(
        "feedback", v1,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("search_id", sa.Integer, sa.ForeignKey("searches.id"), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("article_id", sa.String(200)),
        sa.Column("helpful", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Index("feedback_search", "search_id"),
    )
    v1.create_all(conn, checkfirst=True)


def _v2(conn: Connection) -> None:
    """Which face logged a search (`app`, `api`), and time indexes for the `since` exports."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    op = Operations(MigrationContext.configure(conn))
    op.add_column("searches", sa.Column("source", sa.String(16)))
    op.create_index("searches_at", "searches", ["at"])
    op.create_index("feedback_at", "feedback", ["at"])


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2)
"""Migration n+1 is MIGRATIONS[n]; append, never edit one that has shipped."""
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class LoggedSearch:
    """One row of the search log, as the writers' export returns it."""

    id: int
    at: str
    """UTC time, ISO 8601 to the second."""
    query: str
    """The query with personal data masked."""
    lang: str
    scenario: str | None
    platform: str | None
    article_id: str | None
    """The top answer, if any."""
    score: float | None
    confident: bool
    source: str | None
    """The face that logged it: `app` or `api` (None before schema 2)."""


@dataclass(frozen=True)
class LoggedFeedback:
    """One helpful / not helpful verdict on the answer to a search."""

    id: int
    search_id: int
    at: str
    article_id: str | None
    helpful: bool
    comment: str
    """With personal data masked."""


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


def _since(value: dt.datetime | str | None) -> str | None:
    """An ISO time comparable with the stored `at` strings (UTC, to the second)."""
    if value is None or value == "":
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def database_url(db: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL for `KB_DB`: a URL as given (`postgresql://` uses psycopg 3), anything
    else a SQLite file path."""
    text = os.fspath(db)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    for prefix in ("postgresql://", "postgres://"):
        if text.startswith(prefix):
            return "postgresql+psycopg://" + text[len(prefix):]
    return text


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers go on while one writer writes; the busy timeout makes concurrent
        # writers wait their turn instead of failing.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL may have to wait
        # Switching the journal mode does not always wait on the busy handler: when several
        # servers open a new file at once, SQLite can answer "locked" at once. Retry briefly.
        for attempt in range(50):
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.1)
        cursor.close()

    return engine


class SearchLog:
    """Append-only log of searches and feedback in SQLite or PostgreSQL."""

    def __init__(self, db: str | os.PathLike[str]) -> None:
        self.url = database_url(db)
        self.path = Path(os.fspath(db)) if "://" not in os.fspath(db) else None
        """The SQLite file, or None for a server database."""
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = _engine(self.url)
            self._migrate()
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            where = self.path or sa.make_url(self.url).render_as_string(hide_password=True)
            raise ConfigError(f"{where}: cannot open the search log ({exc.__class__.__name__}: "
                              f"{str(exc).splitlines()[0]}); set KB_DB to a writable file or a "
                              "reachable postgresql:// URL, or KB_LOG=0 to turn logging off"
                              ) from exc

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    def schema_version(self) -> int:
        """The highest migration applied to the database."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(schema_table.c.version))).scalar()
                       or 0)

    def _migrate(self) -> None:
        try:
            schema_table.create(self.engine, checkfirst=True)
        except sa.exc.DBAPIError:
            # Another process created it between the check and the create.
            if not sa.inspect(self.engine).has_table(schema_table.name):
                raise
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise ConfigError(f"{self.path or 'KB_DB'}: search log has schema {version}, newer "
                              f"than this version ({SCHEMA_VERSION}); upgrade kb or set KB_DB "
                              "to another database")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            try:
                with self.engine.begin() as conn:
                    # The row is the lock: a second server starting at the same moment waits on
                    # it, then fails on the primary key and skips the migration it just saw done.
                    conn.execute(schema_table.insert().values(version=number, applied_at=_now()))
                    MIGRATIONS[number - 1](conn)
            except sa.exc.IntegrityError:
                continue

    def log_search(self, query: str, lang: str, article_id: str | None, score: float | None,
                   confident: bool, scenario: str | None = None,
                   platform: str | None = None, source: str = "app") -> int:
        """Record one search (personal data masked); returns its id for feedback."""
        row = {"at": _now(), "query": mask_personal_data(query), "scenario": scenario,
               "platform": platform, "lang": lang, "article_id": article_id,
               "score": None if score is None else float(score), "confident": bool(confident),
               "source": source}
        with self.engine.begin() as conn:
            return int(conn.execute(searches.insert().values(**row)
                                    .returning(searches.c.id)).scalar_one())

    def record_feedback(self, search_id: int, helpful: bool, comment: str = "",
                        article_id: str | None = None) -> int | None:
        """Record helpful / not helpful on the answer to a search; returns the feedback id, or
        None when no search has that id."""
        values = sa.select(
            sa.literal(int(search_id), sa.Integer), sa.literal(_now(), sa.String),
            sa.literal(article_id, sa.String), sa.literal(bool(helpful), sa.Boolean),
            sa.literal(mask_personal_data(comment.strip()[:MAX_COMMENT_CHARS]), sa.Text),
        ).where(sa.exists().where(searches.c.id == int(search_id)))
        # One statement checks and inserts, so there is no window between the two.
        statement = feedback.insert().from_select(
            ["search_id", "at", "article_id", "helpful", "comment"], values,
        ).returning(feedback.c.id)
        with self.engine.begin() as conn:
            inserted = conn.execute(statement).scalar_one_or_none()
        return None if inserted is None else int(inserted)

    def counts(self) -> dict[str, int]:
        """Totals for the writers' view."""
        def count_where(condition: Any) -> Any:
            return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

        with self.engine.connect() as conn:
            total, unconfident = conn.execute(sa.select(
                sa.func.count(searches.c.id), count_where(searches.c.confident.is_(False)))).one()
            helpful, unhelpful = conn.execute(sa.select(
                count_where(feedback.c.helpful.is_(True)),
                count_where(feedback.c.helpful.is_(False)))).one()
        return {"searches": int(total), "no_confident_match": int(unconfident),
                "helpful": int(helpful), "not_helpful": int(unhelpful)}

    def searches_since(self, since: dt.datetime | str | None = None, confident: bool | None = None,
                 limit: int = 10_000) -> list[LoggedSearch]:
        """Logged searches at or after `since`, oldest first (the writers' export)."""
        statement = sa.select(*[searches.c[f] for f in LoggedSearch.__dataclass_fields__])
        if (start := _since(since)) is not None:
            statement = statement.where(searches.c.at >= start)
        if confident is not None:
            statement = statement.where(searches.c.confident.is_(confident))
        with self.engine.connect() as conn:
            rows = conn.execute(statement.order_by(searches.c.id).limit(limit)).all()
        return [LoggedSearch(**row._asdict()) for row in rows]

    def feedback_since(self, since: dt.datetime | str | None = None,
                 limit: int = 10_000) -> list[LoggedFeedback]:
        """Feedback at or after `since`, oldest first (the writers' export)."""
        statement = sa.select(*[feedback.c[f] for f in LoggedFeedback.__dataclass_fields__])
        if (start := _since(since)) is not None:
            statement = statement.where(feedback.c.at >= start)
        with self.engine.connect() as conn:
            rows = conn.execute(statement.order_by(feedback.c.id).limit(limit)).all()
        return [LoggedFeedback(**row._asdict()) for row in rows]

    def gaps(self, limit: int = 50) -> list[QueryGroup]:
        """Queries with no confident match or a not-helpful answer, grouped, most frequent
        first: what writers should write next."""
        statement = sa.select(
            searches.c.query, searches.c.confident, feedback.c.helpful,
            sa.func.coalesce(feedback.c.comment, ""),
        ).select_from(searches.outerjoin(feedback, feedback.c.search_id == searches.c.id)).where(
            sa.or_(searches.c.confident.is_(False), feedback.c.helpful.is_(False)))
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()
        return group_queries([(q, not c, h is False, comment) for q, c, h, comment in rows])[
            :limit]


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
