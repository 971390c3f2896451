"""Import benchmark: a million spend rows from CSV against the floor, on SQLite and PostgreSQL.

For each backend, a store is made with `open_store` (SQLite: a file in a temporary directory;
PostgreSQL: a scratch schema, dropped at the end) and given the agency's clients and ad
accounts (10,000 accounts, half Google, half Meta). Then, each into an empty `spend_day`:

- floor: the same rows, already parsed to what the driver takes, written in one transaction
  with the driver's `executemany` (SQLite) or `COPY` (PostgreSQL): the database's own cost;
- first import: `import_dir` of a folder holding only `spend.csv` (reading, parsing,
  validation, references, the bulk upsert, the import records: all of it), in one transaction;
- re-import: the same folder again: every row is already stored, so nothing is written and
  nothing new is recorded.

Each figure is the best of `--repeat` runs (default 1: the machine is shared). SQLite runs
start from a fresh copy of the store file; PostgreSQL runs from truncated tables. See
bench/README.md for the results.

    python bench/import.py [--rows 1000000] [--backends sqlite,postgres] [--repeat 1]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import platform
import pstats
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, func, select, text

from switchboard.store.csv_import import import_dir
from switchboard.store.engine import normalize_url, open_store, reading
from switchboard.store.import_records import ImportRecord
from switchboard.store.source_data import SpendDay

ACCOUNTS = 10_000
TZ = ZoneInfo("America/New_York")
TODAY = date(2026, 4, 11)
NOW = datetime(2026, 4, 11, 13, 0, tzinfo=UTC)
SEED = 20260411
TARGET_RATIO = 3.0
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COLUMNS = "account_id, day, spend, leads"


@dataclass
class Figures:
    backend: str
    rows: int
    floor_s: list[float] = field(default_factory=list)
    first_s: list[float] = field(default_factory=list)
    again_s: list[float] = field(default_factory=list)
    # Of the first import: checking (read, parse, validate, references) and writing.
    first_steps: list[dict[str, float]] = field(default_factory=list)
    again_steps: list[dict[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @staticmethod
    def best(times: list[float]) -> float:
        return min(times)

    def ratio(self, times: list[float]) -> float:
        return self.best(times) / self.best(self.floor_s)


# --- data ------------------------------------------------------------------------------------


def write_data(directory: Path, n_rows: int) -> tuple[Path, Path, list[tuple[Any, ...]]]:
    """(setup folder: clients and accounts, spend folder: spend.csv, the spend rows parsed).

    Rows go day by day, every account each day (as a daily export appends them), over as many
    days up to yesterday as `n_rows` needs.
    """
    rng = random.Random(SEED)
    setup, spend = directory / "setup", directory / "spend"
    setup.mkdir()
    spend.mkdir()
    accounts = [f"acct-{i:05d}" for i in range(ACCOUNTS)]
    with (setup / "clients.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["client_id", "name", "status"])
        out.writerows([f"client-{i:05d}", f"Client {i}", "active"] for i in range(ACCOUNTS // 2))
    with (setup / "ad_accounts.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["account_id", "client_id", "platform", "name", "currency", "timezone"])
        out.writerows(
            [
                a,
                f"client-{i // 2:05d}",
                ("google_ads", "meta_ads")[i % 2],
                f"Account {i}",
                "USD",
                TZ.key,
            ]
            for i, a in enumerate(accounts)
        )
    days = -(-n_rows // ACCOUNTS)
    first = TODAY - timedelta(days=days)
    parsed: list[tuple[Any, ...]] = []
    with (spend / "spend.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["account_id", "date", "spend", "leads"])
        for n in range(days):
            day = first + timedelta(days=n)
            for account in accounts[: min(ACCOUNTS, n_rows - len(parsed))]:
                cents = 0 if rng.random() < 0.03 else rng.randrange(1, 2_000_000)
                leads = None if rng.random() < 0.05 else rng.randrange(0, 60)
                spent = Decimal(cents).scaleb(-2)
                out.writerow([account, day.isoformat(), spent, "" if leads is None else leads])
                parsed.append((account, day, spent, leads))
    return setup, spend, parsed


# --- backends --------------------------------------------------------------------------------


class Backend:
    """A store to measure in, reset to "accounts, no spend" before each measurement."""

    name: str
    engine: Engine

    def fresh(self) -> Engine:
        raise NotImplementedError

    def floor(self, rows: list[tuple[Any, ...]]) -> float:
        """Seconds to write `rows` (parsed) into the empty table, in one transaction."""
        raise NotImplementedError

    def close(self) -> None:
        self.engine.dispose()


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, directory: Path, setup: Path) -> None:
        self.template = directory / "template.db"
        self.path = directory / "store.db"
        self.engine = open_store(f"sqlite:///{self.template}")
        import_dir(self.engine, setup, TZ, now=NOW, today=TODAY)
        self.engine.dispose()  # the last connection checkpoints the WAL into the file

    def fresh(self) -> Engine:
        self.engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copy(self.template, self.path)
        self.engine = open_store(f"sqlite:///{self.path}")
        return self.engine

    def floor(self, rows: list[tuple[Any, ...]]) -> float:
        # What the store holds: ISO text for a day, an integer count of cents for money.
        stored = [(a, d.isoformat(), int(s.scaleb(2)), leads) for a, d, s, leads in rows]
        started = time.perf_counter()
        with self.engine.begin() as connection:  # BEGIN IMMEDIATE ... COMMIT
            connection.connection.cursor().executemany(
                f"INSERT INTO spend_day ({COLUMNS}) VALUES (?, ?, ?, ?)", stored
            )
        return time.perf_counter() - started


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, url: str, setup: Path) -> None:
        url = normalize_url(url)
        self.schema = f"bench_import_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        try:
            options = {"options": f"-csearch_path={self.schema}"}
            self.engine = open_store(url, connect_args=options)
            import_dir(self.engine, setup, TZ, now=NOW, today=TODAY)
        except BaseException:
            self.close()  # the scratch schema goes, whatever failed
            raise

    def fresh(self) -> Engine:
        with self.engine.begin() as connection:
            connection.execute(text("TRUNCATE spend_day, import_record"))
        return self.engine

    def floor(self, rows: list[tuple[Any, ...]]) -> float:
        started = time.perf_counter()
        with self.engine.begin() as connection:
            cursor = connection.connection.cursor()
            with cursor.copy(f"COPY spend_day ({COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return time.perf_counter() - started

    def close(self) -> None:
        if hasattr(self, "engine"):
            self.engine.dispose()
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


# --- measurement -----------------------------------------------------------------------------


def run_import(engine: Engine, spend: Path) -> tuple[float, dict[str, float]]:
    """Seconds for `import_dir`, and the seconds of each of its steps (from its progress)."""
    steps: dict[str, float] = {}
    current: list[Any] = [None, 0.0]

    def progress(step: str, _done: int, _total: int) -> None:
        if step != current[0]:
            now = time.perf_counter()
            if current[0] is not None:
                steps[current[0]] = now - current[1]
            current[:] = [step, now]

    started = time.perf_counter()
    import_dir(engine, spend, TZ, now=NOW, today=TODAY, progress=progress)
    ended = time.perf_counter()
    steps[current[0]] = ended - current[1]
    return ended - started, steps


def stored(engine: Engine) -> tuple[int, Decimal, dict[str | None, int]]:
    with reading(engine) as session:
        count = session.scalar(select(func.count()).select_from(SpendDay)) or 0
        total = session.scalar(select(func.sum(SpendDay.spend))) or Decimal(0)
        records = dict(
            session.execute(
                select(ImportRecord.source, func.sum(ImportRecord.new_rows))
                .where(ImportRecord.file == "spend.csv")
                .group_by(ImportRecord.source)
            ).all()
        )
    return count, Decimal(total), records


def measure(
    backend: Backend, spend: Path, rows: list[tuple[Any, ...]], repeat: int, profile: bool
) -> Figures:
    figures = Figures(backend.name, len(rows))
    expected_total = sum((s for _, _, s, _ in rows), Decimal(0))
    for _ in range(repeat):
        engine = backend.fresh()
        figures.floor_s.append(backend.floor(rows))
        count, total, _ = stored(engine)
        if (count, total) != (len(rows), expected_total):
            figures.errors.append(f"floor stored {count} rows, {total}")
        engine = backend.fresh()
        seconds, steps = run_import(engine, spend)
        figures.first_s.append(seconds)
        figures.first_steps.append(steps)
        count, total, records = stored(engine)
        if (count, total) != (len(rows), expected_total):
            figures.errors.append(f"first import stored {count} rows, {total}")
        if sum(records.values()) != len(rows) or set(records) != {"google_ads", "meta_ads"}:
            figures.errors.append(f"first import recorded {records}")
        if profile:
            print_profile(engine, spend, backend.name)
        seconds, steps = run_import(engine, spend)
        figures.again_s.append(seconds)
        figures.again_steps.append(steps)
        if stored(engine) != (count, total, records):
            figures.errors.append("the re-import changed the store or recorded new rows")
    return figures


def print_profile(engine: Engine, spend: Path, name: str, top: int = 25) -> None:
    """A cProfile of one re-import (the first import's rows are stored by then)."""
    profiler = cProfile.Profile()
    profiler.runcall(run_import, engine, spend)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    print(f"\ncProfile of one re-import on {name}:\n{out.getvalue()}", file=sys.stderr)


# --- report ----------------------------------------------------------------------------------


def steps_text(steps: list[dict[str, float]], best: float, times: list[float]) -> str:
    chosen = steps[times.index(best)]
    return " / ".join(f"{seconds:.1f}" for seconds in chosen.values())


def table(results: list[Figures]) -> str:
    lines = [
        "| backend | spend rows | floor (s) | first import (s) | first / floor "
        "| check / write (s) | re-import (s) | re-import / floor | check / write (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        first, again = r.best(r.first_s), r.best(r.again_s)
        lines.append(
            f"| {r.backend} | {r.rows:,} | {r.best(r.floor_s):.1f} | {first:.1f} "
            f"| {r.ratio(r.first_s):.1f}x | {steps_text(r.first_steps, first, r.first_s)} "
            f"| {again:.1f} | {r.ratio(r.again_s):.1f}x "
            f"| {steps_text(r.again_steps, again, r.again_s)} |"
        )
    return "\n".join(lines)


def verdicts(results: list[Figures]) -> list[tuple[str, bool]]:
    checks = []
    for r in results:
        for what, times in (("first import", r.first_s), ("re-import", r.again_s)):
            checks.append(
                (
                    f"{r.backend}: {what} within {TARGET_RATIO:.0f}x of the floor: "
                    f"{r.best(times):.1f} s / {r.best(r.floor_s):.1f} s = {r.ratio(times):.1f}x",
                    r.ratio(times) <= TARGET_RATIO,
                )
            )
        checks.append(
            (
                f"{r.backend}: rows, spend total and import records as expected"
                + (f" ({'; '.join(r.errors)})" if r.errors else ""),
                not r.errors,
            )
        )
    return checks


def machine(backends: list[Backend]) -> str:
    parts = [
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]
    for backend in backends:
        if isinstance(backend, PostgresBackend):
            with backend.engine.connect() as connection:
                version = connection.execute(text("SHOW server_version")).scalar()
            parts.append(f"PostgreSQL {version}")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="spend rows (default 1000000)")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs; the best is kept")
    parser.add_argument("--profile", action="store_true", help="cProfile a re-import, to stderr")
    args = parser.parse_args(argv)
    wanted = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.rows < 1 or args.repeat < 1 or not set(wanted) <= {"sqlite", "postgres"}:
        parser.error("--rows and --repeat must be at least 1; backends: sqlite, postgres")

    directory = Path(tempfile.mkdtemp(prefix="switchboard-bench-import-"))
    backends: list[Backend] = []
    results = []
    try:
        setup, spend, rows = write_data(directory, args.rows)
        size = (spend / "spend.csv").stat().st_size
        print(
            f"spend.csv: {len(rows):,} rows, {size / 1e6:.1f} MB, {ACCOUNTS:,} accounts", flush=True
        )
        for name in wanted:
            backend = (
                SQLiteBackend(directory, setup)
                if name == "sqlite"
                else PostgresBackend(args.postgres_url, setup)
            )
            backends.append(backend)
            results.append(measure(backend, spend, rows, args.repeat, args.profile))
            print(f"{name}: done", flush=True)
        print(f"\n{machine(backends)}; best of {args.repeat}\n")
    finally:
        for backend in backends:
            backend.close()
        shutil.rmtree(directory, ignore_errors=True)
    print(table(results))
    print()
    checks = verdicts(results)
    for line, ok in checks:
        print(f"- {'met' if ok else 'MISSED'}: {line}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
