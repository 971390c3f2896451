"""One import file read and checked, column by column, every problem located.

A file of a million spend rows holds a few thousand account ids and a few hundred days. So
each column's distinct values are validated once, in one pydantic call per column, against the
column's type in the row model (store/csv_rows.py); then the model's rules across columns run.
The rows and problems are those of validating each row with the model, in the same order
(tests/test_import_fuzz.py holds the two side by side).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import compress
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from switchboard.store.csv_rows import CsvRow

# Columns that may hold an empty value even though they are required.
MAY_BE_EMPTY = {"subject", "body"}

# How far an import is: what it is doing ("checking spend.csv"), rows done, rows in all (0
# while that is not known yet).
Progress = Callable[[str, int, int], None]


def quiet(_step: str, _done: int, _total: int) -> None:
    """Progress told to nobody."""


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


@dataclass
class FileRows:
    """A file's valid rows, column by column: `columns[name][i]` is row i's value."""

    lines: list[int] = field(default_factory=list)  # the line each row starts on
    columns: dict[str, list[Any]] = field(default_factory=dict)  # every column of the model
    # The key column of every row, valid or not: a row that names a client from a broken
    # clients.csv row is not reported a second time as "unknown client".
    keys_seen: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.lines)

    def keep(self, wanted: list[bool]) -> None:
        """Keep only the rows marked True."""
        self.lines = list(compress(self.lines, wanted))
        self.columns = {
            name: list(compress(values, wanted)) for name, values in self.columns.items()
        }


def _records(
    file: str, data: bytes, model: type[CsvRow], problems: list[Problem]
) -> tuple[list[str], list[int], list[list[str]]]:
    """(header, line of each row, cells of each row) of the rows as wide as the header."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # utf-8-sig counts positions after the byte order mark it removed.
        at = error.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        line = data[:at].count(b"\n") + 1
        problems.append(Problem(file, line, "encoding", f"not UTF-8 (byte 0x{data[at]:02x})"))
        return [], [], []
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = list(model.model_fields)
    required = [name for name, f in model.model_fields.items() if f.is_required()]
    header: list[str] = []
    lines: list[int] = []
    rows: list[list[str]] = []
    try:
        first = next(reader, None)
        if first is None or not any(cell.strip() for cell in first):
            problems.append(Problem(file, 1, "header", "missing header row"))
            return [], [], []
        header = [cell.strip() for cell in first]
        header_ok = True
        for i, name in enumerate(header):
            if name not in columns:
                problems.append(
                    Problem(
                        file,
                        1,
                        name or "(blank)",
                        f"unknown column (expected: {', '.join(columns)})",
                    )
                )
                header_ok = False
            elif name in header[:i]:  # reported once, at its second appearance
                problems.append(Problem(file, 1, name, "column appears twice"))
                header_ok = False
        for name in required:
            if name not in header:
                problems.append(Problem(file, 1, name, "required column is missing"))
                header_ok = False
        if not header_ok:
            return [], [], []
        width = len(header)
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if len(cells) == width:  # blank rows of the right width go in _blank_rows
                lines.append(start)
                rows.append(cells)
            elif any(cell.strip() for cell in cells):
                problems.append(
                    Problem(file, start, "row", f"has {len(cells)} fields, header has {width}")
                )
    except csv.Error as error:
        problems.append(Problem(file, reader.line_num or 1, "row", f"unreadable CSV ({error})"))
    return header, lines, rows


@cache
def _adapter(model: type[CsvRow], column: str) -> TypeAdapter[list[Any]]:
    """Validates a list of one column's values exactly as the model validates that field."""
    info = model.model_fields[column]
    return TypeAdapter(list[Annotated[info.annotation, info]], config=model.model_config)


def _message(error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "enum":
        message = f"must be one of {error['ctx']['expected']} (got {error['input']!r})"
    elif error["type"] in ("string_pattern_mismatch", "int_parsing", "int_from_float"):
        message = f"{error['input']!r}: {message[0].lower()}{message[1:]}"
    return message


def _validate(
    adapter: TypeAdapter[list[Any]], cells: list[str], context: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[ErrorDetails]]]:
    """({cell: value} of the valid cells, {cell: its errors} of the others)."""
    try:
        return dict(zip(cells, adapter.validate_python(cells, context=context), strict=True)), {}
    except ValidationError as error:
        errors: dict[str, list[ErrorDetails]] = {}
        for detail in error.errors():
            errors.setdefault(cells[detail["loc"][0]], []).append(detail)  # type: ignore[index]
    valid = [cell for cell in cells if cell not in errors]
    return dict(zip(valid, adapter.validate_python(valid, context=context), strict=True)), errors


def _blank_rows(cells: list[list[str]]) -> set[int]:
    """The rows whose every cell is empty (skipped, as blank lines are)."""
    if not all("" in column for column in cells):
        return set()
    return {i for i, row in enumerate(zip(*cells, strict=True)) if not any(row)}


@dataclass
class _Columns:
    """One file's cells, column by column, on their way to values."""

    file: str
    lines: list[int]
    cells: dict[str, list[str]]  # stripped, in the header's order
    distinct: dict[str, dict[str, None]] = field(init=False)
    blank: set[int] = field(init=False)
    nul: dict[str, set[str]] = field(init=False)  # the column's cells holding a NUL
    # Per column, the rows without a valid value there (not given when required, or wrong).
    bad: dict[str, set[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.distinct = {name: dict.fromkeys(cells) for name, cells in self.cells.items()}
        self.blank = _blank_rows(list(self.cells.values()))
        self.nul = {name: {c for c in d if "\x00" in c} for name, d in self.distinct.items()}
        self.bad = {name: set() for name in self.cells}

    def problem(self, i: int, column: str, message: str) -> Problem:
        self.bad[column].add(i)
        return Problem(self.file, self.lines[i], column, message)


def _unreadable(columns: _Columns, model: type[CsvRow]) -> list[Problem]:
    """The cells no validation is asked about: with a NUL, or empty where a value is
    required. Row by row in the header's order, as a person reads the file."""
    found = []
    for name, cells in columns.cells.items():
        nul = columns.nul[name]
        empty_required = (
            "" in columns.distinct[name]
            and name not in MAY_BE_EMPTY
            and model.model_fields[name].is_required()
        )
        for i, cell in enumerate(cells) if empty_required or nul else ():
            if i in columns.blank:
                continue
            if cell in nul:  # PostgreSQL cannot store it; no real value holds one
                found.append(columns.problem(i, name, "contains a NUL character"))
            elif not cell and empty_required:
                found.append(columns.problem(i, name, "required, but empty"))
    return found


def _values(
    columns: _Columns, model: type[CsvRow], name: str, context: Mapping[str, Any]
) -> tuple[list[Any], list[Problem]]:
    """(the column's value in each row, its invalid values' problems)."""
    info = model.model_fields[name]
    # An empty optional cell is the field's default. A cell not validated, or invalid, is in
    # a row that fails: its value is never read.
    value_of: dict[str, Any] = dict.fromkeys(columns.nul[name])
    if "" in columns.distinct[name] and name not in MAY_BE_EMPTY:
        value_of[""] = None if info.is_required() else info.default
    unknown = [cell for cell in columns.distinct[name] if cell not in value_of]
    valid, errors = _validate(_adapter(model, name), unknown, context)
    value_of.update(valid)
    value_of.update(dict.fromkeys(errors))
    cells = columns.cells[name]
    found = [
        columns.problem(i, name, _message(detail))
        for i, cell in (enumerate(cells) if errors else ())
        for detail in errors.get(cell, ())
    ]
    return list(map(value_of.__getitem__, cells)), found


def _row_checks(
    columns: _Columns, model: type[CsvRow], values: dict[str, list[Any]]
) -> list[Problem]:
    """The model's rules across columns, each where its column's value is valid."""
    found = []
    for name, check in model.row_checks.items():
        for i in range(len(columns.lines)) if name in columns.cells else ():
            if i in columns.blank or i in columns.bad[name]:
                continue
            row = {n: v[i] for n, v in values.items() if i not in columns.bad.get(n, ())}
            message = check(row)
            if message is not None:
                found.append(columns.problem(i, name, message))
    return found


def read_rows(
    file: str,
    data: bytes,
    model: type[CsvRow],
    *,
    key_column: str,
    context: Mapping[str, Any],
    problems: list[Problem],
    progress: Progress = quiet,
) -> FileRows:
    """The valid rows of `file`, adding a Problem for each wrong header, row or value, in
    the order of the file's lines."""
    found: list[Problem] = []
    step = f"checking {file}"
    progress(step, 0, 0)
    header, lines, records = _records(file, data, model, found)
    total = len(records)
    progress(step, 0, total)
    by_column = zip(*records, strict=True) if records else [()] * len(header)
    columns = _Columns(
        file,
        lines,
        {name: [c.strip() for c in cells] for name, cells in zip(header, by_column, strict=True)},
    )
    found += _unreadable(columns, model)
    values: dict[str, list[Any]] = {}
    for done, (name, info) in enumerate(model.model_fields.items(), start=1):
        if name in columns.cells:
            values[name], invalid = _values(columns, model, name, context)
            found += invalid
        else:
            values[name] = [info.default] * total
        progress(step, total * done // len(model.model_fields), total)
    found += _row_checks(columns, model, values)
    rows = FileRows(lines=lines, columns=values)
    rows.keys_seen = set(columns.distinct.get(key_column, ())) - {""}
    rows.keys_seen -= columns.nul.get(key_column, set())
    failed = set().union(*columns.bad.values()) | columns.blank
    if failed:
        rows.keep([i not in failed for i in range(total)])
    found.sort(key=lambda problem: problem.line)  # stable: a row's problems keep their order
    problems.extend(found)
    return rows
