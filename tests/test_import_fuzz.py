"""Hypothesis against the CSV import: only ImportFailed ever escapes, and it writes nothing;
the file checked column by column gives the rows and problems of checking it row by row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError, ValidationInfo, create_model, field_validator
from sqlalchemy import Engine, select
from sqlmodel import Session

from switchboard.store import csv_read
from switchboard.store.csv_import import FILE_NAMES, FILES, FileSpec, ImportFailed, import_files
from switchboard.store.csv_read import MAY_BE_EMPTY, Problem, read_rows
from switchboard.store.csv_rows import RowCheck
from switchboard.store.engine import transaction
from switchboard.store.schema import metadata
from tests.conftest import sqlite_store
from tests.test_import import ACCOUNTS, CLIENTS, NEW_YORK, NOW, TODAY, run

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Plausible and borderline values per column; any column may also get arbitrary text.
SAMPLES: dict[str, list[str]] = {
    "client_id": ["C1", "C2", "C9", "c 1", "C" * 65],
    "account_id": ["A1", "A2", "A9", "A/1", ""],
    "name": ["Acme", "", " ", "N" * 201],
    "status": ["active", "churned", "open", "done", "on_hold", "ACTIVE", "paused"],
    "platform": ["google_ads", "meta_ads", "tiktok"],
    "currency": ["USD", "usd", "EURO"],
    "timezone": ["UTC", "America/New_York", "Mars/Base", "zone.tab", "/etc/passwd", "America"],
    "month": ["2026-03", "2026-13", "0000-01", "2026-3", "9999-12"],
    "amount": ["0", "3100.00", "-1", "1.005", "999999999999.99", "1000000000000", "1e3", "-0"],
    "spend": ["0", "0.00", "12.5", "-0.01", "1,000", " 7 ", "NaN", "Infinity", "00012.10"],
    "leads": ["0", "3", "-1", "10000001", "1.5", "1_000", "99999999999999999999"],
    "date": ["2026-03-01", "2026-02-30", "0001-01-01", "9999-12-31", "2026-3-1", "20260301"],
    "effective_from": ["2026-03-01", "2026-03-16", "2026-04-01", ""],
    "starts": ["2026-03-01", "2026-03-10", ""],
    "ends": ["2026-03-09", "2026-03-31", ""],
    "offboarding_date": ["2026-04-01", "", "tomorrow"],
    "due_date": ["2026-03-25", "2026-02-29", "2028-02-29"],
    "owner_slack_id": ["U0AM", "u0am", "W123", "U" + "A" * 40],
    "email": ["ops@acme.example", "nope", "a" * 400 + "@x.example", ""],
    "from_email": ["ops@acme.example", "a@b", "<a@b.example>"],
    "received_at": [
        "2026-03-15T16:05:00",
        "2026-03-15T16:05:00Z",
        "2026-03-15 16:05",
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "2026-03-08T02:30:00",  # does not exist in New York (spring forward)
    ],
    "message_id": ["<m1@acme.example>", "m2", "M" * 201],
    "project_id": ["P1", "P2", "P 3"],
    "source": ["accelo", "asana", ""],
    "reason": ["paused", "holiday", "R" * 201],
    "subject": ["Report", "", "S" * 501],
    "body": ["Hi,\nthere", "", '"quoted", with commas'],
}
# Any text, with the characters that trouble CSV and databases drawn more often.
ODD_TEXT = st.text(
    st.one_of(st.sampled_from(',"\n\r\x00 \ufeff'), st.characters(codec="utf-8")), max_size=24
)


CELLS = {column: st.one_of(st.sampled_from(values), ODD_TEXT) for column, values in SAMPLES.items()}


def cell(column: str) -> st.SearchStrategy[str]:
    return CELLS.get(column, ODD_TEXT)


@st.composite
def csv_file(draw: st.DrawFn, columns: list[str]) -> bytes:
    """A header that is some permutation of the file's columns (maybe with a stranger or a
    repeat), then rows of plausible or random cells, sometimes of the wrong length."""
    header = draw(st.permutations(columns))[: draw(st.integers(1, len(columns)))]
    if draw(st.booleans()):
        extra = draw(st.one_of(st.sampled_from(columns), st.sampled_from(["colour", ""]), ODD_TEXT))
        header.insert(draw(st.integers(0, len(header))), extra)
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        row = [draw(cell(column)) for column in header]
        if draw(st.integers(0, 9)) == 0:
            row = row[:-1] if draw(st.booleans()) else [*row, "surplus"]
        rows.append(row)
    buffer = io.StringIO()
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    writer = csv.writer(buffer, lineterminator=terminator)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    return (b"\xef\xbb\xbf" + data) if draw(st.booleans()) else data


def import_file_sets() -> st.SearchStrategy[dict[str, bytes]]:
    return st.fixed_dictionaries(
        {},
        optional={spec.name: csv_file(spec.columns) for spec in FILES},
    ).filter(bool)


def rows_of(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
        for table in metadata.sorted_tables
    }


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """One SQLite store for all of a test's examples: each example rolls back what it wrote."""
    _, engine = sqlite_store(sqlite_template, tmp_path)
    try:
        run(engine, {"clients.csv": CLIENTS, "ad_accounts.csv": ACCOUNTS})
        yield engine
    finally:
        engine.dispose()


def check_import(engine: Engine, files: dict[str, bytes]) -> None:
    with transaction(engine) as session:
        before = rows_of(session)
        try:
            counts = import_files(session, files, NEW_YORK, now=NOW, today=TODAY)
        except ImportFailed as failure:
            assert failure.problems
            for problem in failure.problems:
                assert problem.file in files
                assert problem.line >= 1
                assert problem.column and problem.message
                shown = str(problem)
                assert shown.startswith(f"{problem.file}:{problem.line}: ")
                assert "\n" not in shown and "\r" not in shown, "one problem, one line"
            # Nothing reached the caller's transaction, let alone the database.
            assert rows_of(session) == before
        else:
            assert set(counts) == set(files)
        finally:
            session.rollback()  # every example starts from the same store
        assert rows_of(session) == before


@FUZZ
@given(files=import_file_sets())
def test_random_rows_raise_nothing_but_import_failed(
    store: Engine, files: dict[str, bytes]
) -> None:
    check_import(store, files)


@pytest.mark.parametrize("name", FILE_NAMES)
@settings(FUZZ, max_examples=25)
@given(data=st.binary(max_size=200))
def test_random_bytes_raise_nothing_but_import_failed(
    store: Engine, name: str, data: bytes
) -> None:
    check_import(store, {name: data})


@pytest.mark.parametrize("name", FILE_NAMES)
@settings(FUZZ, max_examples=25)
@given(body=st.binary(max_size=200))
def test_random_bytes_after_a_valid_header(store: Engine, name: str, body: bytes) -> None:
    columns = next(spec.columns for spec in FILES if spec.name == name)
    check_import(store, {name: ",".join(columns).encode() + b"\n" + body})


@FUZZ
@given(text=st.text(st.characters(codec="utf-8"), max_size=200))
def test_random_text_as_inbox(store: Engine, text: str) -> None:
    header = "message_id,client_id,from_email,subject,body,received_at\n"
    check_import(store, {"inbox.csv": (header + text).encode()})


# --- column by column, as row by row ------------------------------------------------------------

CONTEXT = {"tz": NEW_YORK, "today": TODAY}


def _as_validator(column: str, check: RowCheck) -> Any:
    def validate(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
        message = check({**info.data, column: value})
        if message is not None:
            raise ValueError(message)
        return value

    return field_validator(column)(validate)


def row_model(spec: FileSpec) -> type[BaseModel]:
    """The file's row model with its row checks as pydantic runs a field's validator: on the
    column's valid value, given the valid columns before it."""
    validators = {f"check_{c}": _as_validator(c, check) for c, check in spec.row.row_checks.items()}
    return create_model(spec.row.__name__, __base__=spec.row, __validators__=validators)


def row_by_row(spec: FileSpec, data: bytes) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """(problems, (line, values) of each valid row): each row validated with its model."""
    model = row_model(spec)
    problems: list[Problem] = []
    header, lines, records = csv_read._records(spec.name, data, spec.row, problems)
    rows = []
    for line, cells in zip(lines, records, strict=True):
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        values: dict[str, str] = {}
        found: list[Problem] = []
        for column, cell in zip(header, cells, strict=True):
            cell = cell.strip()
            if "\x00" in cell:
                found.append(Problem(spec.name, line, column, "contains a NUL character"))
            elif cell or column in MAY_BE_EMPTY:
                values[column] = cell
            elif column in spec.required:
                found.append(Problem(spec.name, line, column, "required, but empty"))
        try:
            row = model.model_validate(values, context=CONTEXT)
        except ValidationError as error:
            found += [
                Problem(spec.name, line, str(e["loc"][0]), csv_read._message(e))
                for e in error.errors()
                if str(e["loc"][0]) in values  # an empty or NUL cell is reported above
            ]
        if not found:
            rows.append((line, row.model_dump()))
        problems += found
    problems.sort(key=lambda problem: problem.line)
    return [str(p) for p in problems], rows


@pytest.mark.parametrize("spec", FILES, ids=lambda s: s.name)
@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_checking_by_column_finds_what_checking_by_row_finds(
    spec: FileSpec, data: st.DataObject
) -> None:
    """Each distinct value validated once, for the whole column: the same rows, the same
    problems in the same order, as each row through its model."""
    file = data.draw(csv_file(spec.columns))
    expected_problems, expected_rows = row_by_row(spec, file)
    problems: list[Problem] = []
    read = read_rows(
        spec.name, file, spec.row, key_column=spec.key[0], context=CONTEXT, problems=problems
    )
    rows = [
        (line, {name: values[i] for name, values in read.columns.items()})
        for i, line in enumerate(read.lines)
    ]
    assert [str(p) for p in problems] == expected_problems
    assert rows == expected_rows
