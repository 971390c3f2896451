"""`switchboard import DIR`: all files or nothing (DESIGN section 5).

Every file is read and every row checked before anything is written; one bad row and
the store is left as it was, with every problem reported as `FILE:LINE: column: problem`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from switchboard.store import import_records
from switchboard.store.csv_rows import (
    AdAccountRow,
    BudgetRow,
    ClientRow,
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

# Columns that may hold an empty value even though they are required.
_MAY_BE_EMPTY = {"subject", "body"}
_CHUNK = 500


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        # One problem, one line: a quoted cell or header may hold line breaks.
        text = f"{self.file}:{self.line}: {self.column}: {self.message}"
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ImportFailed(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s); nothing was imported")


# New rows per source of one file's rows (see store/import_records.py).
SourceCount = Callable[[Session, list[dict[str, Any]]], Counter[str | None]]


def _named_source(_session: Session, rows: list[dict[str, Any]]) -> Counter[str | None]:
    return Counter(row["source"] for row in rows)


def _ad_platform(session: Session, rows: list[dict[str, Any]]) -> Counter[str | None]:
    platforms = dict(session.execute(select(AdAccount.account_id, AdAccount.platform)).all())
    return Counter(platforms[row["account_id"]].value for row in rows)


def _inbox(_session: Session, rows: list[dict[str, Any]]) -> Counter[str | None]:
    return Counter({"inbox": len(rows)})


@dataclass(frozen=True)
class FileSpec:
    name: str
    row: type[BaseModel]
    table: type[SQLModel]
    key: tuple[str, ...]  # columns that identify a row: re-import replaces it
    clients: str | None = None  # column that must name a known client
    accounts: str | None = None  # column that must name a known ad account
    # CSV column -> table column, where they differ
    renames: dict[str, str] = field(default_factory=dict)
    # Where its rows come from, given their keys; None: the agency's own list, no feed.
    sources: SourceCount | None = None

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
    ignored: list[str]  # files in the directory that are not import files


@dataclass
class _Parsed:
    spec: FileSpec
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, table values)
    # First key column of every row, valid or not: a row that names a client from a
    # broken clients.csv row is not reported a second time as "unknown client".
    keys_seen: set[str] = field(default_factory=set)


def _records(
    spec: FileSpec, data: bytes, problems: list[Problem]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: text}) for each data row, after the header is checked."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # utf-8-sig counts positions after the byte order mark it removed.
        at = error.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        line = data[:at].count(b"\n") + 1
        problems.append(Problem(spec.name, line, "encoding", f"not UTF-8 (byte 0x{data[at]:02x})"))
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            problems.append(Problem(spec.name, 1, "header", "missing header row"))
            return
        header = [cell.strip() for cell in header]
        header_ok = True
        for i, name in enumerate(header):
            if name not in spec.columns:
                problems.append(
                    Problem(
                        spec.name,
                        1,
                        name or "(blank)",
                        f"unknown column (expected: {', '.join(spec.columns)})",
                    )
                )
                header_ok = False
            elif name in header[:i]:  # reported once, at its second appearance
                problems.append(Problem(spec.name, 1, name, "column appears twice"))
                header_ok = False
        for name in spec.required:
            if name not in header:
                problems.append(Problem(spec.name, 1, name, "required column is missing"))
                header_ok = False
        if not header_ok:
            return
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            if len(cells) != len(header):
                problems.append(
                    Problem(
                        spec.name,
                        start,
                        "row",
                        f"has {len(cells)} fields, header has {len(header)}",
                    )
                )
                continue
            yield start, dict(zip(header, cells, strict=True))
    except csv.Error as error:
        problems.append(
            Problem(spec.name, reader.line_num or 1, "row", f"unreadable CSV ({error})")
        )


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    column = str(error["loc"][0]) if error["loc"] else "row"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "enum":
        message = f"must be one of {error['ctx']['expected']} (got {error['input']!r})"
    elif error["type"] in ("string_pattern_mismatch", "int_parsing", "int_from_float"):
        message = f"{error['input']!r}: {message[0].lower()}{message[1:]}"
    return column, message


def _parse(spec: FileSpec, data: bytes, tz: ZoneInfo, problems: list[Problem]) -> _Parsed:
    parsed = _Parsed(spec)
    first_line_of: dict[tuple[Any, ...], int] = {}
    for line, record in _records(spec, data, problems):
        values: dict[str, Any] = {}
        row_ok = True
        for column, cell in record.items():
            cell = cell.strip()
            if "\x00" in cell:  # PostgreSQL cannot store it; no real value holds one
                problems.append(Problem(spec.name, line, column, "contains a NUL character"))
                row_ok = False
            elif cell:
                values[column] = cell
            elif column in spec.required and column not in _MAY_BE_EMPTY:
                problems.append(Problem(spec.name, line, column, "required, but empty"))
                row_ok = False
            elif column in _MAY_BE_EMPTY:
                values[column] = ""
        if values.get(spec.key[0]):
            parsed.keys_seen.add(values[spec.key[0]])
        try:
            row = spec.row.model_validate(values, context={"tz": tz})
        except ValidationError as error:
            for detail in error.errors():
                column, message = _describe(detail)
                if column in values:  # empty required cells are reported above
                    problems.append(Problem(spec.name, line, column, message))
            continue
        if not row_ok:
            continue
        fields = _normalize(spec, row.model_dump())
        key = tuple(fields[k] for k in spec.key)
        if key in first_line_of:
            shown = ", ".join(str(k) for k in key)
            problems.append(
                Problem(
                    spec.name,
                    line,
                    spec.key[-1],
                    f"duplicate of line {first_line_of[key]} ({shown})",
                )
            )
            continue
        first_line_of[key] = line
        parsed.rows.append((line, {spec.renames.get(k, k): v for k, v in fields.items()}))
    return parsed


def _check_references(parsed: list[_Parsed], session: Session, problems: list[Problem]) -> None:
    by_name = {p.spec.name: p for p in parsed}
    known = {
        "clients": set(session.scalars(select(Client.client_id))),
        "accounts": set(session.scalars(select(AdAccount.account_id))),
    }
    if "clients.csv" in by_name:
        known["clients"] |= by_name["clients.csv"].keys_seen
    if "ad_accounts.csv" in by_name:
        known["accounts"] |= by_name["ad_accounts.csv"].keys_seen
    for p in parsed:
        for kind, column, what in (
            ("clients", p.spec.clients, "client"),
            ("accounts", p.spec.accounts, "ad account"),
        ):
            if column is None:
                continue
            for line, row in p.rows:
                if row[column] not in known[kind]:
                    problems.append(
                        Problem(p.spec.name, line, column, f"unknown {what} '{row[column]}'")
                    )


def _normalize(spec: FileSpec, row: dict[str, Any]) -> dict[str, Any]:
    if spec.table is Budget and row["effective_from"] is None:
        # In force from day 1 when no date is given (DESIGN section 6).
        row = {**row, "effective_from": date.fromisoformat(row["month"] + "-01")}
    return row


def _upsert(session: Session, spec: FileSpec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert or replace `rows`; the keys of those that were new or changed.

    A row equal to the stored one is left alone (the WHERE of the upsert), so it is not
    returned: that is how an import knows which rows it really brought.
    """
    table = spec.table.__table__  # type: ignore[attr-defined]
    keys = [spec.renames.get(k, k) for k in spec.key]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    changed: list[dict[str, Any]] = []
    for start in range(0, len(rows), _CHUNK):
        statement = dialect.insert(table).values(rows[start : start + _CHUNK])
        updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
        differs = or_(*(table.c[name].is_distinct_from(value) for name, value in updates.items()))
        upsert = statement.on_conflict_do_update(index_elements=keys, set_=updates, where=differs)
        result = session.execute(upsert.returning(*(table.c[k] for k in keys)))
        changed += [dict(row) for row in result.mappings()]
    return changed


def import_files(
    session: Session, files: dict[str, bytes], tz: ZoneInfo, *, now: datetime
) -> dict[str, int]:
    """Check and write `{file name: bytes}` in the caller's transaction, recording what was
    new per file and source as imported at `now`.

    Raises ImportFailed, having written nothing, when any row is invalid.
    """
    problems: list[Problem] = []
    parsed = [_parse(spec, files[spec.name], tz, problems) for spec in FILES if spec.name in files]
    _check_references(parsed, session, problems)
    if problems:
        raise ImportFailed(problems)
    new_rows: dict[tuple[str, str | None], int] = {}
    for p in parsed:
        changed = _upsert(session, p.spec, [row for _, row in p.rows])
        counts = (
            p.spec.sources(session, changed) if p.spec.sources else Counter({None: len(changed)})
        )
        new_rows.update(((p.spec.name, source), n) for source, n in counts.items())
    import_records.record(session, new_rows, now=now, tz=tz)
    return {p.spec.name: len(p.rows) for p in parsed}


def import_dir(engine: Engine, directory: Path, tz: ZoneInfo, *, now: datetime) -> ImportReport:
    """Import whichever import files `directory` holds, in one transaction, as of `now`."""
    if not directory.is_dir():
        raise ImportFailed([Problem(str(directory), 0, "directory", "not a directory")])
    present = {p.name: p for p in directory.iterdir() if p.is_file()}
    files = {name: present[name].read_bytes() for name in FILE_NAMES if name in present}
    ignored = sorted(n for n in present if n.endswith(".csv") and n not in FILE_NAMES)
    if not files:
        expected = ", ".join(FILE_NAMES)
        raise ImportFailed(
            [
                Problem(
                    str(directory), 0, "directory", f"no import files (expected any of {expected})"
                )
            ]
        )
    with transaction(engine) as session:
        rows = import_files(session, files, tz, now=now)
    return ImportReport(rows=rows, ignored=ignored)
