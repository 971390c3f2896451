"""Pacing benchmark: `agents.pacing.evaluate` against the SQL floor on generated agencies.

For each size (accounts) a fresh SQLite file is created with `open_store` (schema migrated),
filled with one month of generated data (31 days, 2026-03-01..31) by bulk Core inserts in one
transaction, then measured:

- evaluate: `evaluate(session, as_of=2026-04-01, thresholds=Pacing())` in `reading(engine)`;
- floor: one aggregate over the same spend rows, fetched fully, in `reading(engine)`.

Each is run once to warm up, then `--repeat` times; the best time is kept. Data generation is
timed separately and is not part of either figure. See bench/README.md for the results.

    python bench/pacing.py [--sizes 1000,10000,50000] [--repeat 3] [--keep] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, insert, text

from switchboard.agents.pacing import PacingReport, evaluate
from switchboard.store.engine import open_store, reading, transaction
from switchboard.store.manifest import Pacing
from switchboard.store.source_data import (
    AdAccount,
    Budget,
    Client,
    ClientStatus,
    Exclusion,
    Platform,
    SpendDay,
)

MONTH = "2026-03"
MONTH_START = date(2026, 3, 1)
MONTH_DAYS = 31
DATA_THROUGH = date(2026, 3, 31)
AS_OF = date(2026, 4, 1)  # data complete through the 31st; the 1st's partial rows are ignored
DEFAULT_SIZES = (1_000, 10_000, 50_000)
SEED = 20260401
CHUNK = 50_000  # spend rows per executemany

# Targets (from the issue).
TARGET_SIZE = 10_000
TARGET_SECONDS = 2.0
TARGET_RATIO = 3.0
LINEAR_TOLERANCE = 1.5  # us/account may grow at most this much from one size to the next

FLOOR_SQL = text(
    "SELECT account_id, SUM(spend), SUM(leads), COUNT(*) FROM spend_day"
    " WHERE day BETWEEN :start AND :end GROUP BY account_id"
)

# How an account's month looks: (profile, weight). "normal" pace comes from a per-account factor,
# so normal accounts land in on_track, over and under.
PROFILES = (
    ("normal", 84),
    ("gappy", 5),  # ~15% of days missing
    ("no_budget", 3),  # spend but no budget row
    ("no_rows", 2),  # a budget but zero days of spend
    ("dark", 2),  # rows of 0 on the last 3 days
    ("stale", 2),  # no rows for the last 2 days (feed down)
    ("dormant", 2),  # neither budget nor spend: not evaluated
)
CLIENT_STATUSES = (
    (ClientStatus.ACTIVE, 88),
    (ClientStatus.ONBOARDING, 4),
    (ClientStatus.OFFBOARDING, 5),
    (ClientStatus.CHURNED, 3),
)
EXCLUSION_REASONS = ("paused by client", "seasonal pause", "billing hold", "migration")

T = TypeVar("T")


@dataclass(frozen=True)
class Generated:
    path: Path
    accounts: int
    clients: int
    budget_rows: int
    exclusions: int
    spend_rows: int
    seconds: float


@dataclass(frozen=True)
class Result:
    size: int
    generated: Generated
    evaluated: int  # accounts in the report
    rows_read: int  # spend rows in the data range
    evaluate_s: float
    floor_s: float
    statuses: Counter[str]
    suppressed: Counter[str]  # suppressed alerts by code
    check_errors: list[str]

    @property
    def ratio(self) -> float:
        return self.evaluate_s / self.floor_s

    @property
    def us_per_account(self) -> float:
        return self.evaluate_s / self.evaluated * 1e6

    @property
    def floor_us_per_account(self) -> float:
        return self.floor_s / self.evaluated * 1e6


# --- data generation --------------------------------------------------------------------------


def _pick(rng: random.Random, weighted: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _chunks(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _clients(rng: random.Random, n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        status = _pick(rng, CLIENT_STATUSES)
        offboarding = {
            ClientStatus.OFFBOARDING: date(2026, 4, 30),
            ClientStatus.CHURNED: date(2026, 2, 28),
        }.get(status)
        rows.append(
            {
                "client_id": f"C{i:06d}",
                "name": f"Client {i}",
                "status": status,
                "offboarding_date": offboarding,
                "owner_slack_id": f"U{rng.randrange(40):04d}",
                "email": f"billing@client{i}.example",
            }
        )
    return rows


@dataclass
class _Plan:
    """One generated account: what to write for it."""

    account_id: str
    client_id: str
    profile: str
    budgets: list[tuple[date, int]]  # (effective_from, cents)
    pace: float  # spend / plan
    cpl_cents: float
    unbudgeted_cents: float  # daily spend of an account without a budget


def _plans(rng: random.Random, n_accounts: int, n_clients: int) -> list[_Plan]:
    # Cost per lead per client, a few clients far off the rest (portfolio outliers).
    cpl = [
        rng.lognormvariate(8.3, 0.35) * (6 if rng.random() < 0.02 else 1) for _ in range(n_clients)
    ]
    plans = []
    for i in range(n_accounts):
        client = i // 2 if rng.random() < 0.9 else rng.randrange(n_clients)  # ~2 accounts/client
        profile = _pick(rng, PROFILES)
        budgets: list[tuple[date, int]] = []
        if profile not in ("no_budget", "dormant"):
            amount = min(max(round(rng.lognormvariate(8.5, 1.0)), 300), 250_000) * 100
            budgets.append((MONTH_START, amount))
            if rng.random() < 0.10:  # mid-month change
                change = MONTH_START + timedelta(days=rng.randint(7, 24))
                budgets.append((change, round(amount * rng.uniform(0.5, 1.6), -2)))
        plans.append(
            _Plan(
                account_id=f"A{i:06d}",
                client_id=f"C{client:06d}",
                profile=profile,
                budgets=budgets,
                pace=rng.lognormvariate(0.0, 0.25),
                cpl_cents=cpl[client],
                unbudgeted_cents=rng.uniform(20, 800) * 100,
            )
        )
    return plans


def _daily_plan_cents(plan: _Plan, day: date) -> float:
    in_force = [cents for start, cents in plan.budgets if start <= day]
    if in_force:
        return in_force[-1] / MONTH_DAYS
    return 0.0


def _spend_rows(rng: random.Random, plans: list[_Plan]) -> Iterator[dict[str, Any]]:
    """Day by day, every account's row for that day: the order a daily import writes them."""
    reporting = [p for p in plans if p.profile not in ("no_rows", "dormant")]
    for n in range(MONTH_DAYS + 1):
        day = MONTH_START + timedelta(days=n)
        left = MONTH_DAYS - n  # 1 on the last data day, 0 on the as-of day
        for plan in reporting:
            daily = _daily_plan_cents(plan, min(day, DATA_THROUGH)) or plan.unbudgeted_cents
            if left == 0:  # today's partial rows: outside the data range, ignored
                if plan.profile == "normal" and rng.random() < 0.5:
                    yield {
                        "account_id": plan.account_id,
                        "day": day,
                        "spend": _money(round(daily * 0.3)),
                        "leads": 0,
                    }
                continue
            if plan.profile == "stale" and left <= 2:
                continue
            if plan.profile == "gappy" and rng.random() < 0.15:
                continue
            cents = round(daily * plan.pace * rng.uniform(0.6, 1.4))
            if plan.profile == "dark" and left <= 3:
                cents = 0
            leads = round(cents / plan.cpl_cents * rng.uniform(0.5, 1.5))
            yield {
                "account_id": plan.account_id,
                "day": day,
                "spend": _money(cents),
                "leads": None if rng.random() < 0.02 else leads,
            }


def _exclusions(rng: random.Random, plans: list[_Plan]) -> list[dict[str, Any]]:
    rows = []
    for plan in plans:
        if rng.random() >= 0.02:
            continue
        window = rng.choice(
            [
                (date(2026, 3, 20), None),  # open-ended, covers as-of
                (date(2026, 3, 25), date(2026, 4, 15)),  # covers as-of
                (date(2026, 3, 1), date(2026, 3, 10)),  # over before as-of
                (None, None),  # always
            ]
        )
        rows.append(
            {
                "account_id": plan.account_id,
                "reason": rng.choice(EXCLUSION_REASONS),
                "starts": window[0],
                "ends": window[1],
            }
        )
    return rows


def generate(engine: Engine, path: Path, n_accounts: int) -> Generated:
    """Fill a migrated, empty store with one agency, in one transaction of bulk inserts."""
    started = time.perf_counter()
    rng = random.Random(SEED + n_accounts)
    n_clients = max(n_accounts // 2, 1)
    clients = _clients(rng, n_clients)
    plans = _plans(rng, n_accounts, n_clients)
    platforms = list(Platform)
    accounts = [
        {
            "account_id": p.account_id,
            "client_id": p.client_id,
            "platform": platforms[i % len(platforms)],
            "name": f"Account {i}",
            "currency": "USD",
            "timezone": "America/New_York",
        }
        for i, p in enumerate(plans)
    ]
    budgets = [
        {"account_id": p.account_id, "month": MONTH, "effective_from": start, "amount": _money(c)}
        for p in plans
        for start, c in p.budgets
    ]
    exclusions = _exclusions(rng, plans)
    spend_rows = 0
    with transaction(engine) as session:
        session.execute(insert(Client.__table__), clients)
        session.execute(insert(AdAccount.__table__), accounts)
        session.execute(insert(Budget.__table__), budgets)
        if exclusions:
            session.execute(insert(Exclusion.__table__), exclusions)
        for chunk in _chunks(_spend_rows(rng, plans), CHUNK):
            session.execute(insert(SpendDay.__table__), chunk)
            spend_rows += len(chunk)
    # Measure reads from the database file, not the WAL. Outside any transaction: the engine's
    # "begin" listener would wrap a SQLAlchemy connection's statements in BEGIN IMMEDIATE.
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return Generated(
        path=path,
        accounts=n_accounts,
        clients=n_clients,
        budget_rows=len(budgets),
        exclusions=len(exclusions),
        spend_rows=spend_rows,
        seconds=time.perf_counter() - started,
    )


# --- measurement ------------------------------------------------------------------------------


def run_evaluate(engine: Engine) -> PacingReport:
    with reading(engine) as session:
        return evaluate(session, as_of=AS_OF, thresholds=Pacing())


def run_floor(engine: Engine) -> list[Any]:
    params = {"start": MONTH_START.isoformat(), "end": DATA_THROUGH.isoformat()}
    with reading(engine) as session:
        return list(session.execute(FLOOR_SQL, params).all())


def best_of(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """One warm-up call, then the best of `repeat` timed calls."""
    result = fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def cross_check(report: PacingReport, floor: list[Any]) -> list[str]:
    """The evaluation must read the same rows as the floor: same totals."""
    errors = []
    floor_spend = _money(sum(int(row[1]) for row in floor))
    floor_leads = sum(int(row[2] or 0) for row in floor)
    spend = sum((a.spend_to_date for a in report.accounts), Decimal(0))
    leads = sum(a.leads_to_date for a in report.accounts)
    if spend != floor_spend:
        errors.append(f"spend_to_date total {spend} != floor {floor_spend}")
    if leads != floor_leads:
        errors.append(f"leads_to_date total {leads} != floor {floor_leads}")
    evaluated = {a.account_id for a in report.accounts}
    missing = {row[0] for row in floor} - evaluated
    if missing:
        errors.append(f"{len(missing)} accounts with spend not evaluated")
    return errors


def measure(size: int, directory: Path, repeat: int, profile: bool) -> Result:
    path = directory / f"pacing-{size}.sqlite"
    engine = open_store(f"sqlite:///{path}")
    try:
        generated = generate(engine, path, size)
        evaluate_s, report = best_of(lambda: run_evaluate(engine), repeat)
        floor_s, floor = best_of(lambda: run_floor(engine), repeat)
        if profile:
            print_profile(engine, size)
    finally:
        engine.dispose()
    return Result(
        size=size,
        generated=generated,
        evaluated=len(report.accounts),
        rows_read=sum(int(row[3]) for row in floor),
        evaluate_s=evaluate_s,
        floor_s=floor_s,
        statuses=Counter(a.status.value for a in report.accounts),
        suppressed=Counter(a.suppressed.code for a in report.accounts if a.suppressed),
        check_errors=cross_check(report, floor),
    )


def print_profile(engine: Engine, size: int, top: int = 25) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(run_evaluate, engine)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\ncProfile of one evaluate() at {size:,} accounts:\n{out.getvalue()}", file=sys.stderr)


# --- report -----------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    lines = [
        "| accounts | evaluated | spend rows read | generate (s) | evaluate (s) | floor (s) "
        "| evaluate / floor | us/account evaluate | us/account floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.size:,} | {r.evaluated:,} | {r.rows_read:,} | {r.generated.seconds:.1f} "
            f"| {r.evaluate_s:.3f} | {r.floor_s:.3f} | {r.ratio:.1f}x "
            f"| {r.us_per_account:.0f} | {r.floor_us_per_account:.1f} |"
        )
    return "\n".join(lines)


def verdicts(results: list[Result]) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    for r in results:
        if r.size == TARGET_SIZE:
            checks.append(
                (
                    f"{TARGET_SIZE:,} accounts under {TARGET_SECONDS:.0f} s: {r.evaluate_s:.2f} s",
                    r.evaluate_s < TARGET_SECONDS,
                )
            )
    worst = max(results, key=lambda r: r.ratio)
    checks.append(
        (
            f"within {TARGET_RATIO:.0f}x of the floor at every size: worst {worst.ratio:.1f}x "
            f"at {worst.size:,}",
            worst.ratio <= TARGET_RATIO,
        )
    )
    if len(results) > 1:
        small, large = max(
            pairwise(results), key=lambda step: step[1].us_per_account / step[0].us_per_account
        )
        growth = large.us_per_account / small.us_per_account
        floor_growth = large.floor_us_per_account / small.floor_us_per_account
        series = " -> ".join(f"{r.us_per_account:.0f}" for r in results)
        checks.append(
            (
                f"linear growth (us/account grows at most {LINEAR_TOLERANCE}x from one size to "
                f"the next): {series} us/account; worst step {small.size:,} -> "
                f"{large.size:,}: {growth:.2f}x (the floor: {floor_growth:.2f}x)",
                growth <= LINEAR_TOLERANCE,
            )
        )
    for r in results:
        checks.append(
            (
                f"{r.size:,}: evaluation totals match the floor"
                + ("" if not r.check_errors else f" ({'; '.join(r.check_errors)})"),
                not r.check_errors,
            )
        )
    return checks


def parse_sizes(value: str) -> list[int]:
    try:
        sizes = sorted({int(v.replace("_", "")) for v in value.split(",") if v.strip()})
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of integers: {value!r}") from error
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(DEFAULT_SIZES),
        help="comma-separated account counts (default: 1000,10000,50000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after the warm-up")
    parser.add_argument("--keep", action="store_true", help="keep the generated SQLite files")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of evaluate() to stderr"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    directory = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    results = []
    try:
        for size in args.sizes:
            result = measure(size, directory, args.repeat, args.profile)
            g = result.generated
            mix = ", ".join(f"{status} {n:,}" for status, n in sorted(result.statuses.items()))
            held = ", ".join(f"{code} {n:,}" for code, n in sorted(result.suppressed.items()))
            print(
                f"{size:,} accounts: generated {g.clients:,} clients, {g.budget_rows:,} budget "
                f"rows, {g.exclusions:,} exclusions, {g.spend_rows:,} spend rows in "
                f"{g.seconds:.1f} s; statuses: {mix}; suppressed: {held}",
                flush=True,
            )
            results.append(result)
    finally:
        if args.keep:
            print(f"\nkept: {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)

    print(
        f"\nas_of {AS_OF}, data {MONTH_START}..{DATA_THROUGH}, best of {args.repeat} after one "
        "warm-up\n"
    )
    print(table(results))
    print()
    checks = verdicts(results)
    for line, ok in checks:
        print(f"- {'met' if ok else 'MISSED'}: {line}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
