"""The `switchboard` command line (typer + rich)."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

# The store, the agents and Slack are imported by the commands that use them, so that
# `switchboard --version` (and --help) loads neither SQLAlchemy nor the Slack SDK.
if TYPE_CHECKING:
    from switchboard.bot.runtime import Runtime

log = logging.getLogger(__name__)
app = typer.Typer(
    help="Switchboard: the Slack-native operations layer for agencies that run AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
agents_app = typer.Typer(help="Run the agents.", no_args_is_help=True)
app.add_typer(agents_app, name="agents")

# The width tables fit: COLUMNS if set, else the terminal's. Piped (no terminal), 150 columns
# rather than rich's 80, so a file or grep gets the more important columns on one line each;
# `--wide` tables may be wider (printed uncropped).
out = Console(width=shutil.get_terminal_size((150, 40)).columns)
# Problems are one per line, however long: tools and people grep them.
err = Console(stderr=True, soft_wrap=True)

DateOption = Annotated[
    str | None, typer.Option("--date", help="As-of date YYYY-MM-DD (default: today, agency time).")
]


def runtime(ctx: typer.Context) -> Runtime:
    """The process runtime with settings, manifest and store loaded, or exit 2 saying why."""
    from switchboard.bot.runtime import Runtime
    from switchboard.bot.settings import SettingsError
    from switchboard.store.manifest import ManifestError

    rt = ctx.ensure_object(Runtime)
    try:
        rt.settings  # noqa: B018 - load now, so a bad setting fails before any work
        rt.manifest  # noqa: B018
        rt.engine  # noqa: B018
    except SettingsError as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None
    except ManifestError as error:
        for problem in error.problems:
            err.print(f"{error.source}: {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    return rt


def parse_date(text: str | None, rt: Runtime) -> date:
    if text is None:
        return rt.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"'{text}' is not a date in YYYY-MM-DD form", param_hint="--date"
        ) from None


DISTRIBUTION = "agency-switchboard"


def flag(name: str, help_text: str, **options: Any) -> Any:
    """A boolean option that takes no value, its help line reading `--json  Print JSON.`

    (typer's rich help otherwise shows a `<bool>` type beside it, as if it took one).
    """
    return typer.Option(name, help=help_text, metavar="", **options)


def print_version(value: bool) -> None:
    if not value:
        return
    try:
        print(f"switchboard {distribution_version(DISTRIBUTION)}")
    except PackageNotFoundError:
        err.print(f"switchboard: the {DISTRIBUTION} distribution is not installed", markup=False)
        raise typer.Exit(1) from None
    raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (overrides DATABASE_URL).")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="Agency manifest YAML (overrides SWITCHBOARD_MANIFEST)."),
    ] = None,
    _version: Annotated[
        bool,
        flag("--version", "Print the version and exit.", callback=print_version, is_eager=True),
    ] = False,
) -> None:
    from switchboard.bot.runtime import Runtime

    ctx.obj = Runtime(db_url=db, manifest_override=manifest)


@app.command("import")
def import_command(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(
            help="Folder holding any of clients.csv, ad_accounts.csv, budgets.csv, spend.csv, "
            "exclusions.csv, projects.csv, inbox.csv (every column: docs/data.md)."
        ),
    ],
) -> None:
    """Import the agency's CSV files: all of them or nothing.

    Each file's columns, formats and meaning are in docs/data.md; `switchboard init DIR`
    writes empty files with their header rows. A problem is reported as
    FILE:LINE: column: problem, and then nothing is imported (exit status 2).
    """
    from switchboard.store.csv_import import ImportFailed, import_dir

    rt = runtime(ctx)
    try:
        report = import_dir(rt.engine, directory, rt.manifest.tz)
    except ImportFailed as failure:
        for problem in failure.problems:
            err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        err.print(f"{len(failure.problems)} problem(s); nothing was imported.", highlight=False)
        raise typer.Exit(2) from None
    for name in report.ignored:
        err.print(f"ignored {name}: not an import file", markup=False, highlight=False)
    for name, count in report.rows.items():
        out.print(f"{name}: {count} rows", highlight=False)


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Folder for agency.yaml and data/*.csv (made if missing).")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that already exist.")
    ] = False,
) -> None:
    """Start your agency: a commented manifest and empty CSV files to fill in."""
    from switchboard.bot.scaffold import ScaffoldError, next_steps, scaffold

    try:
        written = scaffold(directory, force=force)
    except ScaffoldError as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None
    for path in written:
        out.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
    out.print(next_steps(directory), markup=False, highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the database schema to the newest version."""
    from switchboard.store.engine import upgrade

    rt = runtime(ctx)
    upgrade(rt.engine)
    out.print("database is up to date", highlight=False)


JsonFlag = Annotated[bool, flag("--json", "Print JSON.")]
# Every column, no value broken: wider than the terminal if need be (for `less -S`).
WideFlag = Annotated[bool, flag("--wide", "Show every column, even if wider than the terminal.")]


@app.command()
def pacing(
    ctx: typer.Context,
    as_of: DateOption = None,
    as_json: Annotated[bool, flag("--json", "Print JSON (DESIGN section 6).")] = False,
    wide: WideFlag = False,
) -> None:
    """Pace every account against its budget (read-only)."""
    from switchboard.agents.pacing import evaluate
    from switchboard.bot.console_views import load_names, pacing_table
    from switchboard.store.engine import reading

    rt = runtime(ctx)
    day = parse_date(as_of, rt)
    with reading(rt.engine) as session:
        report = evaluate(session, as_of=day, thresholds=rt.manifest.pacing)
        names = None if as_json else load_names(session, rt.manifest)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        out.print(pacing_table(report, names=names, wide=wide), crop=not wide)


@agents_app.command("run")
def agents_run(
    ctx: typer.Context,
    as_of: DateOption = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Run only this agent.")] = None,
) -> None:
    """Run the agents for a date and record their findings (idempotent per date)."""
    from switchboard.bot.agent_runs import RUNNABLE, run_agents

    rt = runtime(ctx)
    if agent is not None and agent not in RUNNABLE:
        raise typer.BadParameter(
            f"'{agent}' is not a runnable agent ({', '.join(RUNNABLE)})", param_hint="--agent"
        )
    runs = run_agents(rt.engine, rt.manifest, as_of=parse_date(as_of, rt), now=rt.now(), only=agent)
    for run in runs:
        out.print(run.summary(), highlight=False)


@app.command()
def alerts(
    ctx: typer.Context,
    as_json: JsonFlag = False,
    include_resolved: Annotated[bool, flag("--all", "Include resolved alerts.")] = False,
    wide: WideFlag = False,
) -> None:
    """The stored alerts: open, acknowledged and suppressed (and resolved with --all)."""
    from switchboard.bot.console_views import alerts_table, load_names
    from switchboard.store import alerts as store_alerts
    from switchboard.store.engine import reading

    rt = runtime(ctx)
    with reading(rt.engine) as session:
        rows = store_alerts.listing(session, include_resolved=include_resolved)
        names = None if as_json else load_names(session, rt.manifest)
    if as_json:
        print(json.dumps([row.to_json() for row in rows], indent=2))
    else:
        out.print(alerts_table(rows, rt.manifest.tz, names=names, wide=wide), crop=not wide)


@app.command()
def audit(
    ctx: typer.Context,
    as_json: JsonFlag = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="How many events.")] = 50,
) -> None:
    """The audit log, newest first: time, actor, action, subject, before, after."""
    from switchboard.bot.console_views import audit_table, load_names
    from switchboard.store import audit as store_audit
    from switchboard.store.engine import reading

    rt = runtime(ctx)
    with reading(rt.engine) as session:
        events = store_audit.recent(session, limit)
        names = None if as_json else load_names(session, rt.manifest)
    if as_json:
        print(json.dumps([e.model_dump(mode="json") for e in events], indent=2))
    else:
        out.print(audit_table(events, rt.manifest.tz, names=names))


PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="HTTP port.")]
HostOption = Annotated[str, typer.Option("--host", help="HTTP interface.")]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, max=256, help="HTTP request threads (default 32).")
]
NoSchedulerOption = Annotated[
    bool,
    typer.Option(
        "--no-scheduler",
        help="Leave scheduled runs to cron (`switchboard tick`); clicks, jobs and the outbox "
        "still run.",
    ),
]


def _require_slack(rt: Runtime) -> None:
    from switchboard.bot.settings import SettingsError

    try:
        rt.settings.require_slack()
    except SettingsError as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None


def _log_to_stderr() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _serve_web(
    rt: Runtime, *, host: str, port: int, threads: int | None, wake: Any, on_stop: Any
) -> None:
    """Build the Bolt app (it checks the token with auth.test) and serve until stopped."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from switchboard.bot.app import create_app
    from switchboard.bot.server import DEFAULT_THREADS, serve

    try:
        slack = create_app(
            rt.settings,
            rt.engine,
            rt.manifest,
            clock=rt.now,
            interactions=rt.interactions,
            wake=wake,
        )
    except (BoltError, SlackApiError, OSError) as error:
        reason = getattr(error, "response", None) and error.response.get("error")  # type: ignore[attr-defined]
        err.print(
            f"SLACK_BOT_TOKEN: Slack did not accept it at {rt.settings.slack_api_url} "
            f"(auth.test: {reason or error})",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2) from None
    secret, app_token = rt.settings.slack_signing_secret, rt.settings.slack_app_token
    serve(
        slack,
        rt.engine,
        clock=rt.now,
        host=host,
        port=port,
        threads=threads or DEFAULT_THREADS,
        signing_secret=secret.get_secret_value() if secret else None,
        app_token=app_token.get_secret_value() if app_token else None,
        on_stop=on_stop,
    )


@app.command()
def web(
    ctx: typer.Context,
    port: PortOption = 3000,
    host: HostOption = "0.0.0.0",
    threads: ThreadsOption = None,
) -> None:
    """The web process alone: verify, record and acknowledge Slack's requests (HTTP or
    Socket Mode). Run `switchboard worker` beside it."""
    rt = runtime(ctx)
    _require_slack(rt)
    _log_to_stderr()
    _serve_web(rt, host=host, port=port, threads=threads, wake=lambda: None, on_stop=rt.close)


@app.command()
def worker(ctx: typer.Context, no_scheduler: NoSchedulerOption = False) -> None:
    """The worker process alone: apply recorded requests, run jobs, drain the outbox, keep
    the schedules. Any number may run against one PostgreSQL store."""
    import signal
    import threading

    from switchboard.bot.worker import Worker, request_stop

    rt = runtime(ctx)
    _require_slack(rt)
    _log_to_stderr()
    stop, wake = threading.Event(), threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: request_stop(stop, wake))
    try:
        Worker(rt, scheduled=not no_scheduler).run(stop, wake)
    finally:
        rt.close()


@app.command()
def run(
    ctx: typer.Context,
    port: PortOption = 3000,
    host: HostOption = "0.0.0.0",
    threads: ThreadsOption = None,
    no_scheduler: NoSchedulerOption = False,
) -> None:
    """The Slack app and its worker in one command (HTTP, or Socket Mode when
    SLACK_APP_TOKEN is set)."""
    from switchboard.bot.worker import WorkerProcess, WorkerSpec

    rt = runtime(ctx)
    _require_slack(rt)
    _log_to_stderr()
    spec = WorkerSpec(db_url=rt.db_url, manifest=rt.manifest_override, scheduled=not no_scheduler)
    worker_process = WorkerProcess(spec)
    worker_process.start()

    def stop_all() -> None:
        log.info("letting the worker finish what it holds")
        worker_process.stop()
        rt.close()

    _serve_web(
        rt, host=host, port=port, threads=threads, wake=worker_process.wake.set, on_stop=stop_all
    )


NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="Run as of this moment, ISO-8601 (2026-03-16T10:00; without an offset, agency "
        "time). Default: the real clock.",
    ),
]


def parse_now(text: str | None, rt: Runtime) -> datetime:
    """`--now`: an ISO-8601 moment, in agency time unless it says its offset."""
    if text is None:
        return rt.now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        err.print(
            f"--now: '{text[:60]}' is not an ISO-8601 date and time like 2026-03-16T10:00",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=rt.manifest.tz)


@app.command()
def tick(ctx: typer.Context, now: NowOption = None) -> None:
    """Everything the scheduler does, once: agents that are due, escalation steps, the
    auditor, jobs, then the outbox (for cron, and to turn the clock by hand)."""
    from switchboard.bot.tick_command import run_tick

    rt = runtime(ctx)
    moment = parse_now(now, rt)
    for line in run_tick(rt, moment):
        out.print(line, highlight=False, markup=False)


@app.command()
def escalations(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    include_closed: Annotated[
        bool, typer.Option("--all", help="Include acknowledged and resolved ones.")
    ] = False,
) -> None:
    """Escalations: open and exhausted ones (all with --all), each with its steps."""
    from switchboard.bot.console_views import escalations_table, load_names
    from switchboard.store import escalations as store_escalations
    from switchboard.store.engine import reading

    rt = runtime(ctx)
    with reading(rt.engine) as session:
        rows = [
            (e, store_escalations.steps(session, e.id))  # type: ignore[arg-type]
            for e in store_escalations.listing(session, include_closed=include_closed)
        ]
        names = None if as_json else load_names(session, rt.manifest)
    if as_json:
        print(json.dumps([store_escalations.to_json(e, steps) for e, steps in rows], indent=2))
    else:
        out.print(escalations_table(rows, rt.manifest.tz, names=names))


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Keep the demo database and data here.")
    ] = None,
    as_of: DateOption = None,
) -> None:
    """Build a sample agency in a fresh SQLite database and show what Switchboard does."""
    from switchboard.bot.demo import run_demo

    day = None
    if as_of is not None:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(
                f"'{as_of}' is not a date in YYYY-MM-DD form", param_hint="--date"
            ) from None
    run_demo(out, directory=directory, as_of=day)


def main() -> None:
    app()
