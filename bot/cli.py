"""The `switchboard` command line (typer + rich)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.runtime import Runtime
from bot.settings import SettingsError
from store.csv_import import ImportFailed, import_dir
from store.engine import upgrade
from store.manifest import ManifestError

app = typer.Typer(
    help="Switchboard: the Slack-native operations layer for agencies that run AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)

DateOption = Annotated[
    str | None, typer.Option("--date", help="As-of date YYYY-MM-DD (default: today, agency time).")
]


def runtime(ctx: typer.Context) -> Runtime:
    """The process runtime with settings, manifest and store loaded, or exit 2 saying why."""
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
        raise typer.BadParameter(f"'{text}' is not a date in YYYY-MM-DD form", param_hint="--date") from None


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (overrides DATABASE_URL).")] = None,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="Agency manifest YAML (overrides SWITCHBOARD_MANIFEST)."),
    ] = None,
) -> None:
    ctx.obj = Runtime(db_url=db, manifest_override=manifest)


@app.command("import")
def import_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder holding clients.csv, spend.csv, ...")],
) -> None:
    """Import the agency's CSV files: all of them or nothing."""
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


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the database schema to the newest version."""
    rt = runtime(ctx)
    upgrade(rt.engine)
    out.print("database is up to date", highlight=False)


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Keep the demo database and data here.")
    ] = None,
    as_of: DateOption = None,
) -> None:
    """Build a sample agency in a fresh SQLite database and show what Switchboard does."""
    from bot.demo import run_demo

    run_demo(out, directory=directory, as_of=date.fromisoformat(as_of) if as_of else None)


def main() -> None:
    app()
