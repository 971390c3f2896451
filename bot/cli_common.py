"""What every `switchboard` command shares: the consoles, common options, and loading the
runtime (settings, manifest, store) with one line per problem when it cannot be used.

The store, the agents and Slack are imported by the commands that use them, so that
`switchboard --version` (and --help) loads neither SQLAlchemy nor the Slack SDK.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from zoneinfo import ZoneInfo

    from sqlalchemy import Engine
    from sqlmodel import Session

    from switchboard.bot.console_views import Names
    from switchboard.bot.runtime import Runtime

# Help and usage errors in click's plain format: typer's rich format loads rich's Markdown,
# tracebacks and panels, about half of `switchboard --help`'s time (bench/README.md,
# "Start-up time").
PLAIN = {"rich_markup_mode": None}


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


def flag(name: str, help_text: str, **options: Any) -> Any:
    """A boolean option that takes no value, its help line reading `--json  Print JSON.`

    (typer's rich help otherwise shows a `<bool>` type beside it, as if it took one).
    """
    return typer.Option(name, help=help_text, metavar="", **options)


JsonFlag = Annotated[bool, flag("--json", "Print JSON.")]


# Every column, no value broken: wider than the terminal if need be (for `less -S`).
WideFlag = Annotated[bool, flag("--wide", "Show every column, even if wider than the terminal.")]


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
