"""The `switchboard` command line (typer + rich)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from switchboard.bot import cli_serve
from switchboard.bot.cli_agents import agents_app
from switchboard.bot.cli_common import (
    PLAIN,
    DateOption,
    JsonFlag,
    NowOption,
    WideFlag,
    err,
    flag,
    out,
    parse_date,
    parse_now,
    runtime,
    show_stored,
    stored_data,
)

# The store, the agents and Slack are imported by the commands that use them, so that
# `switchboard --version` (and --help) loads neither SQLAlchemy nor the Slack SDK.
if TYPE_CHECKING:
    from sqlmodel import Session

    from switchboard.bot.runtime import Runtime

app = typer.Typer(
    help="Switchboard: the Slack-native operations layer for agencies that run AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    **PLAIN,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True, **PLAIN)
app.add_typer(db_app, name="db")
app.add_typer(agents_app, name="agents")


DISTRIBUTION = "agency-switchboard"


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


for serve in (cli_serve.web, cli_serve.worker, cli_serve.run, cli_serve.sandbox):
    app.command()(serve)


def main() -> None:
    app()
