"""Pacing: spend against the planned pace, alerting on percentage deviation (DESIGN section 6).

Data is complete through the day before the as-of date; today's partial rows are ignored.
Dollar thresholds are never used: a $100 overspend matters on $500, not on $50,000.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from switchboard.agents.portfolio import Portfolio, portfolio_cpl
from switchboard.store.bulk_write import collector_paused
from switchboard.store.manifest import Pacing
from switchboard.store.source_data import (
    AdAccount,
    Budget,
    Client,
    ClientStatus,
    Exclusion,
    SpendDay,
)

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
DARK_DAYS = 3  # zero-spend days in a row that mean "the account may be offline"
STALE_DAYS = 2  # days without any row that mean "the data feed may be down"


class PaceStatus(StrEnum):
    NO_BUDGET = "no_budget"
    NOT_ENOUGH_DATA = "not_enough_data"
    DARK = "dark"
    OVER = "over"
    UNDER = "under"
    ON_TRACK = "on_track"


ALERTING = (PaceStatus.OVER, PaceStatus.UNDER, PaceStatus.DARK)


class Suppression(BaseModel):
    code: Literal["excluded", "offboarding", "stale_data"]
    detail: str


class AccountPace(BaseModel):
    account_id: str
    client_id: str
    month: str
    budget: Decimal | None
    plan_to_date: Decimal
    spend_to_date: Decimal
    leads_to_date: int
    pace_pct: Decimal | None
    deviation_pct: Decimal | None
    projected_month_end: Decimal
    status: PaceStatus
    alert: bool
    suppressed: Suppression | None

    def to_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "client_id": self.client_id,
            "month": self.month,
            "budget": _money(self.budget),
            "plan_to_date": _money(self.plan_to_date),
            "spend_to_date": _money(self.spend_to_date),
            "pace_pct": _pct(self.pace_pct),
            "deviation_pct": _pct(self.deviation_pct),
            "projected_month_end": _money(self.projected_month_end),
            "status": self.status.value,
            "alert": self.alert,
            "suppressed": self.suppressed.model_dump() if self.suppressed else None,
        }


class PacingReport(BaseModel):
    as_of: date
    data_through: date
    accounts: list[AccountPace]
    portfolio: Portfolio

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "data_through": self.data_through.isoformat(),
            "accounts": [a.to_json() for a in self.accounts],
            "portfolio": self.portfolio.to_json(),
        }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _pct(value: Decimal | None) -> float | None:
    # `+ 0` turns a rounded -0.0 into 0.0
    return None if value is None else float(value.quantize(TENTH, rounding=ROUND_HALF_UP) + 0)


@dataclass(frozen=True, slots=True)
class PacingMonth:
    """The month being paced, worked out once per run rather than once per account."""

    as_of: date
    data_date: date  # data is complete through this day
    label: str  # "2026-03"
    days: int  # days in the month

    @classmethod
    def of(cls, as_of: date) -> PacingMonth:
        data_date = as_of - timedelta(days=1)
        days = calendar.monthrange(data_date.year, data_date.month)[1]
        return cls(as_of, data_date, data_date.strftime("%Y-%m"), days)


@dataclass(slots=True)
class AccountData:
    """What pacing needs to know about one account for one month."""

    account_id: str
    client_id: str
    client_name: str
    client_status: ClientStatus
    budgets: list[tuple[date, Decimal]] = field(default_factory=list)  # (effective_from, amount)
    spend_to_date: Decimal = Decimal(0)
    leads_to_date: int = 0
    zero_rows_recent: int = 0  # rows of 0 among the last DARK_DAYS data days
    rows_recent: int = 0  # rows of any kind among the last STALE_DAYS data days
    exclusions: list[Exclusion] = field(default_factory=list)


def budget_in_force(budgets: list[tuple[date, Decimal]], day: date) -> Decimal | None:
    """The month budget that applies on `day`: the latest row effective on or before it."""
    in_force = [amount for start, amount in sorted(budgets) if start <= day]
    return in_force[-1] if in_force else None


def plan_to_date(budgets: list[tuple[date, Decimal]], last_day: date, month_days: int) -> Decimal:
    """Sum of daily plans from day 1 through `last_day`: each budget over the days it rules."""
    ordered = sorted(budgets)
    total = Decimal(0)
    for i, (start, amount) in enumerate(ordered):
        end = ordered[i + 1][0] - timedelta(days=1) if i + 1 < len(ordered) else last_day
        days = (min(end, last_day) - start).days + 1
        if days > 0:
            total += amount * days
    return total / month_days


def _suppression(
    data: AccountData, status: PaceStatus, as_of: date, data_date: date
) -> Suppression | None:
    """Cross-checks before alerting, first match wins (DESIGN section 6)."""
    for exclusion in data.exclusions:
        if exclusion.covers(as_of):
            until = f" until {exclusion.ends}" if exclusion.ends else ""
            return Suppression(code="excluded", detail=f"{exclusion.reason}{until}")
    if data.client_status in (ClientStatus.OFFBOARDING, ClientStatus.CHURNED):
        return Suppression(
            code="offboarding", detail=f"{data.client_name} is {data.client_status.value}"
        )
    if status in (PaceStatus.UNDER, PaceStatus.DARK) and data.rows_recent == 0:
        first = data_date - timedelta(days=STALE_DAYS - 1)
        return Suppression(
            code="stale_data",
            detail=f"no spend rows for {first} to {data_date}: missing data cannot prove "
            "underspend",
        )
    return None


def _planned_each_day(data: AccountData, data_date: date) -> bool:
    days = (data_date - timedelta(days=n) for n in range(DARK_DAYS))
    return all((budget_in_force(data.budgets, day) or 0) > 0 for day in days)


def pace_account(data: AccountData, *, month: PacingMonth, thresholds: Pacing) -> AccountPace:
    """Apply DESIGN section 6 to one account (pure: no database)."""
    data_date, d, month_days = month.data_date, month.data_date.day, month.days
    plan = plan_to_date(data.budgets, data_date, month_days)
    spend = data.spend_to_date

    pace = deviation = None
    if plan > 0:
        pace = HUNDRED * spend / plan
        deviation = pace - HUNDRED

    if pace is None:
        status = PaceStatus.NO_BUDGET if spend > 0 or not data.budgets else PaceStatus.ON_TRACK
    elif d < thresholds.min_days:
        early = pace >= thresholds.early_alert_pct
        status = PaceStatus.OVER if early else PaceStatus.NOT_ENOUGH_DATA
    elif (
        d >= DARK_DAYS and data.zero_rows_recent == DARK_DAYS and _planned_each_day(data, data_date)
    ):
        status = PaceStatus.DARK
    elif deviation is not None and deviation >= thresholds.over_pct:
        status = PaceStatus.OVER
    elif deviation is not None and deviation <= -thresholds.under_pct:
        status = PaceStatus.UNDER
    else:
        status = PaceStatus.ON_TRACK

    suppressed = _suppression(data, status, month.as_of, data_date) if status in ALERTING else None
    return AccountPace(
        account_id=data.account_id,
        client_id=data.client_id,
        month=month.label,
        budget=budget_in_force(data.budgets, data_date),
        plan_to_date=plan,
        spend_to_date=spend,
        leads_to_date=data.leads_to_date,
        pace_pct=pace,
        deviation_pct=deviation,
        projected_month_end=spend / d * month_days,
        status=status,
        alert=status in ALERTING and suppressed is None,
        suppressed=suppressed,
    )


def load_month(session: Session, data_date: date) -> list[AccountData]:
    """Every account with spend or budget in the data date's month, read in a few queries."""
    month_start = data_date.replace(day=1)
    month = data_date.strftime("%Y-%m")
    recent_dark = data_date - timedelta(days=DARK_DAYS - 1)
    recent_stale = data_date - timedelta(days=STALE_DAYS - 1)
    # Two aggregates, not one with a CASE per column: the month totals are the plain
    # floor query, and the recent-day counts read only the last few days through the index.
    month_totals = (
        select(
            SpendDay.account_id, func.sum(SpendDay.spend), func.sum(SpendDay.leads), func.count()
        )
        .where(SpendDay.day >= month_start, SpendDay.day <= data_date)
        .group_by(SpendDay.account_id)
    )
    recent_counts = (
        select(
            SpendDay.account_id,
            func.count(case((and_(SpendDay.day >= recent_dark, SpendDay.spend == 0), 1))),
            func.count(case((SpendDay.day >= recent_stale, 1))),
        )
        .where(SpendDay.day >= min(recent_dark, recent_stale), SpendDay.day <= data_date)
        .group_by(SpendDay.account_id)
    )
    totals = {row[0]: tuple(row[1:]) for row in session.execute(month_totals)}
    recent = {row[0]: tuple(row[1:]) for row in session.execute(recent_counts)}
    accounts: dict[str, AccountData] = {}
    budgets: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for account_id, start, amount in session.execute(
        select(Budget.account_id, Budget.effective_from, Budget.amount).where(Budget.month == month)
    ):
        budgets[account_id].append((start, amount))
    wanted = set(totals) | set(budgets)
    if not wanted:
        return []
    exclusions: dict[str, list[Exclusion]] = defaultdict(list)
    for exclusion in session.scalars(select(Exclusion)):
        exclusions[exclusion.account_id].append(exclusion)
    owners = select(AdAccount.account_id, AdAccount.client_id, Client.name, Client.status).join(
        Client, Client.client_id == AdAccount.client_id
    )
    for account_id, client_id, client_name, client_status in session.execute(owners):
        if account_id not in wanted:
            continue
        spend, leads, _rows = totals.get(account_id, (Decimal(0), 0, 0))
        zeros, recent_rows = recent.get(account_id, (0, 0))
        accounts[account_id] = AccountData(
            account_id=account_id,
            client_id=client_id,
            client_name=client_name,
            client_status=ClientStatus(client_status),
            budgets=budgets.get(account_id, []),
            spend_to_date=Decimal(spend or 0),
            leads_to_date=int(leads or 0),
            zero_rows_recent=zeros,
            rows_recent=recent_rows,
            exclusions=exclusions.get(account_id, []),
        )
    return [accounts[a] for a in sorted(accounts)]


def empty_report(as_of: date) -> PacingReport:
    """The report on a store that holds no data yet: no account to pace."""
    return PacingReport(
        as_of=as_of,
        data_through=PacingMonth.of(as_of).data_date,
        accounts=[],
        portfolio=portfolio_cpl([]),
    )


def evaluate(session: Session, *, as_of: date, thresholds: Pacing) -> PacingReport:
    """Pace every account for `as_of` (read-only)."""
    month = PacingMonth.of(as_of)
    # Tens of thousands of short-lived rows: the collector waits until the report is built.
    with collector_paused():
        paced = [
            pace_account(a, month=month, thresholds=thresholds)
            for a in load_month(session, month.data_date)
        ]
    return PacingReport(
        as_of=as_of,
        data_through=month.data_date,
        accounts=paced,
        portfolio=portfolio_cpl(paced),
    )
