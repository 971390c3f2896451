"""The `switchboard` command line (typer + rich)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

# The store, the agents and Slack are imported by the commands that use them, so that
# `switchboard --version` (and --help) loads neither SQLAlchemy nor the Slack SDK.
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from zoneinfo import ZoneInfo

    from sqlalchemy import Engine
    from sqlmodel import Session

    from switchboard.bot.console_views import Names
    from switchboard.bot.runtime import Runtime

log = logging.getLogger(__name__)
# Help and usage errors in click's plain format: typer's rich format loads rich's Markdown,
# tracebacks and panels, about half of `switchboard --help`'s time (bench/README.md,
# "Start-up time").
PLAIN = {"rich_markup_mode": None}
app = typer.Typer(
    help="Switchboard: the Slack-native operations layer for agencies that run AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    **PLAIN,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True, **PLAIN)
app.add_typer(db_app, name="db")
agents_app = typer.Typer(
    help="Run the agents, see their autonomy, pause, resume, promote or demote them.",
    no_args_is_help=True,
    **PLAIN,
)
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


@contextmanager
def setup_problems_exit() -> Iterator[None]:
    """A setting or manifest that cannot be used: exit 2, saying why in one line per problem."""
    from switchboard.bot.settings import SettingsError
    from switchboard.store.manifest import ManifestError

    try:
        yield
    except SettingsError as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None
    except ManifestError as error:
        for problem in error.problems:
            err.print(f"{error.source}: {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def runtime(ctx: typer.Context, *, store: bool = True) -> Runtime:
    """The process runtime with settings, manifest and (unless `store` is False) the store
    loaded, or exit 2 saying why in one line per problem."""
    from switchboard.bot.runtime import Runtime

    rt = ctx.ensure_object(Runtime)
    with setup_problems_exit():
        rt.settings  # noqa: B018 - load now, so a bad setting fails before any work
        rt.database_url  # noqa: B018
        rt.manifest  # noqa: B018
        if store:
            rt.engine  # noqa: B018
    return rt


def stored_data(rt: Runtime, *, as_json: bool = False) -> Engine | None:
    """For a read-only command (its runtime from `runtime(ctx, store=False)`): the store,
    if it holds any data.

    A store that does not exist is not created (nor migrated, nor seeded); one that is empty
    is said to be, with how to fill it (None is returned then, after an empty JSON list
    with `as_json`). Exit 2 if the store cannot be read or its schema is behind.
    """
    from switchboard.bot.settings import SettingsError
    from switchboard.store.engine import reading, shown
    from switchboard.store.source_data import holds_data

    try:
        engine = rt.reader
    except SettingsError as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None
    if engine is not None:
        with reading(engine) as session:
            if holds_data(session):
                return engine
    err.print(
        f"The store {shown(rt.database_url)} has no data yet: import your CSV files with "
        "`switchboard import DIR` (formats: docs/data.md), or try `switchboard demo`.",
        markup=False,
        highlight=False,
    )
    if as_json:
        print("[]")
    return None


def show_stored(
    ctx: typer.Context,
    *,
    as_json: bool,
    rows: Callable[[Session], Sequence[Any]],
    as_dict: Callable[[Any], dict[str, Any]],
    table: Callable[[Sequence[Any], ZoneInfo, Names], Any],
    wide: bool = False,
) -> None:
    """A read-only listing: `rows` from the store as JSON (`as_dict` each) or as a table."""
    from switchboard.bot.console_views import load_names
    from switchboard.store.engine import reading

    rt = runtime(ctx, store=False)
    engine = stored_data(rt, as_json=as_json)
    if engine is None:
        return
    with reading(engine) as session:
        found = rows(session)
        if as_json:
            print(json.dumps([as_dict(row) for row in found], indent=2))
            return
        names = load_names(session, rt.manifest)
    out.print(table(found, rt.manifest.tz, names), crop=not wide)


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


def distribution_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError

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
        str | None,
        typer.Option(
            "--db",
            metavar="URL|PATH",
            help="Database URL, or a SQLite file's path (overrides DATABASE_URL).",
        ),
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
    FILE:LINE: column: problem, and then nothing is imported (exit status 2). On a
    terminal, a progress bar follows each file as it is checked and written.
    """
    from switchboard.bot.import_progress import progress_bar
    from switchboard.store.csv_import import ImportFailed, ignored_note, import_dir

    rt = runtime(ctx)
    try:
        with progress_bar(err) as progress:
            report = import_dir(
                rt.engine,
                directory,
                rt.manifest.tz,
                now=rt.now(),
                today=rt.today(),
                progress=progress,
            )
    except ImportFailed as failure:
        for name in failure.ignored:
            err.print(ignored_note(name), markup=False, highlight=False)
        for problem in failure.problems:
            err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        err.print(f"{failure}.", markup=False, highlight=False)
        raise typer.Exit(2) from None
    for name in report.ignored:
        err.print(ignored_note(name), markup=False, highlight=False)
    for name, count in report.rows.items():
        out.print(f"{name}: {count} row{'' if count == 1 else 's'}", highlight=False)


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
    from switchboard.agents.pacing import empty_report, evaluate
    from switchboard.bot.console_views import load_names, pacing_table
    from switchboard.store.engine import reading

    rt = runtime(ctx, store=False)
    day = parse_date(as_of, rt)
    engine = stored_data(rt)
    if engine is None:
        if as_json:
            print(json.dumps(empty_report(day).to_json(), indent=2))
        return
    with reading(engine) as session:
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


@agents_app.command("list")
def agents_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Each agent's level, domain and shadow record (days, outputs, reviewed, agreement)."""
    from switchboard.agents.autonomy import statuses
    from switchboard.bot.console_views import agents_table

    rt = runtime(ctx, store=False)
    show_stored(
        ctx,
        as_json=as_json,
        rows=lambda session: statuses(session, rt.manifest, today=rt.today()),
        as_dict=lambda status: status.model_dump(mode="json"),
        table=lambda rows, _tz, _names: agents_table(rows),
    )


ByOption = Annotated[
    str,
    typer.Option(
        "--by", help="Your Slack user id: checked against the manifest's roles, as a click is."
    ),
]


def change_agent(ctx: typer.Context, text: str, by: str) -> None:
    """Apply `/ops TEXT` as `by` would from Slack: the same parser, permission and work."""
    from switchboard.bot.terminal import slack_to_terminal
    from switchboard.handlers.commands import Origin
    from switchboard.handlers.ops import UsageError, parse
    from switchboard.handlers.registry import OPS, WORK
    from switchboard.handlers.work import apply
    from switchboard.store.slack_ids import is_user_id

    if not is_user_id(by):
        raise typer.BadParameter(f"'{by}' is not a Slack user id (like U0ADMIN)", param_hint="--by")
    rt = runtime(ctx)
    now = rt.now()
    try:
        command = parse(text, OPS, rt.manifest, Origin(user=by, asked_at=now))
    except UsageError as error:
        err.print(slack_to_terminal(str(error), {}), markup=False, highlight=False)
        raise typer.Exit(2) from None
    assert command is not None  # the text names a subcommand
    replies = apply(rt.engine, rt.manifest, WORK[command.kind], command, now=now, reply_key=None)
    people = {person.slack_id: person.name for person in rt.manifest.people}
    for reply in replies:
        console = err if reply.refused else out
        console.print(slack_to_terminal(reply.message.text, people), markup=False, highlight=False)
    if any(reply.refused for reply in replies):
        raise typer.Exit(1)


AgentArgument = Annotated[str, typer.Argument(help="The agent's name (pause and resume: or all).")]


@agents_app.command("pause")
def agents_pause(ctx: typer.Context, name: AgentArgument, by: ByOption) -> None:
    """Kill switch: nothing of the agent runs or is sent until it is resumed (admins)."""
    change_agent(ctx, f"pause {name}", by)


@agents_app.command("resume")
def agents_resume(ctx: typer.Context, name: AgentArgument, by: ByOption) -> None:
    """Back to the level held before the pause; held messages go out (admins)."""
    change_agent(ctx, f"resume {name}", by)


@agents_app.command("promote")
def agents_promote(
    ctx: typer.Context,
    name: AgentArgument,
    by: ByOption,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (needed to become autonomous).")
    ] = None,
) -> None:
    """One step up: shadow → supervised (when its shadow numbers are met) → autonomous."""
    change_agent(ctx, f"promote {name} {reason or ''}".strip(), by)


@agents_app.command("demote")
def agents_demote(ctx: typer.Context, name: AgentArgument, by: ByOption) -> None:
    """One step down; back to shadow restarts its time in shadow (admins)."""
    change_agent(ctx, f"demote {name}", by)


@app.command()
def alerts(
    ctx: typer.Context,
    as_json: JsonFlag = False,
    include_resolved: Annotated[bool, flag("--all", "Include resolved alerts.")] = False,
    wide: WideFlag = False,
) -> None:
    """The stored alerts: open, acknowledged and suppressed (and resolved with --all)."""
    from switchboard.bot.console_views import alerts_table
    from switchboard.store import alerts as store_alerts

    show_stored(
        ctx,
        as_json=as_json,
        wide=wide,
        rows=lambda session: store_alerts.listing(session, include_resolved=include_resolved),
        as_dict=lambda alert: alert.to_json(),
        table=lambda rows, tz, names: alerts_table(rows, tz, names=names, wide=wide),
    )


@app.command()
def audit(
    ctx: typer.Context,
    as_json: JsonFlag = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="How many events.")] = 50,
) -> None:
    """The audit log, newest first: time, actor, action, subject, before, after."""
    from switchboard.bot.console_views import audit_table
    from switchboard.store import audit as store_audit

    show_stored(
        ctx,
        as_json=as_json,
        rows=lambda session: store_audit.recent(session, limit),
        as_dict=lambda event: event.model_dump(mode="json"),
        table=lambda rows, tz, names: audit_table(rows, tz, names=names),
    )


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


def _slack_app(rt: Runtime, *, wake: Any) -> Any:
    """The Bolt app, its token checked with auth.test, or exit 2 saying what failed.

    "Slack did not accept the token" only when Slack answered so; a Web API that cannot be
    reached, or that answers as Slack does not, is a problem with SLACK_API_URL.
    """
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from switchboard.bot.app import create_app

    url = rt.settings.slack_api_url
    try:
        return create_app(
            rt.settings,
            rt.engine,
            rt.manifest,
            clock=rt.now,
            interactions=rt.interactions,
            wake=wake,
        )
    except (BoltError, SlackApiError, OSError) as error:
        # Bolt raises BoltError from the SlackApiError that holds Slack's answer.
        cause = error if isinstance(error, SlackApiError) else error.__context__
        if isinstance(cause, SlackApiError):
            answer = cause.response
            code = answer.get("error") if isinstance(answer.data, dict) else None
            if answer.status_code == 200 and code:
                problem = f"SLACK_BOT_TOKEN: Slack did not accept it at {url} (auth.test: {code})"
            else:
                problem = (
                    f"SLACK_API_URL: {url} is not Slack's Web API "
                    f"(auth.test answered HTTP {answer.status_code})"
                )
        elif isinstance(error, OSError):
            problem = f"SLACK_API_URL: cannot reach {url}: {_reason(error)}"
        else:
            problem = f"SLACK_BOT_TOKEN: {error}"
        err.print(problem, markup=False, highlight=False)
        raise typer.Exit(2) from None


def _reason(error: OSError) -> str:
    """`connection refused` from an OSError, however deep urllib wrapped it."""
    inner: Any = error
    while isinstance(getattr(inner, "reason", None), BaseException):
        inner = inner.reason
    text = inner.strerror if getattr(inner, "strerror", None) else str(inner)
    return text[:1].lower() + text[1:]


def _check_port(host: str, port: int) -> None:
    """Exit 2 in one line if the HTTP server could not listen on `host`:`port`.

    Checked before anything starts (the worker, the Slack app), with the address options
    waitress uses; the server's own bind error is reported the same way.
    """
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        _cannot_listen(host, port, error)
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            _cannot_listen(host, port, error)


def _cannot_listen(host: str, port: int, error: OSError) -> NoReturn:
    import errno
    import socket

    setting = (
        "--host"
        if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL
        else "--port"
    )
    reason = error.strerror or str(error)
    err.print(
        f"{setting}: cannot listen on {host}:{port}: {reason[:1].lower()}{reason[1:]}",
        markup=False,
        highlight=False,
    )
    raise typer.Exit(2) from None


def _serve_web(
    rt: Runtime, slack: Any, *, host: str, port: int, threads: int | None, on_stop: Any
) -> None:
    """Serve until stopped; a port taken since `_check_port` is reported as it is there."""
    from switchboard.bot.server import DEFAULT_THREADS, serve

    secret, app_token = rt.settings.slack_signing_secret, rt.settings.slack_app_token
    serving = False

    def stopping() -> None:
        nonlocal serving
        serving = True  # serve() calls it once its server ran, whatever ended it
        on_stop()

    try:
        serve(
            slack,
            rt.engine,
            clock=rt.now,
            host=host,
            port=port,
            threads=threads or DEFAULT_THREADS,
            signing_secret=secret.get_secret_value() if secret else None,
            app_token=app_token.get_secret_value() if app_token else None,
            on_stop=stopping,
        )
    except OSError as error:
        if serving:
            raise
        on_stop()  # the server was never made: nothing else stops what was started
        _cannot_listen(host, port, error)


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
    _check_port(host, port)
    slack = _slack_app(rt, wake=lambda: None)
    _log_to_stderr()
    _serve_web(rt, slack, host=host, port=port, threads=threads, on_stop=rt.close)


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
    _check_port(host, port)
    spec = WorkerSpec(db_url=rt.db_url, manifest=rt.manifest_override, scheduled=not no_scheduler)
    worker_process = WorkerProcess(spec)
    # The token is checked before the worker starts: a refused one stops nothing half-started.
    slack = _slack_app(rt, wake=worker_process.wake.set)
    _log_to_stderr()
    worker_process.start()

    def stop_all() -> None:
        log.info("letting the worker finish what it holds")
        worker_process.stop()
        rt.close()

    _serve_web(rt, slack, host=host, port=port, threads=threads, on_stop=stop_all)


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
    as_json: JsonFlag = False,
    include_closed: Annotated[
        bool, flag("--all", "Include acknowledged and resolved ones.")
    ] = False,
    wide: WideFlag = False,
) -> None:
    """Escalations: open and exhausted ones (all with --all), each with its steps.

    Human-only client mail is here too, not under `drafts`."""
    from switchboard.bot.console_views import escalations_table
    from switchboard.store import escalations as store_escalations

    def rows(session: Session) -> list[tuple[Any, Any]]:
        found = store_escalations.listing(session, include_closed=include_closed)
        return [(e, store_escalations.steps(session, e.id)) for e in found]

    show_stored(
        ctx,
        as_json=as_json,
        wide=wide,
        rows=rows,
        as_dict=lambda row: store_escalations.to_json(*row),
        table=lambda rows, tz, names: escalations_table(rows, tz, names=names, wide=wide),
    )


@app.command()
def drafts(
    ctx: typer.Context,
    as_json: JsonFlag = False,
    include_done: Annotated[
        bool, flag("--all", "Include decided, sent, superseded and expired ones.")
    ] = False,
    wide: WideFlag = False,
) -> None:
    """Client email drafts: those waiting for an approver (all of them with --all)."""
    from switchboard.bot.console_views import drafts_table
    from switchboard.store import drafts as store_drafts

    show_stored(
        ctx,
        as_json=as_json,
        wide=wide,
        rows=lambda session: store_drafts.listing(session, include_done=include_done),
        as_dict=store_drafts.to_json,
        table=lambda rows, tz, names: drafts_table(rows, tz, names=names, wide=wide),
    )


@app.command()
def brief(
    ctx: typer.Context,
    as_of: DateOption = None,
    dry_run: Annotated[bool, flag("--dry-run", "Print it; queue nothing.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The morning briefing as a person reads it; queued to post unless --dry-run (once per
    channel and day: a briefing already posted is not posted again)."""
    from switchboard.agents.briefing import compose
    from switchboard.bot.terminal import slack_message_lines
    from switchboard.handlers.briefing_posts import post_briefing
    from switchboard.handlers.views.briefing import briefing_view
    from switchboard.store.engine import reading, transaction

    rt = runtime(ctx)
    day, now = parse_date(as_of, rt), rt.now()
    with reading(rt.engine) as session:
        briefing = compose(session, rt.manifest, day=day, now=now)
    view = briefing_view(briefing)
    if as_json:
        print(json.dumps({**briefing.to_json(), **view.payload()}, indent=2))
    else:
        people = {person.slack_id: person.name for person in rt.manifest.people}
        messages = [view.main, *view.thread]
        for n, message in enumerate(messages):
            if n == 1:
                out.print("In the thread:", highlight=False, markup=False)
            blocks = message.payload()["blocks"]
            for line in slack_message_lines(message.text, blocks, people):
                out.print(("  " if n else "") + line, highlight=False, markup=False)
    if dry_run:
        return
    if day != rt.today():  # another day's slot would be used up: only today's is posted
        err.print(
            f"Not queued: only today's briefing ({rt.today()}) is posted; --date shows others.",
            highlight=False,
            markup=False,
        )
        return
    with transaction(rt.engine) as session:
        posted = post_briefing(session, rt.manifest, day=day, now=now, actor="cli")
    where = rt.manifest.channels.briefing
    note = (
        f"Queued for {where}: the worker (or `switchboard tick`) posts it."
        if posted
        else f"The briefing of {day} for {where} was already posted; it is posted once a day."
    )
    err.print(note, highlight=False, markup=False)


@app.command()
def check(
    ctx: typer.Context,
    manifest: Annotated[
        Path | None,
        typer.Argument(
            metavar="MANIFEST",
            help="Agency manifest YAML (default: --manifest, else SWITCHBOARD_MANIFEST).",
        ),
    ] = None,
    as_json: Annotated[bool, flag("--json", 'Print {"score": N, "gaps": [...]}.')] = False,
) -> None:
    """Score the manifest's coordination out of 100 and list each gap with its fix.

    Exit status 0 with no gaps, 1 with any, 2 when the manifest cannot be read or has a
    problem no gap code covers.
    """
    from switchboard.bot.check_command import run_check
    from switchboard.bot.settings import SettingsError

    rt: Runtime = ctx.obj
    # Not `runtime(ctx)`: that refuses a manifest with problems `check` reports as gaps.
    try:
        path = manifest or rt.manifest_path
    except SettingsError as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None
    raise typer.Exit(run_check(path, now=rt.now(), as_json=as_json, out=out, err=err))


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


@app.command()
def sandbox(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="The page's port on 127.0.0.1.")
    ] = 8080,
    empty: Annotated[
        bool, flag("--empty", "Start without the sample agency: the manifest's people only.")
    ] = False,
) -> None:
    """The whole product in a browser, offline: Switchboard as `run` starts it, a Slack
    stand-in, and a chat page at http://127.0.0.1:PORT/ (Ctrl-C stops it all).

    Its store is a temporary SQLite file unless --db is given; --manifest picks the agency
    (default: the example's). No environment setting applies: the bot token and signing
    secret are made for the session, drafts come from the offline template, and approved
    mail is written as .eml files.
    """
    from switchboard.bot.runtime import Runtime
    from switchboard.bot.sandbox.command import run_sandbox

    _check_port("127.0.0.1", port)
    options = ctx.ensure_object(Runtime)
    with setup_problems_exit():
        run_sandbox(
            out, port=port, empty=empty, db=options.db_url, manifest=options.manifest_override
        )


def main() -> None:
    app()
