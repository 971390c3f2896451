"""Pacing (DESIGN section 6), hand-worked from the formulas, through the store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from switchboard.agents.pacing import PaceStatus, PacingReport, evaluate
from switchboard.agents.portfolio import modified_z_scores
from switchboard.store.engine import reading
from switchboard.store.manifest import Pacing
from tests.agency_builder import AgencyBuilder

MARCH_16 = date(2026, 3, 16)  # data through 2026-03-15: d = 15 of D = 31


def run(engine: Engine, as_of: date = MARCH_16, thresholds: Pacing | None = None) -> PacingReport:
    with reading(engine) as session:
        return evaluate(session, as_of=as_of, thresholds=thresholds or Pacing())


def account(report: PacingReport, account_id: str) -> dict:
    return next(a.to_json() for a in report.accounts if a.account_id == account_id)


def spend_total(
    builder: AgencyBuilder, account_id: str, total: str, *, days: int = 15, month: str = "2026-03"
) -> None:
    """`total` spread over days 1..days: equal cents per day, the remainder on day 1."""
    total_dec = Decimal(total)
    each = (total_dec / days).quantize(Decimal("0.01"))
    first = total_dec - each * (days - 1)
    for n in range(1, days + 1):
        builder.spend(account_id, f"{month}-{n:02d}", first if n == 1 else each)


def test_design_example_json_shape(engine: Engine) -> None:
    b = AgencyBuilder().account("A1").budget("A1", "2026-03", "3100")
    spend_total(b, "A1", "1620")
    b.load(engine)

    report = run(engine).to_json()

    assert report["as_of"] == "2026-03-16"
    assert report["data_through"] == "2026-03-15"
    assert report["accounts"] == [
        {
            "account_id": "A1",
            "client_id": "C1",
            "month": "2026-03",
            "budget": "3100.00",
            "plan_to_date": "1500.00",
            "spend_to_date": "1620.00",
            "pace_pct": 108.0,
            "deviation_pct": 8.0,
            "projected_month_end": "3348.00",
            "status": "on_track",
            "alert": False,
            "suppressed": None,
        }
    ]


def test_percentage_not_dollars_100_over_on_500_alerts_but_not_on_50000(engine: Engine) -> None:
    b = AgencyBuilder().account("SMALL").account("BIG")
    b.budget("SMALL", "2026-03", "500").budget("BIG", "2026-03", "50000")
    spend_total(b, "SMALL", "341.94")  # plan 241.94 + 100
    spend_total(b, "BIG", "24293.55")  # plan 24193.55 + 100
    b.load(engine)

    report = run(engine)
    small, big = account(report, "SMALL"), account(report, "BIG")

    assert small["plan_to_date"] == "241.94"
    assert small["deviation_pct"] == 41.3
    assert (small["status"], small["alert"]) == ("over", True)
    assert big["plan_to_date"] == "24193.55"
    assert big["deviation_pct"] == 0.4
    assert (big["status"], big["alert"]) == ("on_track", False)


def test_mid_month_budget_change_uses_budget_in_force_each_day(engine: Engine) -> None:
    # 3100 for days 1-10, 9300 from the 11th: plan through the 20th = 1000 + 3000 = 4000.
    # A "latest budget" reading plans 6000 (under -33%); a "first budget" one plans 2000 (+100%).
    b = AgencyBuilder().account("A1")
    b.budget("A1", "2026-03", "3100").budget("A1", "2026-03", "9300", "2026-03-11")
    spend_total(b, "A1", "4000", days=20)
    b.load(engine)

    a = account(run(engine, as_of=date(2026, 3, 21)), "A1")

    assert a["plan_to_date"] == "4000.00"
    assert a["budget"] == "9300.00"
    assert (a["pace_pct"], a["status"], a["alert"]) == (100.0, "on_track", False)


def test_todays_partial_row_is_ignored(engine: Engine) -> None:
    b = AgencyBuilder().account("A1").budget("A1", "2026-03", "3100")
    spend_total(b, "A1", "1500")
    b.spend("A1", "2026-03-16", "9999.00")  # today: partial
    b.spend("A1", "2026-03-17", "9999.00")  # tomorrow (a bad feed): also after the data date
    b.load(engine)

    a = account(run(engine), "A1")

    assert (a["spend_to_date"], a["pace_pct"], a["status"]) == ("1500.00", 100.0, "on_track")


def test_three_zero_days_is_dark_but_missing_days_are_not_zeros(engine: Engine) -> None:
    b = AgencyBuilder().account("DARK").account("GAPS")
    for acct in ("DARK", "GAPS"):
        b.budget(acct, "2026-03", "3100")
        b.spend_each_day(acct, date(2026, 3, 1), date(2026, 3, 12), "100.00")
    b.spend_each_day("DARK", date(2026, 3, 13), date(2026, 3, 15), "0")
    b.spend("GAPS", "2026-03-13", "0").spend("GAPS", "2026-03-15", "0")  # the 14th: no row
    b.load(engine)

    report = run(engine)

    dark = account(report, "DARK")
    assert (dark["status"], dark["alert"], dark["deviation_pct"]) == ("dark", True, -20.0)
    assert account(report, "GAPS")["status"] == "on_track"


def test_missing_rows_suppress_under_as_stale_but_over_still_alerts(engine: Engine) -> None:
    b = AgencyBuilder().account("LOW").account("HIGH")
    b.budget("LOW", "2026-03", "3100").budget("HIGH", "2026-03", "3100")
    b.spend_each_day("LOW", date(2026, 3, 1), date(2026, 3, 13), "50.00")  # no rows 14th, 15th
    b.spend_each_day("HIGH", date(2026, 3, 1), date(2026, 3, 13), "200.00")
    b.load(engine)

    report = run(engine)
    low, high = account(report, "LOW"), account(report, "HIGH")

    assert (low["status"], low["alert"], low["suppressed"]["code"]) == (
        "under",
        False,
        "stale_data",
    )
    assert "2026-03-14 to 2026-03-15" in low["suppressed"]["detail"]
    assert (high["status"], high["alert"], high["suppressed"]) == ("over", True, None)


def test_one_missing_day_is_not_stale(engine: Engine) -> None:
    b = AgencyBuilder().account("A1").budget("A1", "2026-03", "3100")
    b.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 14), "50.00")  # only the 15th missing
    b.load(engine)

    a = account(run(engine), "A1")

    assert (a["status"], a["alert"]) == ("under", True)


@pytest.mark.parametrize(
    ("starts", "ends", "suppressed"),
    [
        ("", "", True),  # open-ended
        ("2026-03-10", "2026-03-16", True),  # ends today: covers the as-of date
        ("2026-03-16", "", True),  # starts today
        ("2026-03-01", "2026-03-15", False),  # ended yesterday
        ("2026-03-17", "", False),  # starts tomorrow
    ],
)
def test_exclusion_date_ranges(engine: Engine, starts: str, ends: str, suppressed: bool) -> None:
    b = AgencyBuilder().account("A1").budget("A1", "2026-03", "3100")
    spend_total(b, "A1", "2500")
    b.exclusion("A1", "client paused", starts, ends)
    b.load(engine)

    a = account(run(engine), "A1")

    assert a["status"] == "over"
    assert a["alert"] is not suppressed
    assert (a["suppressed"] or {}).get("code") == ("excluded" if suppressed else None)


@pytest.mark.parametrize("status", ["offboarding", "churned"])
def test_offboarding_and_churned_clients_are_suppressed(engine: Engine, status: str) -> None:
    b = AgencyBuilder().client("C9", status).account("A1", "C9").budget("A1", "2026-03", "3100")
    spend_total(b, "A1", "2500")
    b.load(engine)

    a = account(run(engine), "A1")

    assert (a["status"], a["alert"]) == ("over", False)
    assert a["suppressed"] == {"code": "offboarding", "detail": f"Client C9 is {status}"}


def test_exclusion_takes_precedence_over_offboarding(engine: Engine) -> None:
    b = AgencyBuilder().client("C9", "offboarding").account("A1", "C9")
    b.budget("A1", "2026-03", "3100").exclusion("A1", "paused by client")
    spend_total(b, "A1", "2500")
    b.load(engine)

    assert account(run(engine), "A1")["suppressed"]["code"] == "excluded"


@pytest.mark.parametrize(
    ("as_of", "spent", "status"),
    [
        (date(2026, 3, 2), "150.00", "not_enough_data"),  # day 1: plan 100, pace 150%
        (date(2026, 3, 2), "199.99", "not_enough_data"),
        (date(2026, 3, 2), "200.00", "over"),  # early alert at 200%
        (date(2026, 3, 3), "450.00", "over"),  # day 2: plan 200, 225%
        (date(2026, 3, 3), "100.00", "not_enough_data"),  # 50%: too early to call under
        (date(2026, 3, 4), "450.00", "over"),  # day 3: plan 300, 150%, enough data
    ],
)
def test_first_days_of_month_need_min_days_unless_far_over(
    engine: Engine, as_of: date, spent: str, status: str
) -> None:
    b = AgencyBuilder().account("A1").budget("A1", "2026-03", "3100")
    b.spend("A1", "2026-03-01", spent)
    b.load(engine)

    a = account(run(engine, as_of=as_of), "A1")

    assert a["status"] == status
    assert a["alert"] is (status == "over")


@pytest.mark.parametrize(
    ("as_of", "budget", "month", "days", "plan"),
    [
        (date(2026, 3, 1), "2800", "2026-02", 28, "2800.00"),  # February, 28 days, month end
        (date(2028, 2, 11), "2900", "2028-02", 10, "1000.00"),  # leap February: 29 days
        (date(2026, 4, 1), "3100", "2026-03", 31, "3100.00"),  # 31-day month, last day
        (date(2026, 5, 1), "3000", "2026-04", 30, "3000.00"),  # 30-day month, last day
    ],
)
def test_month_lengths(
    engine: Engine, as_of: date, budget: str, month: str, days: int, plan: str
) -> None:
    b = AgencyBuilder().account("A1").budget("A1", month, budget)
    spend_total(b, "A1", plan, days=days, month=month)
    b.load(engine)

    a = account(run(engine, as_of=as_of), "A1")

    assert (a["month"], a["plan_to_date"], a["pace_pct"]) == (month, plan, 100.0)
    assert a["projected_month_end"] == f"{Decimal(budget):.2f}"


def test_spend_without_budget_and_budget_without_spend(engine: Engine) -> None:
    b = AgencyBuilder().account("NOBUDGET").account("NOSPEND").account("OLD")
    spend_total(b, "NOBUDGET", "700")
    b.budget("NOSPEND", "2026-03", "3100")
    b.budget("OLD", "2026-02", "3100").spend("OLD", "2026-02-20", "10.00")  # last month only
    b.load(engine)

    report = run(engine)

    assert [a.account_id for a in report.accounts] == ["NOBUDGET", "NOSPEND"]
    no_budget = account(report, "NOBUDGET")
    assert (no_budget["status"], no_budget["pace_pct"], no_budget["alert"]) == (
        "no_budget",
        None,
        False,
    )
    no_spend = account(report, "NOSPEND")
    # No rows at all: underspend cannot be proven.
    assert (no_spend["status"], no_spend["suppressed"]["code"]) == ("under", "stale_data")


def test_thresholds_come_from_the_manifest(engine: Engine) -> None:
    b = AgencyBuilder().account("A1").budget("A1", "2026-03", "3100")
    spend_total(b, "A1", "1800")  # +20%
    b.load(engine)

    assert account(run(engine), "A1")["status"] == "on_track"
    strict = Pacing(over_pct=Decimal(15), under_pct=Decimal(15))
    assert account(run(engine, thresholds=strict), "A1")["status"] == "over"


def test_portfolio_median_not_mean_names_the_outlier(engine: Engine) -> None:
    b = AgencyBuilder()
    # CPLs 20, 25, 27.50, 30 and 160: the mean (52.50) hides that four clients sit near 27.
    for n, (total, leads) in enumerate(
        [("200", 10), ("250", 10), ("275", 10), ("300", 10), ("1600", 10)], start=1
    ):
        b.client(f"C{n}", "offboarding" if n == 3 else "active").account(f"A{n}", f"C{n}")
        b.spend(f"A{n}", "2026-03-15", total, leads)
    b.account("A9", "C9").spend("A9", "2026-03-15", "500")  # spend, no leads: not counted
    b.load(engine)

    portfolio = run(engine).to_json()["portfolio"]

    assert portfolio == {"median_cpl": "27.50", "mean_cpl": "52.50", "cpl_outliers": ["C5"]}


def test_modified_z_score_handles_identical_values() -> None:
    same = {c: Decimal(30) for c in "ABCDE"}
    assert modified_z_scores(same) == {}
    # MAD is 0 (most values equal): the mean absolute deviation stands in.
    mostly = {**same, "F": Decimal(300)}
    scores = modified_z_scores(mostly)
    assert scores["F"] > Decimal("3.5")
    assert all(scores[c] == 0 for c in "ABCDE")


def test_pace_status_order_is_the_contract() -> None:
    assert [s.value for s in PaceStatus] == [
        "no_budget",
        "not_enough_data",
        "dark",
        "over",
        "under",
        "on_track",
    ]
