"""The `switchboard` command line through typer's CliRunner, and once as the installed script."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from rich.console import Console
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine, func, inspect, select
from typer.testing import CliRunner, Result

from switchboard.bot import cli
from switchboard.bot.cli import app
from switchboard.bot.sample_agency import ACCOUNTS as SAMPLE_ACCOUNTS
from switchboard.bot.sample_agency import CLIENTS as SAMPLE_CLIENTS
from switchboard.bot.sample_agency import write_sample
from switchboard.store import alerts as store_alerts
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.csv_import import FILE_NAMES, import_dir
from switchboard.store.engine import create, reading, transaction
from switchboard.store.source_data import Client, InboundEmail, SpendDay
from tests.conftest import EXAMPLE_MANIFEST, REPO, sqlite_store
from tests.test_import import VALID, write_dir
from tests.test_settings import VARIABLES

BASE_MANIFEST: dict[str, Any] = yaml.safe_load(EXAMPLE_MANIFEST.read_text())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable from the developer's shell, no .env, and a working directory of our own."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db(sqlite_template: Path, tmp_path: Path) -> str:
    """The URL of a migrated SQLite store (a copy of the session's template)."""
    url, engine = sqlite_store(sqlite_template, tmp_path)
    engine.dispose()
    return url


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def opened(url: str) -> Engine:
    return create(url)


def count(url: str, model: type) -> int:
    engine = opened(url)
    try:
        with reading(engine) as session:
            return session.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


def manifest_file(path: Path, change: Any = None) -> Path:
    data = copy.deepcopy(BASE_MANIFEST)
    if change is not None:
        change(data)
    path.write_text(yaml.safe_dump(data))
    return path


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- help and import -----------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("import", "db", "demo"):
        assert command in result.stdout
    assert "--db" in result.stdout and "--manifest" in result.stdout


def test_no_arguments_shows_help_and_fails() -> None:
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2
    assert "Usage" in result.output


def test_import_prints_the_counts_and_writes_the_rows(db: str, tmp_path: Path) -> None:
    data = write_dir(tmp_path / "data", VALID)
    result = invoke("--db", db, "import", str(data))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "clients.csv: 2 rows",
        "ad_accounts.csv: 2 rows",
        "budgets.csv: 3 rows",
        "spend.csv: 3 rows",
        "exclusions.csv: 1 row",  # not "1 rows"
        "projects.csv: 2 rows",
        "inbox.csv: 1 row",
    ]
    assert result.stderr == ""  # not a terminal: no progress bar
    assert count(db, Client) == 2
    assert count(db, SpendDay) == 3


def test_import_twice_changes_nothing(db: str, tmp_path: Path) -> None:
    data = write_dir(tmp_path / "data", VALID)
    assert invoke("--db", db, "import", str(data)).exit_code == 0
    assert invoke("--db", db, "import", str(data)).exit_code == 0
    assert (count(db, Client), count(db, SpendDay)) == (2, 3)


def test_import_names_files_it_ignores(db: str, tmp_path: Path) -> None:
    data = write_dir(tmp_path / "data", {"clients.csv": VALID["clients.csv"], "leads.csv": "x\n"})
    result = invoke("--db", db, "import", str(data))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["clients.csv: 2 rows"]
    assert result.stderr.splitlines() == ["ignored leads.csv: not an import file"]


def test_import_failure_exits_2_with_every_problem_on_stderr(db: str, tmp_path: Path) -> None:
    files = dict(VALID)
    files["clients.csv"] = VALID["clients.csv"] + "C3,Cedar,dormant,,,\n"
    files["spend.csv"] = VALID["spend.csv"] + "A1,2026-02-30,1.00,\nA9,2026-03-01,-2,\n"
    data = write_dir(tmp_path / "data", files)
    result = invoke("--db", db, "import", str(data))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "clients.csv:4: status: must be one of 'active', 'onboarding', 'offboarding' or"
        " 'churned' (got 'dormant')",
        "spend.csv:5: date: '2026-02-30' is not a real date (day is out of range for month)",
        "spend.csv:6: spend: -2 is negative",
        "3 problems; nothing was imported.",
    ]
    assert count(db, Client) == 0


def test_import_of_a_missing_directory_exits_2(db: str, tmp_path: Path) -> None:
    result = invoke("--db", db, "import", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"{tmp_path / 'nowhere'}:0: directory: not a directory"


def test_import_names_a_wrongly_cased_file_beside_no_import_file(db: str, tmp_path: Path) -> None:
    data = write_dir(tmp_path / "data", {"Clients.csv": VALID["clients.csv"]})
    result = invoke("--db", db, "import", str(data))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "ignored Clients.csv: not an import file; their names are lower case (clients.csv)",
        f"{data}:0: directory: no import files (expected any of {', '.join(FILE_NAMES)})",
        "1 problem; nothing was imported.",
    ]


def test_import_refuses_spend_dated_after_the_agencys_real_today(db: str, tmp_path: Path) -> None:
    today = datetime.now(ZoneInfo(BASE_MANIFEST["timezone"])).date()
    ahead = today + timedelta(days=2)  # after today, even if the day turns during the test
    files = dict(VALID)
    files["spend.csv"] = VALID["spend.csv"] + f"A1,{today - timedelta(days=1)},1.00,\n"
    files["spend.csv"] += f"A2,{ahead},1.00,\n"
    result = invoke("--db", db, "import", str(write_dir(tmp_path / "data", files)))
    assert (result.exit_code, result.stdout) == (2, "")
    problem, summary = result.stderr.splitlines()
    assert problem.startswith(f"spend.csv:6: date: {ahead} is after today (")
    assert summary == "1 problem; nothing was imported."


def test_import_draws_a_progress_bar_on_a_terminal(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal a bar follows each file; the counts stay on stdout as they are. (Not on
    a terminal, nothing is drawn: the other import tests see an empty stderr.)"""
    terminal = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=terminal, force_terminal=True, width=100))
    result = invoke("--db", db, "import", str(write_dir(tmp_path / "data", VALID)))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "clients.csv: 2 rows"
    drawn = terminal.getvalue()
    for name in VALID:
        assert f"checking {name}" in drawn and f"writing {name}" in drawn
    assert "━" in drawn  # the bar itself


# --- --db, --manifest and the environment --------------------------------------------------------


def test_db_option_overrides_database_url(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = tmp_path / "from-env.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{from_env}")
    data = write_dir(tmp_path / "data", {"clients.csv": VALID["clients.csv"]})
    assert invoke("--db", db, "import", str(data)).exit_code == 0
    assert count(db, Client) == 2
    assert not from_env.exists()
    # Without the option the environment is used.
    assert invoke("import", str(data)).exit_code == 0
    assert count(f"sqlite:///{from_env}", Client) == 2


def test_the_default_database_is_in_the_working_directory(tmp_path: Path) -> None:
    data = write_dir(tmp_path / "data", {"clients.csv": VALID["clients.csv"]})
    assert invoke("import", str(data)).exit_code == 0
    assert count(f"sqlite:///{tmp_path / 'switchboard.db'}", Client) == 2


def test_manifest_option_overrides_switchboard_manifest(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest's time zone decides what a received_at without an offset means."""
    broken = manifest_file(tmp_path / "broken.yaml", lambda m: m.update(timezone="Nowhere"))
    tokyo = manifest_file(tmp_path / "tokyo.yaml", lambda m: m.update(timezone="Asia/Tokyo"))
    monkeypatch.setenv("SWITCHBOARD_MANIFEST", str(broken))
    data = write_dir(
        tmp_path / "data", {"clients.csv": VALID["clients.csv"], "inbox.csv": VALID["inbox.csv"]}
    )
    assert invoke("--db", db, "import", str(data)).exit_code == 2  # the environment's, broken
    result = invoke("--db", db, "--manifest", str(tokyo), "import", str(data))
    assert result.exit_code == 0, result.output
    engine = opened(db)
    with reading(engine) as session:
        [received] = session.scalars(select(InboundEmail.received_at)).all()
    engine.dispose()
    local = datetime(2026, 3, 15, 16, 5, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert received == local.astimezone(UTC)


def test_a_broken_manifest_exits_2_naming_the_key_path(db: str, tmp_path: Path) -> None:
    broken = manifest_file(
        tmp_path / "agency.yaml",
        lambda m: (
            m["agents"]["drafting"].update(autonomy="yolo"),
            m["domains"]["ad_performance"].update(owner="U0AM"),
        ),
    )
    data = write_dir(tmp_path / "data", {"clients.csv": VALID["clients.csv"]})
    result = invoke("--db", db, "--manifest", str(broken), "import", str(data))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert one_line(result.stderr) == (
        f"{broken}: agents.drafting.autonomy: must be one of 'shadow', 'supervised',"
        " 'autonomous' or 'paused' (got 'yolo')"
    )
    assert count(db, Client) == 0


def test_each_manifest_problem_is_one_line_of_stderr(db: str, tmp_path: Path) -> None:
    broken = manifest_file(
        tmp_path / "agency.yaml",
        lambda m: (
            m["agents"]["drafting"].update(autonomy="yolo"),
            m.update(timezone="Mars/Olympus_Mons"),
        ),
    )
    result = invoke("--db", db, "--manifest", str(broken), "db", "upgrade")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{broken}: timezone: 'Mars/Olympus_Mons' is not an IANA time zone such as"
        " America/New_York",
        f"{broken}: agents.drafting.autonomy: must be one of 'shadow', 'supervised',"
        " 'autonomous' or 'paused' (got 'yolo')",
    ]


def test_a_missing_manifest_exits_2(db: str, tmp_path: Path) -> None:
    result = invoke("--db", db, "--manifest", str(tmp_path / "none.yaml"), "db", "upgrade")
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"--manifest: file not found: {tmp_path / 'none.yaml'}"


def test_an_invalid_setting_exits_2_naming_the_variable(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-TOPSECRET")
    monkeypatch.setenv("EMAIL_BACKEND", "pigeon")
    result = invoke("--db", db, "db", "upgrade")
    assert result.exit_code == 2
    assert result.stderr.startswith("EMAIL_BACKEND: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "TOPSECRET" not in result.output


# --- db upgrade ----------------------------------------------------------------------------------


def test_db_upgrade_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "switchboard.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    result = invoke("--db", url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "database is up to date"
    engine = opened(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"alembic_version", "client", "ad_account", "spend_day", "alert"} <= tables
    again = invoke("--db", url, "db", "upgrade")
    assert (again.exit_code, again.stdout.strip()) == (0, "database is up to date")


# --- demo ----------------------------------------------------------------------------------------


def run_demo(directory: Path, as_of: str) -> Result:
    result = invoke("demo", "--date", as_of, "--dir", str(directory))
    assert result.exit_code == 0, result.output
    return result


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    result = run_demo(directory, "2026-03-16")
    text = one_line(result.stdout)
    assert "Northwind Growth" in text
    assert "2026-03-16" in text and "2026-03-15" in text  # as of, and data through
    for name in ("clients.csv", "ad_accounts.csv", "spend.csv"):
        assert name in text
    assert f"clients.csv │ {len(SAMPLE_CLIENTS)} │" in text
    assert f"ad_accounts.csv │ {len(SAMPLE_ACCOUNTS)} │" in text
    # `switchboard check` on the example manifest, then with a dollar threshold added
    assert "agency.example.yaml: coordination score 100/100, no gaps" in text
    assert "with over_usd: 500: coordination score 80/100, 1 gap money_threshold" in text
    database = directory / "switchboard.db"
    assert database.is_file()
    assert str(database) in text
    url = f"sqlite:///{database}"
    assert count(url, Client) == len(SAMPLE_CLIENTS)
    assert count(url, SpendDay) > 0
    # The day as people see it: the briefing, the shadow agent's post, its review.
    assert "MORNING BRIEFING · MONDAY 16 MARCH 2026" in text
    assert "#briefing, in the thread (file): Pacing 2026-03-16" in text
    assert "deadlines (shadow) would have escalated: Overdue:" in text
    assert "Not promoted: deadlines has 1 of 20 outputs reviewed." in text


def test_the_readmes_demo_excerpt_is_what_the_demo_prints(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    excerpt = readme.split("<!-- demo-excerpt")[1].split("<!-- /demo-excerpt -->")[0]
    lines = [line for line in excerpt.split("```text")[1].split("```")[0].splitlines() if line]
    printed = one_line(run_demo(tmp_path / "demo", "2026-03-16").stdout)
    for line in lines:
        assert one_line(line.removesuffix("...")) in printed, line


def test_the_demos_messages_are_valid_block_kit_and_its_chart_a_png(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    run_demo(directory, "2026-03-16")
    files = sorted((directory / "messages").glob("*.json"))
    assert len(files) >= 20
    where = {re.sub(r"^\d+-", "", f.stem) for f in files}
    assert {"briefing", "alerts", "shadow", "approvals", "dm-to-ana"} <= where
    for file in files:
        blocks = json.loads(file.read_text())["blocks"]
        assert 0 < len(blocks) <= 50, file.name
        for block in blocks:
            Block.parse(block).validate_json()  # type: ignore[union-attr]
    chart = directory / "messages" / "pacing-2026-03-16.png"
    assert chart.read_bytes().startswith(b"\x89PNG\r\n")


def test_demo_ends_with_the_next_steps_and_its_database_can_be_explored(tmp_path: Path) -> None:
    database = tmp_path / "demo" / "switchboard.db"
    result = run_demo(database.parent, "2026-03-16")
    lines = result.stdout.splitlines()
    messages = database.parent / "messages"
    assert lines[-8].startswith("Messages: ")
    assert lines[-8].endswith(
        f"Block Kit files in {messages} (paste one into Block Kit Builder), the chart in the "
        "same folder"
    )
    assert lines[-9:-8] + lines[-7:] == [
        f"Database: {database}  (look around: switchboard --db {database} alerts)",
        "",
        "Next:",
        "  switchboard sandbox          the same agency in your browser: click, type /ops",
        "  switchboard init my-agency   a commented manifest and empty CSV files to fill in",
        "  docs/data.md                 every CSV file and column, with examples",
        "  docs/manifest.md             every manifest key: people, owners, thresholds",
        '  README.md, "Slack set-up"    create the Slack app and run `switchboard run`',
    ]
    for path in ("docs/data.md", "docs/manifest.md"):  # what it points at is there
        assert (REPO / path).is_file()
    assert "\n## Slack set-up\n" in (REPO / "README.md").read_text()
    explored = invoke("--db", str(database), "alerts")  # the command it suggests, as printed
    assert (explored.exit_code, explored.stderr) == (0, "")
    assert "Birch & Co Legal" in explored.stdout


def test_demo_twice_in_one_directory_starts_fresh(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    run_demo(directory, "2026-03-16")
    run_demo(directory, "2026-03-10")
    engine = opened(f"sqlite:///{directory / 'switchboard.db'}")
    with reading(engine) as session:
        last = session.scalar(select(func.max(SpendDay.day)).where(SpendDay.account_id == "A02"))
    engine.dispose()
    assert last == date(2026, 3, 9)


@pytest.mark.parametrize("as_of", ["2026-04-01", "2028-02-29"])
def test_demo_on_the_first_of_a_month_and_a_leap_day(tmp_path: Path, as_of: str) -> None:
    result = run_demo(tmp_path / "demo", as_of)
    assert as_of in one_line(result.stdout)
    assert count(f"sqlite:///{tmp_path / 'demo' / 'switchboard.db'}", Client) == 12


@pytest.mark.parametrize(
    "as_of",
    [
        date(2026, 3, 1),
        date(2026, 3, 2),  # one data day: the mid-month budget change would fall on day 1
        date(2026, 3, 3),  # two data days: the "dark" account has spend on none of them
        date(2026, 3, 4),
        date(2026, 3, 5),
        date(2028, 2, 29),
        date(2028, 3, 1),
        date(2026, 12, 31),
        date(2027, 1, 1),
    ],
)
def test_the_sample_agency_imports_on_the_first_days_of_a_month(
    sqlite_template: Path, tmp_path: Path, as_of: date
) -> None:
    _, engine = sqlite_store(sqlite_template, tmp_path)
    write_sample(tmp_path / "data", as_of)
    now = datetime.combine(as_of, time(9), tzinfo=ZoneInfo("America/New_York"))
    report = import_dir(
        engine, tmp_path / "data", ZoneInfo("America/New_York"), now=now, today=as_of
    )
    engine.dispose()
    assert report.rows["clients.csv"] == len(SAMPLE_CLIENTS)
    assert report.rows["spend.csv"] > 0


# --- pacing, alerts and audit in the terminal ----------------------------------------------------

SAMPLE_DAY = "2026-03-16"


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> int:
    """An 80-column terminal (the console's width is read once, when the module loads)."""
    monkeypatch.setattr(cli.out, "width", 80)
    return 80


@pytest.fixture
def roomy(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(cli.out, "width", 200)
    return 200


@pytest.fixture
def sample_db(db: str, tmp_path: Path) -> str:
    """The demo's sample agency, imported and paced, one alert acknowledged by Ana."""
    write_sample(tmp_path / "sample", date.fromisoformat(SAMPLE_DAY))
    assert invoke("--db", db, "import", str(tmp_path / "sample")).exit_code == 0
    assert invoke("--db", db, "agents", "run", "--date", SAMPLE_DAY).exit_code == 0
    engine = opened(db)
    try:
        with transaction(engine) as session:
            assert store_alerts.acknowledge(session, 1, by="U0AM", now=datetime.now(UTC)).won
    finally:
        engine.dispose()
    return db


def fits(text: str, width: int) -> bool:
    return max(len(line) for line in text.splitlines()) <= width and "…" not in text


def test_pacing_fits_80_columns_with_client_names_and_owner(sample_db: str, narrow: int) -> None:
    result = invoke("--db", sample_db, "pacing", "--date", SAMPLE_DAY)
    assert result.exit_code == 0, result.output
    assert fits(result.stdout, narrow)
    for _, name, *_ in SAMPLE_CLIENTS:
        assert name in result.stdout
    assert "Birch & Co Legal │ A03     │ @Ana  │    +45.0% │ over ALERT" in result.stdout
    assert "plan to date" not in one_line(result.stdout)  # dropped: the last of the figures


def test_pacing_wide_shows_every_column(sample_db: str, narrow: int) -> None:
    result = invoke("--db", sample_db, "pacing", "--date", SAMPLE_DAY, "--wide")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "client id" in line)
    for column in ("account name", "budget", "plan to date", "spend to date", "month-end"):
        assert column in header
    assert "│ Birch & Co Legal │ C02       │ A03     │ Birch & Co Legal Google │ @Ana" in (
        result.stdout
    )


def test_alerts_show_their_owner_by_name_and_times_with_the_zone(
    sample_db: str, narrow: int
) -> None:
    result = invoke("--db", sample_db, "alerts", "--wide")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "owner" in line)
    assert "acknowledged" in header
    assert re.search(
        r"│ acknowledged │ @Ana  │ @Ana \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", result.stdout
    )
    narrow_result = invoke("--db", sample_db, "alerts")
    assert narrow_result.stdout.count("@Ana") >= 7


def test_audit_times_carry_the_agency_zone(sample_db: str, roomy: int) -> None:
    result = invoke("--db", sample_db, "audit", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert re.search(r"│ \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T +│ @Ana +│ alert\.ack", result.stdout)


def test_alerts_show_a_reason_that_looks_like_markup_literally(db: str, narrow: int) -> None:
    """`[/bold]` in a suppression reason used to crash `switchboard alerts` (MarkupError)."""
    engine = opened(db)
    now = datetime.now(UTC)
    with transaction(engine) as session:
        store_alerts.open_new(
            session,
            Alert(
                domain="ad_performance",
                account_id="A1",
                client_id="[red]C1",
                month="2026-03",
                direction=AlertDirection.UNDER,
                state=AlertState.SUPPRESSED,
                suppressed_code="excluded",
                suppressed_detail="paused [/bold] [link=https://x.example]",
                assignee="U0AM",
                first_seen_on=date(2026, 3, 16),
                last_seen_on=date(2026, 3, 16),
                opened_at=now,
                updated_at=now,
            ),
            actor="[bold]agent",
            now=now,
        )
    engine.dispose()
    assert invoke("--db", db, "alerts").exit_code == 0
    result = invoke("--db", db, "alerts", "--wide")
    assert result.exit_code == 0, result.output
    assert "│ [red]C1 │" in result.stdout
    assert "│ excluded: paused [/bold] [link=https://x.example] │" in result.stdout
    assert "[bold]agent" in invoke("--db", db, "audit").stdout


# --- flags and --version -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("pacing", {"--json": "Print JSON", "--wide": "Show every column"}),
        ("alerts", {"--json": "Print JSON.", "--all": "Include resolved", "--wide": "Show every"}),
        ("audit", {"--json": "Print JSON."}),
        ("--version", {}),
    ],
)
def test_flags_read_as_flags_in_help(command: str, flags: dict[str, str]) -> None:
    result = invoke(command, "--help") if command != "--version" else invoke("--help")
    assert result.exit_code == 0
    if command == "--version":
        flags = {"--version": "Print the version and exit."}
    for flag, help_text in flags.items():
        line = next(line for line in result.stdout.splitlines() if f" {flag} " in line)
        assert re.search(rf"{flag}\s+{re.escape(help_text)}", line), line
        assert "<bool>" not in line


def test_a_flag_takes_no_value() -> None:
    result = invoke("alerts", "--json", "true")
    assert result.exit_code == 2
    assert "unexpected extra argument" in result.output


def test_version_prints_the_installed_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"switchboard {distribution_version('agency-switchboard')}\n"
    assert re.fullmatch(r"switchboard \d+\.\d+\.\d+\S*\n", result.stdout)


def test_version_without_the_distribution_installed_exits_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(cli, "distribution_version", missing)
    result = invoke("--version")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "agency-switchboard distribution is not installed" in result.stderr


# Runs the command in a fresh interpreter, then says on stderr which heavy packages it loaded.
LOADED = """
import sys
from switchboard.bot.cli import main
sys.argv = ["switchboard", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
heavy = {"sqlalchemy", "sqlmodel", "alembic", "psycopg", "slack_sdk", "slack_bolt", "anthropic"}
print(code, sorted({m.split(".")[0] for m in sys.modules} & heavy), file=sys.stderr)
"""


def loaded_by(tmp_path: Path, *args: str) -> tuple[str, str]:
    """(stdout, the last stderr line: exit code and heavy packages loaded) of one command."""
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    ran = subprocess.run(
        [sys.executable, "-c", LOADED, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    return ran.stdout, ran.stderr.splitlines()[-1]


def test_version_loads_neither_the_store_nor_slack(tmp_path: Path) -> None:
    stdout, loaded = loaded_by(tmp_path, "--version")
    assert stdout == f"switchboard {distribution_version('agency-switchboard')}\n"
    assert loaded == "0 []"


@pytest.mark.parametrize("command", [["--help"], ["alerts", "--help"], ["db", "--help"]])
def test_help_loads_neither_the_store_nor_slack(tmp_path: Path, command: list[str]) -> None:
    stdout, loaded = loaded_by(tmp_path, *command)
    assert stdout.startswith("Usage: switchboard")
    assert loaded == "0 []"


def test_a_read_only_command_loads_neither_alembic_nor_slack(db: str, tmp_path: Path) -> None:
    stdout, loaded = loaded_by(tmp_path, "--db", db, "alerts", "--json")
    assert (stdout, loaded) == ("[]\n", "0 ['sqlalchemy', 'sqlmodel']")


# --- the installed console script ----------------------------------------------------------------


def test_the_installed_script_fails_an_import_with_exit_2(db: str, tmp_path: Path) -> None:
    script = shutil.which("switchboard") or str(Path(sys.executable).parent / "switchboard")
    files = dict(VALID)
    files["spend.csv"] = VALID["spend.csv"] + "A1,2026-03-03,12.345,\n"
    data = write_dir(tmp_path / "data", files)
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    failed = subprocess.run(
        [script, "--db", db, "import", str(data)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert failed.stderr.splitlines() == [
        "spend.csv:5: spend: 12.345 has more than 2 decimal places",
        "1 problem; nothing was imported.",  # not "1 problem(s)"
    ]
    assert count(db, Client) == 0
