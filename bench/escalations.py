"""Escalations benchmark: one tick's escalation part with 10,000 open escalations, 100 due.

Issue 11: one tick's escalation part (the outbox drain excluded), with 10,000 open
escalations of which 100 are due, on SQLite and on PostgreSQL, under 500 ms; beside it the
floor, one indexed SELECT of the due rows, and the ratio.

A new SQLite store (`open_store`, schema migrated, in a temporary directory) is filled by
replaying about a day and a half of the example agency's life through the code that runs it,
so the rows are the ones production writes (the replay commits without waiting for the disk;
the timed runs use the store as `open_store` opens it):

- domain owners and agent levels seeded from the example manifest (`bot.runtime.seed`);
- clients and ad accounts (bulk inserts: in production they come from imports);
- one alert per escalation (`store.alerts.open_new`), opened from Tuesday 2026-03-31 09:00 to
  Wednesday 2026-04-01 15:00 New York time, within business hours, 80% assigned to the domain
  owner (U0AM) and 20% reassigned to U0LEAD; each opens its escalation under the pacing
  agent's `spend` policy (`handlers.escalation_posts.open_escalation`, the production path:
  owner by DM at once, the lead by DM after 2 h, #alerts the next business day);
- every step those escalations came due for, run at the moment it came due by
  `EscalationDriver.run_due` (the clock jumps with `store.escalations.next_due`, as
  `switchboard tick --now` does), and delivered at once: the outbox row is marked sent and
  `EscalationDriver.record_delivery` records it, as the outbox's drain does; except for 1% of
  the escalations opened before 12:00 on Wednesday, whose first DM is never delivered (Slack
  refused nothing, the outbox was paused, say); the auditor (`EscalationDriver.audit`) has
  reported those at the previous tick.

For PostgreSQL, a scratch schema on the server (migrated by `open_store`, dropped afterwards)
gets a copy of every row, table by table, then ANALYZE; both stores are checked to hold the
same rows. `--keep` keeps the SQLite file and `--reuse FILE` starts from one (no replay).

The replay stops at the previous tick, 30 s before NOW (Wednesday 2026-04-01 15:00 New York
time): by then every escalation is at level 1, 2 or 3 with its next step in the future, or
stuck. Due at NOW, by construction: 60 new escalations (opened in the last 30 s, their owner's
DM) and 40 whose lead is due (their owner's DM was delivered 2 h ago).

Measured, with the clock at NOW, each run on the same rows (what a run changed is undone
before the next one, and checked):

- tick: the escalation parts of `bot.tick.Tick` (`run_due`, then the auditor, in passes until
  one finds nothing to do; the tick's other parts and the outbox drain are left out), as
  `switchboard tick` and the worker's 30-second tick run them;
- floor: `SELECT <every column> FROM escalation WHERE status = 'open' AND next_step_at <= NOW
  ORDER BY next_step_at, id`, fetched fully, in `reading(engine)` (served by the index
  `ix_escalation_status_next_step_at`; the plan is printed).

One warm-up, then `--repeat` timed runs of each; best and median are shown and the target is
judged on the median. The replay and the copy are timed on their own ("load"). See
bench/README.md for the results.

    python bench/escalations.py [--backends sqlite,postgres] [--postgres URL]
                                [--open 10000] [--due 100] [--repeat 5] [--profile]
                                [--keep] [--reuse FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

from ack import cpu_model, source_rows  # bench/ack.py, next to this file
from sqlalchemy import (
    Engine,
    Integer,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.sql import Select

from switchboard.agents.escalation_policy import BusinessCalendar
from switchboard.bot.escalations import EscalationDriver
from switchboard.bot.runtime import seed
from switchboard.bot.tick import Tick, TickPart, TickReport
from switchboard.handlers.alert_posts import escalation_context, label
from switchboard.handlers.escalation_posts import open_escalation
from switchboard.store import alerts, escalations
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.audit import AuditEvent
from switchboard.store.engine import create, normalize_url, open_store, reading, transaction
from switchboard.store.escalations import (
    Escalation,
    EscalationStatus,
    EscalationStep,
    StepState,
    parse_step_key,
)
from switchboard.store.manifest import AgencyManifest, load_manifest
from switchboard.store.outbox import OutboxMessage, OutboxState
from switchboard.store.schema import metadata
from switchboard.store.source_data import AdAccount, Client

NOW = datetime(2026, 4, 1, 19, 0, tzinfo=UTC)  # Wednesday 15:00 in New York (EDT)
TICK = timedelta(seconds=30)  # the worker's tick (bot/worker.py TICK_EVERY)
PREVIOUS_TICK = NOW - TICK
SINCE = datetime(2026, 3, 31, 13, 0, tzinfo=UTC)  # Tuesday 09:00 in New York
LEAD_AFTER = timedelta(hours=2)  # the `spend` policy's second level
STUCK_BEFORE = datetime(2026, 4, 1, 16, 0, tzinfo=UTC)  # Wednesday 12:00 in New York
STUCK_SHARE = 0.01
REASSIGNED_SHARE = 0.2
SEED = 20260401
DEFAULT_OPEN = 10_000
DEFAULT_DUE = 100
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

TARGET_SECONDS = 0.5
ESCALATION_PARTS = ("escalations", "auditor")  # Tick's names for them
DUE_COLUMNS = (
    "status",
    "level",
    "next_step_at",
    "late_reported_level",
    "attempts",
    "claim_token",
    "claim_expires_at",
    "last_error",
    "closed_at",
)


@dataclass(frozen=True)
class Planned:
    created: datetime
    assignee: str
    stuck: bool = False


@dataclass(frozen=True)
class Census:
    """What a store holds after the replay (the same on both backends)."""

    open: int
    due: int
    steps: dict[str, int]  # by state
    levels: dict[int, int]  # open escalations by level reached
    outbox_rows: int
    audit_rows: int


@dataclass(frozen=True)
class Generated:
    seconds: float
    stuck: int
    replay_ticks: int


@dataclass
class Timings:
    tick: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    # Per timed tick: each part's calls in order (run_due, audit, run_due, audit, ...).
    parts: list[list[tuple[str, float]]] = field(default_factory=list)


@dataclass
class Result:
    backend: str
    census: Census
    load_seconds: float  # SQLite: the replay; PostgreSQL: copying its rows
    timings: Timings
    report: TickReport
    plans: dict[str, str]
    checks: list[tuple[str, bool]]
    machine: str  # with the load average while it was measured


# --- the agency's history ------------------------------------------------------------------------


def business_minutes(calendar: BusinessCalendar, start: datetime, end: datetime) -> list[datetime]:
    minutes, moment = [], start
    while moment < end:
        if calendar.is_open(moment):
            minutes.append(moment)
        moment += timedelta(minutes=1)
    return minutes


def plan(rng: random.Random, manifest: AgencyManifest, n_open: int, n_due: int) -> list[Planned]:
    """When each escalation opens, and whose alert it is; sorted by opening time.

    The ones not due at NOW open on the minute, within business hours, but never 2 h before
    the previous tick (their lead would be due now). The due ones open in the last 30 s (the
    owner's DM is due) or 2 h before that (the lead's is due)."""
    calendar = BusinessCalendar.of(manifest)
    owner = manifest.domains["ad_performance"].owner
    other = "U0LEAD"  # reassigned alerts: Leo, whose lead is Maya

    def assignee() -> str:
        return other if rng.random() < REASSIGNED_SHARE else owner

    quiet_end = NOW - LEAD_AFTER
    minutes = [
        m
        for m in business_minutes(calendar, SINCE, PREVIOUS_TICK)
        if not PREVIOUS_TICK - LEAD_AFTER <= m <= quiet_end
    ]
    planned = []
    for _ in range(n_open - n_due):
        created = rng.choice(minutes)
        stuck = created < STUCK_BEFORE and rng.random() < STUCK_SHARE
        planned.append(Planned(created, assignee(), stuck))
    new = n_due * 6 // 10
    for i in range(n_due):
        seconds = 1 + rng.random() * (TICK.total_seconds() - 2)  # strictly after the last tick
        due = NOW - timedelta(seconds=seconds)
        planned.append(Planned(due if i < new else due - LEAD_AFTER, assignee()))
    planned.sort(key=lambda p: p.created)
    return planned


def open_alerts(
    engine: Engine,
    manifest: AgencyManifest,
    group: list[tuple[int, Planned]],
    at: datetime,
    rng: random.Random,
) -> dict[int, int]:
    """Open each planned alert and its escalation at `at`; returns plan index -> escalation id."""
    opened = {}
    with transaction(engine) as session:
        for index, p in group:
            deviation = Decimal(rng.randint(310, 1500)) / 10
            alert = alerts.open_new(
                session,
                Alert(
                    domain="ad_performance",
                    account_id=f"A{index:05d}",
                    client_id=f"C{index // 2:05d}",
                    month="2026-03" if at < datetime(2026, 4, 1, 4, tzinfo=UTC) else "2026-04",
                    direction=AlertDirection.OVER,
                    state=AlertState.OPEN,
                    deviation_pct=deviation,
                    notified_deviation_pct=deviation,
                    notifications=1,
                    assignee=p.assignee,
                    first_seen_on=at.date(),
                    last_seen_on=at.date(),
                    opened_at=at,
                    updated_at=at,
                ),
                actor="agent:pacing",
                now=at,
            )
            escalation = open_escalation(
                session,
                subject=f"alert:{alert.id}",
                domain="ad_performance",
                agent="pacing",
                context=escalation_context(alert, label(session, alert)),
                manifest=manifest,
                now=at,
            )
            assert escalation is not None and escalation.id is not None
            opened[index] = escalation.id
    return opened


def deliver(
    engine: Engine, driver: EscalationDriver, after_id: int, stuck: set[int], at: datetime
) -> int:
    """Mark the step messages queued since outbox row `after_id` sent at `at`, as the outbox
    drain does (and records each on its step), except the stuck escalations'. Returns the
    highest outbox id seen."""
    with transaction(engine) as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id > after_id)  # type: ignore[operator]
            .order_by(OutboxMessage.id)  # type: ignore[arg-type]
        ).all()
        for row in rows:
            parsed = parse_step_key(row.key)
            if parsed is None or parsed[0] in stuck or row.state is not OutboxState.PENDING:
                continue
            row.state, row.sent_at, row.attempts = OutboxState.SENT, at, 1
            row.ts = f"{at.timestamp():.6f}"
            row.posted_channel = row.channel if row.channel.startswith("C") else f"D{row.channel}"  # type: ignore[union-attr]
            driver.record_delivery(session, row, None, at)
        return max((row.id for row in rows), default=after_id)  # type: ignore[type-var]


def generate(engine: Engine, manifest: AgencyManifest, n_open: int, n_due: int) -> Generated:
    """Replay the agency's escalations from Tuesday 09:00 to the previous tick."""
    started = time.perf_counter()
    rng = random.Random(SEED)
    planned = plan(rng, manifest, n_open, n_due)
    seed(engine, manifest, now=SINCE - timedelta(days=30))
    clients, accounts = source_rows(n_open)
    with transaction(engine) as session:
        session.execute(insert(Client.__table__), clients)  # type: ignore[attr-defined]
        session.execute(insert(AdAccount.__table__), accounts)  # type: ignore[attr-defined]

    clock = [SINCE]
    driver = EscalationDriver(engine, manifest, lambda: clock[0])
    by_time: dict[datetime, list[tuple[int, Planned]]] = {}
    for index, p in enumerate(planned):
        by_time.setdefault(p.created, []).append((index, p))
    openings = sorted(by_time)
    stuck: set[int] = set()
    last_outbox, ticks, next_opening = 0, 0, 0
    while True:
        upcoming = openings[next_opening] if next_opening < len(openings) else None
        with reading(engine) as session:
            due = escalations.next_due(session, after=clock[0], until=PREVIOUS_TICK)
        moments = [m for m in (upcoming, due) if m is not None and m <= PREVIOUS_TICK]
        if not moments:
            break
        clock[0] = min(moments)
        if upcoming == clock[0]:
            opened = open_alerts(engine, manifest, by_time[upcoming], clock[0], rng)
            stuck.update(opened[i] for i, p in by_time[upcoming] if p.stuck)
            next_opening += 1
        while driver.run_due():  # in batches of 500, as the tick's passes take them
            last_outbox = deliver(engine, driver, last_outbox, stuck, clock[0])
        ticks += 1
    clock[0] = PREVIOUS_TICK
    reported = driver.audit()  # the previous tick's auditor
    for moment in openings[next_opening:]:  # opened since the previous tick
        open_alerts(engine, manifest, by_time[moment], moment, rng)
    assert reported == len(stuck), (reported, len(stuck))

    return Generated(time.perf_counter() - started, len(stuck), ticks)


def census(engine: Engine) -> Census:
    with reading(engine) as session:
        open_ = session.scalar(
            select(func.count()).where(Escalation.status == EscalationStatus.OPEN)
        )
        steps = {
            str(state.value): n
            for state, n in session.execute(
                select(EscalationStep.state, func.count()).group_by(EscalationStep.state)
            )
        }
        levels = dict(
            session.execute(
                select(Escalation.level, func.count())
                .where(Escalation.status == EscalationStatus.OPEN)
                .group_by(Escalation.level)
                .order_by(Escalation.level)
            ).all()
        )
        return Census(
            open=open_ or 0,
            due=len(session.execute(due_rows()).all()),
            steps=dict(sorted(steps.items())),
            levels=levels,
            outbox_rows=session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
            audit_rows=session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def copy_rows(source: Engine, target: Engine) -> float:
    """Every table's rows from the replayed store into an empty migrated one, table by table
    in dependency order; then each id sequence moved past the copied ids."""
    started = time.perf_counter()
    with source.connect() as reader, target.begin() as writer:
        for table in metadata.sorted_tables:
            rows = [dict(row) for row in reader.execute(select(table)).mappings()]
            for chunk in range(0, len(rows), 5_000):
                writer.execute(insert(table), rows[chunk : chunk + 5_000])
            serial = "id" in table.c and isinstance(table.c.id.type, Integer)
            if rows and serial and target.dialect.name == "postgresql":
                writer.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                        f" (SELECT max(id) FROM {table.name}))"
                    )
                )
    return time.perf_counter() - started


# --- measurement ---------------------------------------------------------------------------------


def due_rows() -> Select[Any]:
    """The floor: every column of the due rows, in the order the tick claims them."""
    table = Escalation.__table__  # type: ignore[attr-defined]
    return (
        select(*table.columns)
        .where(table.c.status == EscalationStatus.OPEN, table.c.next_step_at <= NOW)
        .order_by(table.c.next_step_at, table.c.id)
    )


class EscalationPart(Tick):
    """A tick with only its escalation parts: the steps that are due, then the auditor."""

    def parts(self, report: TickReport) -> list[TickPart]:
        return [p for p in super().parts(report) if p.name in ESCALATION_PARTS]


@dataclass
class Snapshot:
    """What a timed tick changes, to be put back before the next one."""

    due: list[dict[str, Any]]
    max_step: int
    max_outbox: int
    max_audit: int

    @classmethod
    def take(cls, engine: Engine) -> Snapshot:
        table = Escalation.__table__  # type: ignore[attr-defined]
        with reading(engine) as session:
            ids = [row.id for row in session.execute(due_rows())]
            columns = [table.c.id, *(table.c[name] for name in DUE_COLUMNS)]
            due = [
                dict(row._mapping)
                for row in session.execute(select(*columns).where(table.c.id.in_(ids)))
            ]

            def top(model: Any) -> int:
                return session.scalar(select(func.max(model.id))) or 0

            return cls(due, top(EscalationStep), top(OutboxMessage), top(AuditEvent))

    def restore(self, engine: Engine) -> None:
        with transaction(engine) as session:
            session.execute(delete(EscalationStep).where(EscalationStep.id > self.max_step))  # type: ignore[operator]
            session.execute(delete(OutboxMessage).where(OutboxMessage.id > self.max_outbox))  # type: ignore[operator]
            session.execute(delete(AuditEvent).where(AuditEvent.id > self.max_audit))  # type: ignore[operator]
            session.execute(update(Escalation), self.due)


def run_tick(engine: Engine, manifest: AgencyManifest) -> tuple[float, TickReport, list[Any]]:
    driver = EscalationDriver(engine, manifest, lambda: NOW)
    calls: list[tuple[str, float]] = []
    for name in ("run_due", "audit"):
        method = getattr(driver, name)

        def timed(method: Callable[[], int] = method, name: str = name) -> int:
            began = time.perf_counter()
            try:
                return method()
            finally:
                calls.append((name, time.perf_counter() - began))

        setattr(driver, name, timed)
    tick = EscalationPart(engine, manifest, lambda: NOW, driver)
    began = time.perf_counter()
    report = tick.run()
    return time.perf_counter() - began, report, calls


def run_floor(engine: Engine) -> tuple[float, int]:
    began = time.perf_counter()
    with reading(engine) as session:
        rows = session.execute(due_rows()).all()
    return time.perf_counter() - began, len(rows)


def measure(
    engine: Engine, manifest: AgencyManifest, repeat: int, expected_due: int
) -> tuple[Timings, TickReport, list[tuple[str, bool]]]:
    snapshot = Snapshot.take(engine)
    timings = Timings()
    report = TickReport()
    checks: dict[str, bool] = {}
    for i in range(repeat + 1):  # the first is the warm-up
        gc.collect()
        seconds, report, calls = run_tick(engine, manifest)
        checks.setdefault("steps", True)
        checks["steps"] &= report.counts.get("escalations") == expected_due
        checks.setdefault("auditor", True)
        checks["auditor"] &= report.counts.get("auditor") == 0
        snapshot.restore(engine)
        with reading(engine) as session:
            checks.setdefault("restored", True)
            checks["restored"] &= len(session.execute(due_rows()).all()) == expected_due
        gc.collect()
        floor_seconds, found = run_floor(engine)
        checks.setdefault("floor", True)
        checks["floor"] &= found == expected_due
        if i:
            timings.tick.append(seconds)
            timings.parts.append(calls)
            timings.floor.append(floor_seconds)
    return (
        timings,
        report,
        [
            (
                f"every timed tick ran {expected_due} steps (one per due escalation)",
                checks["steps"],
            ),
            (
                "the auditor reported nothing new (the previous tick's were reported)",
                checks["auditor"],
            ),
            (f"the floor fetched {expected_due} rows", checks["floor"]),
            (f"after each tick, its changes undone: {expected_due} due again", checks["restored"]),
        ],
    )


def plans(engine: Engine) -> dict[str, str]:
    """The database's plan for the floor and for the tick's two scans."""
    floor = due_rows()
    claim = (
        select(Escalation.id)
        .where(
            Escalation.status == EscalationStatus.OPEN,
            Escalation.next_step_at <= NOW,  # type: ignore[operator]
        )
        .order_by(Escalation.next_step_at, Escalation.id)  # type: ignore[arg-type]
        .limit(500)
    )
    auditor = (
        select(Escalation, EscalationStep)
        .join(EscalationStep, EscalationStep.escalation_id == Escalation.id)  # type: ignore[arg-type]
        .where(
            Escalation.status == EscalationStatus.OPEN,
            EscalationStep.state == StepState.QUEUED,
            EscalationStep.queued_at < NOW - timedelta(minutes=5),  # type: ignore[operator]
            Escalation.late_reported_level < EscalationStep.level,
        )
    )
    out = {}
    with engine.connect() as connection:
        for name, query in (("floor", floor), ("claim_due", claim), ("auditor", auditor)):
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            if engine.dialect.name == "sqlite":
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
                out[name] = "; ".join(str(row[-1]) for row in rows)
            else:
                rows = connection.exec_driver_sql(f"EXPLAIN (COSTS OFF) {compiled}").all()
                out[name] = "; ".join(
                    str(row[0]).strip().removeprefix("->").strip() for row in rows
                )
    return out


def print_profile(engine: Engine, manifest: AgencyManifest, top: int = 30) -> None:
    snapshot = Snapshot.take(engine)
    profiler = cProfile.Profile()
    profiler.runcall(run_tick, engine, manifest)
    snapshot.restore(engine)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\ncProfile of one tick ({engine.dialect.name}):\n{out.getvalue()}", file=sys.stderr)


# --- backends ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    url: str
    options: dict[str, Any]

    def open(self) -> Engine:
        """As the worker opens it (`open_store`: migrated, production settings)."""
        return open_store(self.url, **self.options)

    @contextmanager
    def for_generating(self) -> Iterator[Engine]:
        """The same store with commits that do not wait for the disk: the history is
        replayed in tens of thousands of transactions. Never used for a timed figure."""
        if self.url.startswith("sqlite"):
            engine = create(self.url, **self.options)

            @event.listens_for(engine, "connect")
            def _no_sync(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.execute("PRAGMA synchronous = OFF")

        else:
            options = dict(self.options)
            connect_args = dict(options.pop("connect_args", {}))
            connect_args["options"] = (
                connect_args.get("options", "") + " -csynchronous_commit=off"
            ).strip()
            engine = create(self.url, connect_args=connect_args, **options)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def sqlite_store(*, keep: bool, reuse: Path | None) -> Iterator[Store]:
    """A new SQLite file (a copy of `reuse`, a store replayed before, if given)."""
    directory = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    path = directory / "escalations.sqlite"
    try:
        if reuse is not None:
            shutil.copyfile(reuse, path)
        url = f"sqlite:///{path}"
        open_store(url).dispose()  # created and migrated (or checked)
        yield Store(url, {})
    finally:
        if keep:
            print(f"kept: {path}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def postgres_store(url: str) -> Iterator[Store]:
    """A scratch schema on the server, migrated, dropped afterwards whatever happens."""
    url = normalize_url(url)
    schema = f"bench_escalations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            store = Store(url, {"connect_args": {"options": f"-csearch_path={schema}"}})
            store.open().dispose()  # migrated
            yield store
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def run_backend(
    backend: str, store: Store, manifest: AgencyManifest, args: argparse.Namespace, load: float
) -> Result:
    engine = store.open()
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:  # what autovacuum would have done by now
                connection.execute(text("ANALYZE"))
                connection.commit()
        print(f"{backend}: measuring ...", file=sys.stderr, flush=True)
        held = census(engine)
        timings, report, checks = measure(engine, manifest, args.repeat, args.due)
        found = [
            (f"{held.open:,} open escalations (wanted {args.open:,})", held.open == args.open),
            (f"{held.due} due at NOW (wanted {args.due})", held.due == args.due),
        ]
        if args.profile:
            print_profile(engine, manifest)
        about = machine(engine)
        return Result(backend, held, load, timings, report, plans(engine), found + checks, about)
    finally:
        engine.dispose()


# --- report --------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.0f}" if seconds >= 0.01 else f"{seconds * 1e3:.1f}"


def part_medians(timings: Timings) -> dict[str, float]:
    """Median per part of the tick: pass 1's run_due and audit, then the later passes."""
    split: dict[str, list[float]] = {"run_due": [], "audit": [], "later passes": []}
    for calls in timings.parts:
        split["run_due"].append(calls[0][1])
        split["audit"].append(calls[1][1])
        split["later passes"].append(sum(seconds for _, seconds in calls[2:]))
    return {name: statistics.median(values) for name, values in split.items()}


def table(results: list[Result]) -> str:
    lines = [
        "| backend | open | due | steps run | passes | tick best / median (ms) | run_due"
        " / auditor / pass 2, median (ms) | floor best / median (ms) | tick / floor (medians)"
        " | load (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        t, g = r.timings, r.census
        tick, floor = statistics.median(t.tick), statistics.median(t.floor)
        parts = part_medians(t)
        lines.append(
            f"| {r.backend} | {g.open:,} | {g.due} | {r.report.counts.get('escalations', 0)}"
            f" | {r.report.passes} | {ms(min(t.tick))} / {ms(tick)}"
            f" | {ms(parts['run_due'])} / {ms(parts['audit'])} / {ms(parts['later passes'])}"
            f" | {ms(min(t.floor))} / {ms(floor)} | {tick / floor:,.0f}x | {r.load_seconds:.0f} |"
        )
    return "\n".join(lines)


def machine(engine: Engine) -> str:
    server = ""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            server = f", PostgreSQL {connection.exec_driver_sql('SHOW server_version').scalar()}"
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()},"
        f" SQLAlchemy {version('SQLAlchemy')}, SQLite {sqlite3.sqlite_version},"
        f" psycopg {version('psycopg')}" + server + f"; load average {load}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL") or DEFAULT_POSTGRES,
        help=f"server for the scratch schema (default: {DEFAULT_POSTGRES})",
    )
    parser.add_argument("--open", type=int, default=DEFAULT_OPEN, help="open escalations")
    parser.add_argument("--due", type=int, default=DEFAULT_DUE, help="of which due at NOW")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after the warm-up")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of one tick per backend"
    )
    parser.add_argument("--keep", action="store_true", help="keep the replayed SQLite file")
    parser.add_argument(
        "--reuse",
        type=Path,
        default=None,
        metavar="FILE",
        help="start from a copy of a file kept before (same --open and --due)",
    )
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    if not set(backends) <= {"sqlite", "postgres"}:
        parser.error("--backends: sqlite, postgres")
    if not 0 < args.due < args.open or args.repeat < 1:
        parser.error("need 0 < --due < --open and --repeat >= 1")

    manifest = load_manifest(Path(str(files("switchboard.manifests"))) / "agency.example.yaml")
    results = []
    with sqlite_store(keep=args.keep, reuse=args.reuse) as sqlite:
        if args.reuse is None:
            print(f"replaying {args.open:,} escalations on SQLite ...", file=sys.stderr, flush=True)
            with sqlite.for_generating() as engine:
                generated = generate(engine, manifest, args.open, args.due)
        else:
            generated = Generated(0.0, 0, 0)
        if "sqlite" in backends:
            results.append(run_backend("sqlite", sqlite, manifest, args, generated.seconds))
        if "postgres" in backends:
            with postgres_store(args.postgres) as postgres:
                print("copying the rows to PostgreSQL ...", file=sys.stderr, flush=True)
                with sqlite.for_generating() as source, postgres.for_generating() as target:
                    copied = copy_rows(source, target)
                results.append(run_backend("postgres", postgres, manifest, args, copied))

    print(f"\nNOW = {NOW:%Y-%m-%d %H:%M} UTC (15:00 in New York, a Wednesday)\n")
    if args.reuse is None:
        print(
            f"replayed on SQLite in {generated.seconds:.1f} s ({generated.replay_ticks:,} ticks);"
            f" {generated.stuck} escalations stuck (their first DM never delivered) and reported"
        )
    else:
        print(f"replayed before: {args.reuse}")
    for r in results:
        c = r.census
        print(
            f"{r.backend}: {c.open:,} open escalations (by level reached: "
            + ", ".join(f"{level} {n:,}" for level, n in c.levels.items())
            + f"), {c.due} due; steps "
            + ", ".join(f"{state} {n:,}" for state, n in c.steps.items())
            + f"; {c.outbox_rows:,} outbox rows, {c.audit_rows:,} audit rows"
        )
        for name, text_ in r.plans.items():
            print(f"  plan, {name}: {text_}")
        print(f"  measured on {r.machine}")
    print(f"\nbest and median of {args.repeat} after one warm-up\n")
    print(table(results))
    print()
    checks = []
    for r in results:
        tick = statistics.median(r.timings.tick)
        checks.append(
            (
                f"{r.backend}: one tick's escalation part with {r.census.open:,} open and"
                f" {r.census.due} due under {TARGET_SECONDS * 1e3:.0f} ms: {ms(tick)} ms"
                f" (median; best {ms(min(r.timings.tick))} ms)",
                tick < TARGET_SECONDS,
            )
        )
        checks += [(f"{r.backend}: {line}", ok) for line, ok in r.checks]
    if len(results) == 2:
        same = results[0].census == results[1].census
        checks.append(("both backends hold the same rows (census)", same))
    for line, ok in checks:
        print(f"- {'met' if ok else 'MISSED'}: {line}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
