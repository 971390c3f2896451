"""`switchboard import DIR`: all files or nothing (DESIGN section 5).

Every file is read and every row checked before anything is written (store/csv_read.py); one
bad row and the store is left as it was, with every problem reported as `FILE:LINE: column:
problem`. Then the rows are written in bulk (store/bulk_write.py), in the one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel

from switchboard.store import import_records
from switchboard.store.bulk_write import collector_paused, upsert
from switchboard.store.csv_read import FileRows, Problem, Progress, quiet, read_rows
from switchboard.store.csv_rows import (
    AdAccountRow,
    BudgetRow,
    ClientRow,
    CsvRow,
    ExclusionRow,
    InboxRow,
    ProjectRow,
    SpendRow,
)
from switchboard.store.engine import transaction
from switchboard.store.source_data import (
    AdAccount,
    Budget,
    Client,
    Exclusion,
    InboundEmail,
    Project,
    SpendDay,
)


class ImportFailed(Exception):
    def __init__(self, problems: list[Problem], ignored: Sequence[str] = ()) -> None:
        self.problems = problems
        self.ignored = list(ignored)  # CSV files of the directory that are not import files
        count = len(problems)
        super().__init__(f"{count} problem{'' if count == 1 else 's'}; nothing was imported")


# The source of each row of one file, given its columns (see store/import_records.py).
SourceOf = Callable[[Session, Mapping[str, list[Any]]], list[str]]


def _named_source(_session: Session, columns: Mapping[str, list[Any]]) -> list[str]:
    return columns["source"]


def _ad_platform(session: Session, columns: Mapping[str, list[Any]]) -> list[str]:
    platforms = {
        account: platform.value
        for account, platform in session.execute(select(AdAccount.account_id, AdAccount.platform))
    }
    return list(map(platforms.__getitem__, columns["account_id"]))


def _inbox(_session: Session, columns: Mapping[str, list[Any]]) -> list[str]:
    return ["inbox"] * len(columns["message_id"])


@dataclass(frozen=True)
class FileSpec:
    name: str
    row: type[CsvRow]
    table: type[SQLModel]
    key: tuple[str, ...]  # columns that identify a row: re-import replaces it
    clients: str | None = None  # column that must name a known client
    accounts: str | None = None  # column that must name a known ad account
    # CSV column -> table column, where they differ
    renames: dict[str, str] = field(default_factory=dict)
    # Where its rows come from; None: the agency's own list, no feed.
    sources: SourceOf | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.row.model_fields)

    @property
    def required(self) -> list[str]:
        return [name for name, f in self.row.model_fields.items() if f.is_required()]


# In dependency order: clients before the accounts that name them, and so on.
FILES: tuple[FileSpec, ...] = (
    FileSpec("clients.csv", ClientRow, Client, ("client_id",)),
    FileSpec("ad_accounts.csv", AdAccountRow, AdAccount, ("account_id",), clients="client_id"),
    FileSpec(
        "budgets.csv",
        BudgetRow,
        Budget,
        ("account_id", "month", "effective_from"),
        accounts="account_id",
    ),
    FileSpec(
        "spend.csv",
        SpendRow,
        SpendDay,
        ("account_id", "date"),
        accounts="account_id",
        renames={"date": "day"},
        sources=_ad_platform,
    ),
    FileSpec(
        "exclusions.csv", ExclusionRow, Exclusion, ("account_id", "reason"), accounts="account_id"
    ),
    FileSpec(
        "projects.csv",
        ProjectRow,
        Project,
        ("source", "project_id"),
        clients="client_id",
        sources=_named_source,
    ),
    FileSpec(
        "inbox.csv", InboxRow, InboundEmail, ("message_id",), clients="client_id", sources=_inbox
    ),
)
FILE_NAMES = tuple(spec.name for spec in FILES)


@dataclass
class ImportReport:
    rows: dict[str, int]  # rows imported per file
    ignored: list[str]  # CSV files in the directory that are not import files


def ignored_note(name: str) -> str:
    """One line on a CSV file of the directory that was not imported, and why."""
    if name.lower() in FILE_NAMES:  # Clients.csv: a spreadsheet's or a person's spelling
        return f"ignored {name}: not an import file; their names are lower case ({name.lower()})"
    return f"ignored {name}: not an import file"


def _parse(
    spec: FileSpec,
    data: bytes,
    context: Mapping[str, Any],
    problems: list[Problem],
    progress: Progress,
) -> FileRows:
    found: list[Problem] = []
    rows = read_rows(
        spec.name,
        data,
        spec.row,
        key_column=spec.key[0],
        context=context,
        problems=found,
        progress=progress,
    )
    _normalize(spec, rows)
    _drop_duplicates(spec, rows, found)
    found.sort(key=lambda problem: problem.line)  # a duplicate among the row's other problems
    problems.extend(found)
    return rows


def _normalize(spec: FileSpec, rows: FileRows) -> None:
    if spec.table is Budget:
        # In force from day 1 when no date is given (DESIGN section 6).
        columns = rows.columns
        columns["effective_from"] = [
            day or date.fromisoformat(month + "-01")
            for day, month in zip(columns["effective_from"], columns["month"], strict=True)
        ]


def _drop_duplicates(spec: FileSpec, rows: FileRows, problems: list[Problem]) -> None:
    """One row per key in a file: a later row with the same key is a problem."""
    keys = list(zip(*(rows.columns[k] for k in spec.key), strict=True))
    if len(set(keys)) == len(keys):
        return
    first_line_of: dict[tuple[Any, ...], int] = {}
    wanted = []
    for line, key in zip(rows.lines, keys, strict=True):
        first = first_line_of.setdefault(key, line)
        wanted.append(first == line)
        if first != line:
            shown = ", ".join(str(k) for k in key)
            problems.append(
                Problem(spec.name, line, spec.key[-1], f"duplicate of line {first} ({shown})")
            )
    rows.keep(wanted)


def _check_references(
    parsed: list[tuple[FileSpec, FileRows]], session: Session, problems: list[Problem]
) -> None:
    by_name = {spec.name: rows for spec, rows in parsed}
    known = {
        "clients": set(session.scalars(select(Client.client_id))),
        "accounts": set(session.scalars(select(AdAccount.account_id))),
    }
    if "clients.csv" in by_name:
        known["clients"] |= by_name["clients.csv"].keys_seen
    if "ad_accounts.csv" in by_name:
        known["accounts"] |= by_name["ad_accounts.csv"].keys_seen
    for spec, rows in parsed:
        for kind, column, what in (
            ("clients", spec.clients, "client"),
            ("accounts", spec.accounts, "ad account"),
        ):
            if column is None or known[kind].issuperset(rows.columns[column]):
                continue
            for line, value in zip(rows.lines, rows.columns[column], strict=True):
                if value not in known[kind]:
                    problems.append(Problem(spec.name, line, column, f"unknown {what} '{value}'"))


def import_files(
    session: Session,
    files: dict[str, bytes],
    tz: ZoneInfo,
    *,
    now: datetime,
    today: date,
    progress: Progress = quiet,
) -> dict[str, int]:
    """Check and write `{file name: bytes}` in the caller's transaction, recording what was
    new per file and source as imported at `now`; spend dated after `today` (the agency's)
    is a problem.

    Raises ImportFailed, having written nothing, when any row is invalid.
    """
    problems: list[Problem] = []
    context = {"tz": tz, "today": today}
    with collector_paused():
        parsed = [
            (spec, _parse(spec, files[spec.name], context, problems, progress))
            for spec in FILES
            if spec.name in files
        ]
        _check_references(parsed, session, problems)
        if problems:
            raise ImportFailed(problems)
        new_rows: dict[tuple[str, str | None], int] = {}
        for spec, rows in parsed:
            step = f"writing {spec.name}"
            progress(step, 0, len(rows))
            changed = upsert(
                session,
                spec.table.__table__,  # type: ignore[attr-defined]
                {spec.renames.get(name, name): values for name, values in rows.columns.items()},
                [spec.renames.get(k, k) for k in spec.key],
                by=spec.sources(session, rows.columns) if spec.sources else None,
                progress=lambda done, step=step, total=len(rows): progress(step, done, total),
            )
            new_rows.update(((spec.name, source), n) for source, n in changed.items())
        import_records.record(session, new_rows, now=now, tz=tz)
    return {spec.name: len(rows) for spec, rows in parsed}


def import_dir(
    engine: Engine,
    directory: Path,
    tz: ZoneInfo,
    *,
    now: datetime,
    today: date,
    progress: Progress = quiet,
) -> ImportReport:
    """Import whichever import files `directory` holds, in one transaction, as of `now`;
    spend dated after `today` (the agency's) is a problem."""
    if not directory.is_dir():
        raise ImportFailed([Problem(str(directory), 0, "directory", "not a directory")])
    present = {p.name: p for p in directory.iterdir() if p.is_file()}
    files = {name: present[name].read_bytes() for name in FILE_NAMES if name in present}
    ignored = sorted(n for n in present if n.lower().endswith(".csv") and n not in FILE_NAMES)
    if not files:
        expected = ", ".join(FILE_NAMES)
        raise ImportFailed(
            [
                Problem(
                    str(directory), 0, "directory", f"no import files (expected any of {expected})"
                )
            ],
            ignored,
        )
    try:
        with transaction(engine) as session:
            rows = import_files(session, files, tz, now=now, today=today, progress=progress)
    except ImportFailed as failure:
        raise ImportFailed(failure.problems, ignored) from None
    return ImportReport(rows=rows, ignored=ignored)
