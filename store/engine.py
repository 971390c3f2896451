"""Engines, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Select, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

log = logging.getLogger(__name__)
# Alembic says "Context impl SQLiteImpl" and more at INFO on every start; a migration that
# really runs is logged once, below.
logging.getLogger("alembic").setLevel(logging.WARNING)
MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant shared by replicas: only one of them migrates at a time.
_MIGRATION_LOCK_ID = 0x5B0A4D
_READONLY = "switchboard_readonly"
_SINGLE_STATEMENT = "switchboard_single_statement"


def normalize_url(url: str) -> str:
    """Accept the usual PostgreSQL spellings and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create(url: str, **engine_options: Any) -> Engine:
    """An engine with the settings each backend needs for concurrent use."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **engine_options)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **engine_options
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()
        # pysqlite must not issue its own BEGIN: the listener below does.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_SINGLE_STATEMENT, False):
            return  # the statement is its own transaction (see single_statement)
        # A writing transaction takes the lock when it starts, not at its first write, so
        # two writers queue on busy_timeout instead of one failing with "database is locked".
        readonly = conn.get_execution_options().get(_READONLY, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if readonly else "BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


ALL_BRANCHES = "heads"
INTERACTIONS_BRANCH = "interactions@head"


def _wanted_heads(script: ScriptDirectory, target: str) -> set[str]:
    if target == ALL_BRANCHES:
        return set(script.get_heads())
    return {script.get_revision(target).revision}  # type: ignore[union-attr]


def needs_upgrade(engine: Engine, target: str = ALL_BRANCHES) -> bool:
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current != _wanted_heads(script, target)


def upgrade(engine: Engine, target: str = ALL_BRANCHES) -> None:
    """Bring the schema to the newest migration (no-op when it is there already)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            try:
                if needs_upgrade(engine, target):
                    _migrate(engine, target)
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
                connection.commit()
    elif needs_upgrade(engine, target):
        _migrate(engine, target)


def _migrate(engine: Engine, target: str) -> None:
    command.upgrade(alembic_config(engine), target)
    log.info("database %s migrated to the newest schema", engine.url.render_as_string())


def open_store(url: str, **engine_options: Any) -> Engine:
    """The engine for `url`, its database created and migrated on first use."""
    engine = create(url, **engine_options)
    upgrade(engine)
    return engine


def interactions_url(url: str) -> str | None:
    """Where the interaction queue lives when not in the store: a SQLite store's sibling.

    SQLite has one writer at a time; with the queue in its own file, recording a click
    never waits behind the worker's transactions on the store. None: use the store itself.
    """
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return parsed.set(
        database=str(path.with_name(f"{path.stem}.interactions{path.suffix}"))
    ).render_as_string()


def open_interactions(url: str, store: Engine) -> Engine:
    """The interaction queue's engine for the store at `url` (whose engine is `store`), migrated."""
    separate = interactions_url(url)
    if separate is None:
        return store  # open_store migrated every branch, the queue's included
    engine = create(separate)
    upgrade(engine, INTERACTIONS_BRANCH)
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def single_statement(engine: Engine) -> Engine:
    """For a write that is one statement: on SQLite, no BEGIN and COMMIT around it.

    The statement is atomic by itself, and each BEGIN, statement and COMMIT is a call
    that gives up Python's GIL and may wait milliseconds to get it back in a busy
    process. (PostgreSQL keeps its transaction; `begin()` commits it.)
    """
    return engine.execution_options(**{_SINGLE_STATEMENT: True})


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work: never commits, takes no write lock.

    Closing (not rolling back) ends the transaction and keeps loaded rows readable.
    """
    with Session(engine.execution_options(**{_READONLY: True}), expire_on_commit=False) as session:
        yield session


# -- the few places where SQLite and PostgreSQL differ, in one place ------------------------


def is_postgres(bind: Engine | Connection | OrmSession) -> bool:
    engine = bind.get_bind() if isinstance(bind, OrmSession) else bind
    return engine.dialect.name == "postgresql"


def upsert_insert(bind: Engine | Connection | OrmSession, table: Any) -> Any:
    """`INSERT` with the dialect's ON CONFLICT support (both spell it the same way)."""
    dialect = postgresql if is_postgres(bind) else sqlite
    return dialect.insert(table)


def skip_locked(query: Select[Any], bind: Engine | Connection | OrmSession, of: Any) -> Select[Any]:
    """On PostgreSQL, rows another transaction holds are skipped rather than waited for.

    SQLite has one writer at a time (BEGIN IMMEDIATE), so there is nothing to skip.
    """
    if is_postgres(bind):
        return query.with_for_update(skip_locked=True, of=of)
    return query


def is_transient(error: BaseException) -> bool:
    """A database error worth retrying: a lock held too long, a serialization failure, a
    dropped connection. Anything else (a constraint, a bug) fails the same way again."""
    if isinstance(error, OperationalError):  # psycopg's serialization and lock errors too
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)
