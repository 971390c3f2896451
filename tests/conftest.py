"""Shared fixtures: a migrated store on each backend, an injectable clock, the example manifest.

Store tests take `engine`, which runs on SQLite and, when SWITCHBOARD_TEST_POSTGRES_URL is
set, on PostgreSQL too (each test in its own schema). An unreachable server is an error.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from switchboard.store.engine import create, normalize_url, open_store
from switchboard.store.manifest import AgencyManifest, load_manifest
from switchboard.store.schema import metadata

# `live`: the whole app on loopback, for end-to-end tests. `sandbox`: `switchboard sandbox` in
# this process. `session_guards`: no thread outlives the run, no teardown hangs, no bare
# `import store` (see the module).
pytest_plugins = ["tests.live_slack", "tests.sandbox_session", "tests.session_guards"]

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_MANIFEST = REPO / "manifests" / "agency.example.yaml"
POSTGRES_URL = os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


class FakeClock:
    """A clock the test moves by hand: no sleeps for timing."""

    def __init__(self, start: datetime = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def poll_until(condition: Callable[[], bool], *, timeout: float = 10.0, what: str = "") -> None:
    """Wait for `condition` (work another thread does), looking every few milliseconds.

    A bound on waiting, not a timing: it returns as soon as the condition holds, and fails
    loudly if it never does.
    """
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        pause.wait(0.005)


def joined(threads: list[threading.Thread], timeout: float) -> None:
    """Join `threads`, all within `timeout` seconds, or fail naming those still running."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    running = [t.name for t in threads if t.is_alive()]
    assert not running, f"still running after {timeout} s: {', '.join(running)}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def manifest() -> AgencyManifest:
    return load_manifest(EXAMPLE_MANIFEST)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test: migrating per test is slow."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    open_store(f"sqlite:///{path}").dispose()
    return path


def sqlite_store(template: Path, directory: Path) -> tuple[str, Engine]:
    path = directory / "store.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    return url, open_store(url)


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[tuple[str, dict[str, object]]]:
    """One migrated schema on the test server for the session: (url, engine options).

    Migrating a schema takes about a second; each test starts from empty tables instead
    (see `engine`), which is the same isolation in milliseconds.
    """
    assert POSTGRES_URL, "SWITCHBOARD_TEST_POSTGRES_URL is not set"
    url = normalize_url(POSTGRES_URL)
    schema = f"sb_{uuid.uuid4().hex[:12]}"
    with ExitStack() as cleanup:  # each step undone, whichever fails (in reverse order)
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        cleanup.callback(admin.dispose)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        cleanup.callback(drop_schema, admin, schema)
        options: dict[str, object] = {"connect_args": {"options": f"-csearch_path={schema}"}}
        open_store(url, **options).dispose()
        yield url, options


def drop_schema(admin: Engine, schema: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def empty_tables(engine: Engine) -> None:
    """Every table of the store emptied, identities restarted (the schema stays migrated)."""
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no schema at all, on each backend (PostgreSQL: a schema of its own),
    for migration tests."""
    with ExitStack() as cleanup:  # each step undone, whichever fails (in reverse order)
        if request.param == "sqlite":
            engine = create(f"sqlite:///{tmp_path / 'empty.db'}")
        else:
            assert POSTGRES_URL
            url = normalize_url(POSTGRES_URL)
            schema = f"sb_{uuid.uuid4().hex[:12]}"
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            cleanup.callback(admin.dispose)
            with admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            cleanup.callback(drop_schema, admin, schema)
            engine = create(url, connect_args={"options": f"-csearch_path={schema}"})
        cleanup.callback(engine.dispose)
        yield engine


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def engine(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    if backend == "sqlite":
        _, engine = sqlite_store(sqlite_template, tmp_path)
    else:
        url, options = request.getfixturevalue("postgres_schema")
        engine = open_store(url, **options)
    try:
        if backend != "sqlite":
            empty_tables(engine)
        yield engine
    finally:
        engine.dispose()
