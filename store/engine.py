"""Engines, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import ast
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Select, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

# Alembic and the dialects' insert constructs are imported where used: a read-only command
# (`switchboard alerts`) needs neither, and Alembic alone costs it a third of a second.
if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)
# Alembic says "Context impl SQLiteImpl" and more at INFO on every start; a migration that
# really runs is logged once, below.
logging.getLogger("alembic").setLevel(logging.WARNING)
MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant shared by replicas: only one of them migrates at a time.
_MIGRATION_LOCK_ID = 0x5B0A4D
_READONLY = "switchboard_readonly"
_SINGLE_STATEMENT = "switchboard_single_statement"
# Seconds to wait for a PostgreSQL server to answer before saying it cannot be reached
# (libpq's default is to wait for the operating system, minutes for a dropped packet).
CONNECT_TIMEOUT = 10
URL_FORMS = "a file path, sqlite:///PATH or postgresql://USER@HOST/DATABASE"


class StoreError(Exception):
    """The store cannot be used as configured: one line saying why, never a password."""


def normalize_url(url: str) -> str:
    """The SQLAlchemy URL for a database setting, or StoreError saying what is wrong with it.

    A plain file path is a SQLite database; the usual PostgreSQL spellings use psycopg 3.
    """
    if not url.strip():
        raise StoreError(f"is empty: give {URL_FORMS}")
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"is neither a database URL nor a file path: give {URL_FORMS}") from None
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        backend, _, driver = parsed.drivername.partition("+")
        if backend in ("sqlite", "postgresql"):
            raise StoreError(f"the {driver} driver is not supported: drop `+{driver}`")
        raise StoreError(f"{backend} databases are not supported: give {URL_FORMS}")
    return parsed.render_as_string(hide_password=False)


def shown(url: str) -> str:
    """`url` as it may be printed: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def describe(url: str, error: BaseException) -> str:
    """Why the store at `url` (normalized) could not be opened, in one line."""
    parsed = make_url(url)
    detail = str(getattr(error, "orig", None) or error)
    if parsed.get_backend_name() == "sqlite":
        return _describe_sqlite(Path(parsed.database or ":memory:"), detail)
    # psycopg: 'connection failed: connection to server at "h", port 1 failed: FATAL:  why'
    # and a hint on the lines after the first.
    reason = detail.strip().splitlines()[0] if detail.strip() else type(error).__name__
    reason = re.sub(r"^.*\bfailed: (FATAL: +)?", "", reason)
    return f"cannot connect to {shown(url)}: {reason[:1].lower()}{reason[1:]}"


def _describe_sqlite(path: Path, detail: str) -> str:
    parent = path.parent
    if not parent.exists():
        return f"cannot create {path}: the directory {parent} does not exist"
    if not parent.is_dir():
        return f"cannot create {path}: {parent} is not a directory"
    if path.is_dir():
        return f"{path} is a directory, not a SQLite database file"
    if "file is not a database" in detail:
        return f"{path} is not a SQLite database"
    if not path.exists() and not os.access(parent, os.W_OK):
        return f"cannot create {path}: the directory {parent} is not writable"
    if path.exists() and not os.access(path, os.W_OK):
        return f"cannot write to {path}: the file is read-only"
    return f"cannot open {path}: {detail.strip().splitlines()[0] if detail.strip() else detail}"


def create(url: str, **engine_options: Any) -> Engine:
    """An engine with the settings each backend needs for concurrent use."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT,
            **engine_options.pop("connect_args", {}),
        }
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **engine_options)
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
    from alembic.config import Config

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
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

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
    from alembic import command

    command.upgrade(alembic_config(engine), target)
    log.info("database %s migrated to the newest schema", engine.url.render_as_string())


def open_store(url: str, **engine_options: Any) -> Engine:
    """The engine for `url`, its database created and migrated on first use.

    Raises StoreError if the database cannot be reached, created or migrated, or its schema
    is newer than this code's.
    """
    engine = create(url, **engine_options)
    try:
        with engine.connect() as connection:
            _refuse_newer(url, stored_heads(connection))
        upgrade(engine)
    except DBAPIError as error:
        engine.dispose()
        raise StoreError(describe(normalize_url(url), error)) from error
    except StoreError:
        engine.dispose()
        raise
    return engine


# `revision: str = "0002"` and `down_revision: str | None = "0001"` (or None, or a tuple) at
# the start of a line: how Alembic's template writes them.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)


@cache
def _migration_graph() -> tuple[frozenset[str], frozenset[str]]:
    """(every revision, the newest of each branch), read from the scripts without Alembic.

    Importing Alembic costs a read-only command a third of a second, and parsing the scripts
    whole tens of milliseconds; tests/test_store.py checks this against Alembic's reading.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        values = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        revisions.add(ast.literal_eval(values["revision"]))
        down = ast.literal_eval(values.get("down_revision", "None"))
        parents.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions), frozenset(revisions - parents)


def schema_heads() -> frozenset[str]:
    """The newest revision of each migration branch: a current store holds exactly these."""
    return _migration_graph()[1]


def stored_heads(connection: Connection) -> set[str]:
    """The revisions the database says it is at (none: never migrated)."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _refuse_newer(url: str, stored: set[str]) -> None:
    unknown = stored - _migration_graph()[0]
    if unknown:
        raise StoreError(
            f"the store {shown(normalize_url(url))} has a newer schema than this version of "
            f"Switchboard ({', '.join(sorted(unknown))}): upgrade Switchboard"
        )


def open_existing(url: str) -> Engine | None:
    """The store at `url` for reading: never created, migrated or written to.

    None when there is no store yet (no SQLite file, or a database never migrated). Raises
    StoreError when it cannot be opened or its schema is not this version's.
    """
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.exists():
            if not path.parent.is_dir():
                raise StoreError(_describe_sqlite(path, "unable to open database file"))
            return None
    engine = create(url)
    try:
        with engine.connect() as connection:
            stored = stored_heads(connection)
        _refuse_newer(url, stored)
        if stored and stored != schema_heads():
            raise StoreError(
                f"the store {shown(url)} has an older schema than this version of Switchboard: "
                "run `switchboard db upgrade`"
            )
    except DBAPIError as error:
        engine.dispose()
        raise StoreError(describe(url, error)) from error
    except StoreError:
        engine.dispose()
        raise
    if not stored:
        engine.dispose()
        return None
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
    if is_postgres(bind):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def one_writer_at_a_time(session: OrmSession, lock_id: int) -> None:
    """Until this transaction ends, others that take the same lock wait for it.

    For a check-then-write that must not interleave (a count against a cap). PostgreSQL
    takes an advisory lock that the transaction's end releases; SQLite has one writer at a
    time already, once the transaction has begun (BEGIN IMMEDIATE).
    """
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    else:
        session.connection()  # begins the transaction, if nothing has yet


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
