"""A setting the commands cannot use is one line on stderr naming it, and exit status 2: a
database URL or path, SLACK_API_URL, a token Slack refuses, a port in use, a manifest that
is not there. Read-only commands never create, migrate or seed a store."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from switchboard.bot.cli import app
from switchboard.store.engine import alembic_config, create, schema_heads
from tests.conftest import EXAMPLE_MANIFEST, POSTGRES_URL, sqlite_store
from tests.fake_slack import FakeSlack
from tests.test_import import VALID, write_dir
from tests.test_settings import VARIABLES

URL_FORMS = "give a file path, sqlite:///PATH or postgresql://USER@HOST/DATABASE"
NO_DATA = (
    "has no data yet: import your CSV files with `switchboard import DIR` (formats: "
    "docs/data.md), or try `switchboard demo`."
)
READ_ONLY = ["pacing", "alerts", "audit"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def fails_with(result: Result, line: str) -> None:
    """Exit 2, nothing on stdout, and exactly `line` on stderr."""
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    assert result.stderr.splitlines() == [line]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the database setting ------------------------------------------------------------------------


def test_an_unreachable_server(tmp_path: Path) -> None:
    port = closed_port()
    fails_with(
        invoke("--db", f"postgresql://sb@127.0.0.1:{port}/agency", "db", "upgrade"),
        f"--db: cannot connect to postgresql+psycopg://sb@127.0.0.1:{port}/agency: "
        "connection refused",
    )


@pytest.mark.skipif(not POSTGRES_URL, reason="needs SWITCHBOARD_TEST_POSTGRES_URL")
def test_a_missing_database_names_it_and_hides_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = make_url(POSTGRES_URL or "").set(database="sb_no_such_db", password="TOPSECRET")
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    shown = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
    for command in (["alerts"], ["db", "upgrade"]):
        result = invoke(*command)
        fails_with(
            result,
            f'DATABASE_URL: cannot connect to {shown}: database "sb_no_such_db" does not exist',
        )
        assert "TOPSECRET" not in result.output


def test_a_path_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "sb.db"
    for command in (["import", str(tmp_path)], ["alerts"]):
        fails_with(
            invoke("--db", str(path), *command),
            f"--db: cannot create {path}: the directory {path.parent} does not exist",
        )


def test_a_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a directory\n")
    path = tmp_path / "notes.txt" / "sb.db"
    fails_with(
        invoke("--db", f"sqlite:///{path}", "db", "upgrade"),
        f"--db: cannot create {path}: {path.parent} is not a directory",
    )


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_directory_where_no_file_can_be_created() -> None:
    """/proc refuses new files even to root (a read-only directory would not, to root)."""
    fails_with(
        invoke("--db", "/proc/sb.db", "db", "upgrade"),
        "--db: cannot open /proc/sb.db: unable to open database file",
    )


def test_a_file_that_is_not_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes.txt").write_text("not a database, but long enough to be read as one\n" * 9)
    monkeypatch.setenv("DATABASE_URL", str(tmp_path / "notes.txt"))
    for command in (["db", "upgrade"], ["audit"]):
        fails_with(
            invoke(*command), f"DATABASE_URL: {tmp_path / 'notes.txt'} is not a SQLite database"
        )


def test_a_directory(tmp_path: Path) -> None:
    fails_with(
        invoke("--db", str(tmp_path), "db", "upgrade"),
        f"--db: {tmp_path} is a directory, not a SQLite database file",
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://sb@db.internal/agency", f"mysql databases are not supported: {URL_FORMS}"),
        ("postgresql+asyncpg://db/agency", "the asyncpg driver is not supported: drop `+asyncpg`"),
        ("", f"is empty: {URL_FORMS}"),
    ],
)
def test_an_unsupported_url(monkeypatch: pytest.MonkeyPatch, url: str, problem: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    fails_with(invoke("alerts"), f"DATABASE_URL: {problem}")
    fails_with(invoke("--db", url, "db", "upgrade"), f"--db: {problem}")


def test_a_plain_file_path_is_a_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_dir(tmp_path / "data", {"clients.csv": VALID["clients.csv"]})
    relative = Path("demo-out") / "switchboard.db"
    relative.parent.mkdir()
    assert invoke("--db", str(relative), "import", str(data)).exit_code == 0
    assert (tmp_path / relative).is_file()
    monkeypatch.setenv("DATABASE_URL", str(tmp_path / relative))
    listed = invoke("alerts", "--json")
    assert (listed.exit_code, listed.stdout.strip(), listed.stderr) == (0, "[]", "")
    engine = create(f"sqlite:///{tmp_path / relative}")
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM client")) == 2
    engine.dispose()


# --- read-only commands and an empty store ------------------------------------------------------


@pytest.mark.parametrize("command", READ_ONLY)
def test_a_read_only_command_does_not_create_a_store(tmp_path: Path, command: str) -> None:
    result = invoke(command)
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.splitlines() == [f"The store sqlite:///switchboard.db {NO_DATA}"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("command", "empty"), [("alerts", "[]"), ("audit", "[]")])
def test_json_from_a_missing_store_is_empty(tmp_path: Path, command: str, empty: str) -> None:
    result = invoke(command, "--json")
    assert (result.exit_code, result.stdout.strip()) == (0, empty)
    assert list(tmp_path.iterdir()) == []


def test_pacing_json_from_a_missing_store_has_no_accounts(tmp_path: Path) -> None:
    result = invoke("pacing", "--json", "--date", "2026-03-16")
    assert result.exit_code == 0
    assert '"accounts": []' in result.stdout and '"data_through": "2026-03-15"' in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_bad_date_is_the_only_problem_told(tmp_path: Path) -> None:
    result = invoke("pacing", "--date", "2026-13-01")
    assert result.exit_code == 2
    assert "not a date in YYYY-MM-DD form" in result.stderr
    assert "no data yet" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", READ_ONLY)
def test_a_migrated_store_without_data_says_so_and_is_not_written(
    sqlite_template: Path, tmp_path: Path, command: str
) -> None:
    url, engine = sqlite_store(sqlite_template, tmp_path)
    engine.dispose()
    before = (tmp_path / "store.db").read_bytes()
    result = invoke("--db", url, command)
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.splitlines() == [f"The store {url} {NO_DATA}"]
    assert (tmp_path / "store.db").read_bytes() == before  # not seeded from the manifest


def migrated_to(url: str, *revisions: str) -> None:
    from alembic import command

    engine = create(url)
    for revision in revisions:
        command.upgrade(alembic_config(engine), revision)
    engine.dispose()


@pytest.mark.parametrize("command", READ_ONLY)
def test_a_store_behind_the_code_asks_for_db_upgrade(tmp_path: Path, command: str) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrated_to(url, "0001", "i0001")
    fails_with(
        invoke("--db", url, command),
        f"--db: the store {url} has an older schema than this version of Switchboard: "
        "run `switchboard db upgrade`",
    )
    engine = create(url)
    with engine.connect() as connection:
        stored = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    assert stored == {"0001", "i0001"}  # not migrated
    engine.dispose()
    assert invoke("--db", url, "db", "upgrade").exit_code == 0
    result = invoke("--db", url, command)
    assert (result.exit_code, result.stderr) == (0, f"The store {url} {NO_DATA}\n")


def test_a_store_ahead_of_the_code_is_refused(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine = sqlite_store(sqlite_template, tmp_path)
    head = min(schema_heads())  # any one branch's head, replaced by one this code lacks
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = '9999' WHERE version_num = :head"),
            {"head": head},
        )
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    line = (
        f"DATABASE_URL: the store {url} has a newer schema than this version of Switchboard "
        "(9999): upgrade Switchboard"
    )
    fails_with(invoke("alerts"), line)
    fails_with(invoke("db", "upgrade"), line)


# --- the manifest ---------------------------------------------------------------------------------


def test_a_missing_manifest_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "agency.yaml"
    monkeypatch.setenv("SWITCHBOARD_MANIFEST", str(missing))
    fails_with(invoke("alerts"), f"SWITCHBOARD_MANIFEST: file not found: {missing}")
    fails_with(
        invoke("--manifest", "elsewhere.yaml", "db", "upgrade"),
        "--manifest: file not found: elsewhere.yaml",
    )
    assert not (tmp_path / "switchboard.db").exists()


@pytest.mark.parametrize(
    "command",
    [["check"], ["import", "data"], ["pacing"], ["agents", "list"], ["brief"]],
    ids=" ".join,
)
def test_every_command_names_the_variable_of_a_missing_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    missing = tmp_path / "agency.yaml"
    monkeypatch.setenv("SWITCHBOARD_MANIFEST", str(missing))
    write_dir(tmp_path / "data", VALID)
    fails_with(invoke(*command), f"SWITCHBOARD_MANIFEST: file not found: {missing}")


# --- Slack and the port ---------------------------------------------------------------------------


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sb.db'}")
    monkeypatch.setenv("SWITCHBOARD_MANIFEST", str(EXAMPLE_MANIFEST))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-TOPSECRET")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "TOPSECRETSIGNING")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


def serve(command: str, port: int) -> Result:
    return invoke(command, "--host", "127.0.0.1", "--port", str(port))


@pytest.mark.parametrize("command", ["web", "run"])
def test_slack_api_url_that_is_not_a_url(
    slack_env: None, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("SLACK_API_URL", "not-a-url")
    fails_with(
        serve(command, closed_port()),
        "SLACK_API_URL: not an http(s) URL such as https://slack.com/api/",
    )


@pytest.mark.parametrize("command", ["web", "run"])
def test_an_unreachable_slack_is_not_a_refused_token(
    slack_env: None, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/"
    monkeypatch.setenv("SLACK_API_URL", url)
    fails_with(
        serve(command, closed_port()), f"SLACK_API_URL: cannot reach {url}: connection refused"
    )


@pytest.mark.parametrize("command", ["web", "run"])
def test_a_token_slack_refuses(
    slack_env: None, monkeypatch: pytest.MonkeyPatch, fake: FakeSlack, command: str
) -> None:
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    fake.fail_next("auth.test", error="invalid_auth")
    result = serve(command, closed_port())
    fails_with(
        result,
        f"SLACK_BOT_TOKEN: Slack did not accept it at {fake.api_url} (auth.test: invalid_auth)",
    )
    assert "TOPSECRET" not in result.output


def test_a_web_api_that_is_not_slack(
    slack_env: None, monkeypatch: pytest.MonkeyPatch, fake: FakeSlack
) -> None:
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    fake.fail_next("auth.test", status=404)
    fails_with(
        serve("web", closed_port()),
        f"SLACK_API_URL: {fake.api_url} is not Slack's Web API (auth.test answered HTTP 404)",
    )


@pytest.mark.parametrize("command", ["web", "run"])
def test_a_port_in_use(
    slack_env: None, monkeypatch: pytest.MonkeyPatch, fake: FakeSlack, command: str
) -> None:
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fails_with(
            serve(command, port),
            f"--port: cannot listen on 127.0.0.1:{port}: address already in use",
        )
    assert not fake.calls_to("auth.test"), "nothing starts before the port is known to be free"


def test_the_app_starts_without_warning_about_the_token_it_was_given(
    slack_env: None,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bolt reads SLACK_BOT_TOKEN itself and warned on every start that `client` wins."""
    from switchboard.bot.app import create_app
    from switchboard.bot.runtime import Runtime

    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    rt = Runtime()
    try:
        with caplog.at_level(logging.INFO):
            create_app(rt.settings, rt.engine, rt.manifest, clock=rt.now, interactions=rt.engine)
    finally:
        rt.close()
    assert fake.calls_to("auth.test")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
