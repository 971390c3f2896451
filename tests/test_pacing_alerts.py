"""The alert lifecycle across days: dedupe, re-notify on worsening, suppression, auto-resolve."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from switchboard.agents.pacing import AccountPace, PaceStatus, PacingReport, Suppression
from switchboard.agents.pacing_alerts import ChangeKind, record_findings
from switchboard.agents.portfolio import portfolio_cpl
from switchboard.bot.agent_runs import run_pacing
from switchboard.bot.runtime import seed
from switchboard.store import alerts
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.audit import AuditEvent
from switchboard.store.engine import reading, transaction
from switchboard.store.manifest import AgencyManifest, Pacing
from switchboard.store.outbox import OutboxMessage
from tests.agency_builder import AgencyBuilder

NOW = datetime(2026, 3, 16, 12, tzinfo=UTC)


def finding(
    deviation: str | None,
    status: PaceStatus | None = None,
    *,
    account_id: str = "A1",
    month: str = "2026-03",
    suppressed: Suppression | None = None,
    spend: str = "1500",
    plan: str = "1500",
) -> AccountPace:
    dev = None if deviation is None else Decimal(deviation)
    if status is None:
        status = (
            PaceStatus.OVER
            if dev >= 30
            else PaceStatus.UNDER
            if dev <= -30
            else PaceStatus.ON_TRACK
        )
    alerting = status in (PaceStatus.OVER, PaceStatus.UNDER, PaceStatus.DARK)
    return AccountPace(
        account_id=account_id,
        client_id="C1",
        month=month,
        budget=Decimal(3100),
        plan_to_date=Decimal(plan),
        spend_to_date=Decimal(spend),
        leads_to_date=0,
        pace_pct=None if dev is None else dev + 100,
        deviation_pct=dev,
        projected_month_end=Decimal(spend) * 2,
        status=status,
        alert=alerting and suppressed is None,
        suppressed=suppressed if alerting else None,
    )


def apply(
    engine: Engine, day: date, *findings: AccountPace, thresholds: Pacing | None = None
) -> list[tuple[ChangeKind, int]]:
    report = PacingReport(
        as_of=day,
        data_through=day - timedelta(days=1),
        accounts=list(findings),
        portfolio=portfolio_cpl([]),
    )
    with transaction(engine) as session:
        changes = record_findings(
            session,
            report,
            thresholds=thresholds or Pacing(),
            domain="ad_performance",
            assignee="U0AM",
            now=NOW,
        )
    return [(c.kind, c.alert_id) for c in changes]


def stored(engine: Engine) -> list[Alert]:
    with reading(engine) as session:
        return alerts.listing(session, include_resolved=True)


def audit_count(engine: Engine) -> int:
    with reading(engine) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def test_dedupe_renotify_on_10_points_and_resolve_inside_half_threshold(engine: Engine) -> None:
    day = date(2026, 3, 10)
    [(kind, alert_id)] = apply(engine, day, finding("40"))
    assert kind is ChangeKind.OPENED

    assert apply(engine, day + timedelta(1), finding("45")) == []  # +5: no new notification
    assert apply(engine, day + timedelta(2), finding("49.9")) == []  # +9.9 since notified
    assert apply(engine, day + timedelta(3), finding("50")) == [(ChangeKind.WORSENED, alert_id)]
    assert apply(engine, day + timedelta(4), finding("55")) == []  # measured from 50 now
    assert apply(engine, day + timedelta(5), finding("20")) == []  # 20 >= 15: still stands
    [alert] = stored(engine)
    assert (alert.state, alert.deviation_pct, alert.notifications) == (
        AlertState.OPEN,
        Decimal("20.0"),
        2,
    )

    assert apply(engine, day + timedelta(6), finding("14.9")) == [(ChangeKind.RESOLVED, alert_id)]
    [alert] = stored(engine)
    assert alert.state is AlertState.RESOLVED
    assert alert.resolved_reason == "back within 15% of plan"

    # Worse again later: a new alert, not the resolved one reopened.
    [(kind, new_id)] = apply(engine, day + timedelta(7), finding("35"))
    assert (kind, new_id != alert_id) == (ChangeKind.OPENED, True)


def figures(alert: Alert) -> tuple[Decimal | None, ...]:
    return (
        alert.spend_to_date,
        alert.plan_to_date,
        alert.budget,
        alert.projected_month_end,
        alert.threshold_pct,
    )


def test_the_alert_keeps_the_figures_of_its_last_evaluation(engine: Engine) -> None:
    """Raised with the money its message shows; each later run (a re-notify among them)
    brings them up to date, exact to the cent and rounded as `switchboard pacing` rounds."""
    day = date(2026, 3, 10)
    [(_, alert_id)] = apply(engine, day, finding("40", spend="2100", plan="1500.005"))
    [alert] = stored(engine)
    assert figures(alert) == (
        Decimal("2100.00"),
        Decimal("1500.01"),
        Decimal("3100.00"),
        Decimal("4200.00"),
        Decimal("30.00"),
    )

    assert apply(engine, day + timedelta(1), finding("45", spend="2320", plan="1600")) == []
    [alert] = stored(engine)  # not worse enough to tell people, but the figures are today's
    assert (alert.deviation_pct, alert.spend_to_date, alert.plan_to_date) == (
        Decimal("45.0"),
        Decimal("2320.00"),
        Decimal("1600.00"),
    )

    worse = finding("55", spend="2635.10", plan="1700")
    assert apply(engine, day + timedelta(2), worse) == [(ChangeKind.WORSENED, alert_id)]
    [alert] = stored(engine)
    assert (alert.notified_deviation_pct, alert.last_seen_on) == (
        Decimal("55.0"),
        day + timedelta(2),
    )
    assert figures(alert) == (
        Decimal("2635.10"),
        Decimal("1700.00"),
        Decimal("3100.00"),
        Decimal("5270.20"),
        Decimal("30.00"),
    )

    # An earlier date run again never rewinds them.
    assert apply(engine, day, finding("40", spend="2100", plan="1500")) == []
    assert stored(engine)[0].spend_to_date == Decimal("2635.10")


def test_the_threshold_is_the_one_the_alert_crossed(engine: Engine) -> None:
    """Before min_days only a pace of early_alert_pct alerts (250% here: 150% over plan); from
    min_days on, over_pct. Under: under_pct. Dark: a run of zero-spend days, no percentage."""
    thresholds = Pacing(
        over_pct=Decimal("25.5"),
        under_pct=Decimal(40),
        min_days=3,
        early_alert_pct=Decimal(250),
    )
    day = date(2026, 3, 3)  # data through the 2nd: before min_days

    early = finding("160", PaceStatus.OVER)
    dark = finding("-10", PaceStatus.DARK, account_id="A2")
    apply(engine, day, early, dark, thresholds=thresholds)
    by_account = {a.account_id: a.threshold_pct for a in stored(engine)}
    assert by_account == {"A1": Decimal("150.00"), "A2": None}

    later = (finding("60", PaceStatus.OVER), finding("-45", account_id="A3"))
    apply(engine, day + timedelta(1), *later, thresholds=thresholds)
    by_account = {a.account_id: a.threshold_pct for a in stored(engine)}
    assert by_account == {"A1": Decimal("25.50"), "A2": None, "A3": Decimal("40.00")}


def test_a_dark_alert_keeps_its_figures_up_to_date_too(engine: Engine) -> None:
    day = date(2026, 3, 10)
    apply(engine, day, finding("-10", PaceStatus.DARK, spend="1350"))
    apply(engine, day + timedelta(1), finding("-16", PaceStatus.DARK, spend="1350", plan="1600"))
    [alert] = stored(engine)
    assert (alert.deviation_pct, alert.plan_to_date, alert.last_seen_on) == (
        Decimal("-10.0"),  # a dark alert's deviation is the one it was raised with
        Decimal("1600.00"),
        day + timedelta(1),
    )


def test_under_alert_renotifies_when_more_negative(engine: Engine) -> None:
    day = date(2026, 3, 10)
    [(_, alert_id)] = apply(engine, day, finding("-35"))
    assert apply(engine, day + timedelta(1), finding("-44")) == []
    assert apply(engine, day + timedelta(2), finding("-45")) == [(ChangeKind.WORSENED, alert_id)]
    assert apply(engine, day + timedelta(3), finding("-16")) == []
    assert apply(engine, day + timedelta(4), finding("-14")) == [(ChangeKind.RESOLVED, alert_id)]


def test_running_the_same_date_twice_changes_nothing(engine: Engine) -> None:
    day = date(2026, 3, 10)
    apply(engine, day, finding("40"), finding("-50", account_id="A2"))
    before = ([a.model_dump() for a in stored(engine)], audit_count(engine))

    assert apply(engine, day, finding("40"), finding("-50", account_id="A2")) == []
    assert ([a.model_dump() for a in stored(engine)], audit_count(engine)) == before


def test_suppressed_alert_is_stored_then_opens_when_the_suppression_lifts(engine: Engine) -> None:
    day = date(2026, 3, 10)
    held = Suppression(code="offboarding", detail="Client C1 is offboarding")
    [(kind, alert_id)] = apply(engine, day, finding("45", suppressed=held))
    assert kind is ChangeKind.SUPPRESSED
    [alert] = stored(engine)
    assert (alert.state, alert.suppressed_code, alert.notifications) == (
        AlertState.SUPPRESSED,
        "offboarding",
        0,
    )

    assert apply(engine, day + timedelta(1), finding("46", suppressed=held)) == []
    assert apply(engine, day + timedelta(2), finding("47")) == [(ChangeKind.OPENED, alert_id)]
    [alert] = stored(engine)
    assert (alert.state, alert.suppressed_code, alert.notified_deviation_pct) == (
        AlertState.OPEN,
        None,
        Decimal("47.0"),
    )

    # And back: an open alert a cross-check now explains is held back again.
    assert apply(engine, day + timedelta(3), finding("48", suppressed=held)) == [
        (ChangeKind.SUPPRESSED, alert_id)
    ]


def test_dark_resolves_when_spend_resumes(engine: Engine) -> None:
    day = date(2026, 3, 10)
    [(_, alert_id)] = apply(engine, day, finding("-10", PaceStatus.DARK))
    assert stored(engine)[0].direction is AlertDirection.DARK
    assert apply(engine, day + timedelta(1), finding("-12", PaceStatus.DARK)) == []
    assert apply(engine, day + timedelta(2), finding("-9")) == [(ChangeKind.RESOLVED, alert_id)]
    assert stored(engine)[0].resolved_reason == "spend resumed"


def test_directions_are_separate_alerts_and_months_close(engine: Engine) -> None:
    apply(
        engine, date(2026, 3, 10), finding("-10", PaceStatus.DARK), finding("-40", account_id="A2")
    )
    assert len(stored(engine)) == 2

    changes = apply(engine, date(2026, 4, 5), finding("0", month="2026-04"))
    assert sorted(kind for kind, _ in changes) == [ChangeKind.RESOLVED, ChangeKind.RESOLVED]
    assert {a.resolved_reason for a in stored(engine)} == {"month ended"}


def test_an_earlier_date_never_rewinds_a_newer_alert(engine: Engine) -> None:
    apply(engine, date(2026, 3, 12), finding("40"))
    assert apply(engine, date(2026, 3, 11), finding("5")) == []
    assert apply(engine, date(2026, 3, 11), finding("60")) == []  # nor raises a second one
    [alert] = stored(engine)
    assert (alert.state, alert.deviation_pct) == (AlertState.OPEN, Decimal("40.0"))


def test_one_unresolved_alert_per_account_month_direction(engine: Engine) -> None:
    apply(engine, date(2026, 3, 10), finding("40"))
    duplicate = Alert(
        domain="ad_performance",
        account_id="A1",
        client_id="C1",
        month="2026-03",
        direction=AlertDirection.OVER,
        state=AlertState.OPEN,
        first_seen_on=date(2026, 3, 10),
        last_seen_on=date(2026, 3, 10),
        opened_at=NOW,
        updated_at=NOW,
    )
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(duplicate)


def test_lifecycle_changes_are_audited(engine: Engine) -> None:
    day = date(2026, 3, 10)
    apply(engine, day, finding("40"))
    apply(engine, day + timedelta(1), finding("0"))
    with reading(engine) as session:
        actions = [
            (e.actor, e.action, e.after["state"])
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
    assert actions == [
        ("agent:pacing", "alert.raise", "open"),
        ("agent:pacing", "alert.resolve", "resolved"),
    ]


def test_agents_run_from_data_to_alert(engine: Engine, manifest: AgencyManifest) -> None:
    """End to end through the store: import, evaluate, record, twice."""
    from switchboard.store import ownership

    with transaction(engine) as session:
        ownership.seed(session, {"ad_performance": ("pacing", "U0AM")}, now=NOW)
    b = AgencyBuilder().account("A1").budget("A1", "2026-03", "3100")
    b.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "150.00")  # +50%
    b.load(engine)

    first = run_pacing(engine, manifest, as_of=date(2026, 3, 16), now=NOW)
    second = run_pacing(engine, manifest, as_of=date(2026, 3, 16), now=NOW)

    assert [c.kind for c in first.changes] == [ChangeKind.OPENED]
    assert second.changes == []
    [alert] = stored(engine)
    assert (alert.account_id, alert.direction, alert.deviation_pct, alert.assignee) == (
        "A1",
        AlertDirection.OVER,
        Decimal("50.0"),
        "U0AM",
    )
    # 15 days of $150 against $3,100 a month: $1,500 planned, $4,650 at this rate.
    assert figures(alert) == (
        Decimal("2250.00"),
        Decimal("1500.00"),
        Decimal("3100.00"),
        Decimal("4650.00"),
        Decimal("30.00"),
    )


def test_the_posted_alert_and_its_worse_reply_carry_the_money_in_its_currency(
    engine: Engine, manifest: AgencyManifest
) -> None:
    """Through the store and the outbox: the post shows the alert's figures in the account's
    currency; a re-notify updates the post and says the new figures in its thread."""
    seed(engine, manifest, now=NOW)
    b = AgencyBuilder().account("A1", currency="EUR").budget("A1", "2026-03", "3100")
    b.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "150.00")  # +50%
    b.load(engine)
    run_pacing(engine, manifest, as_of=date(2026, 3, 16), now=NOW)
    AgencyBuilder().spend_each_day("A1", date(2026, 3, 16), date(2026, 3, 20), "400.00").load(
        engine
    )
    [change] = run_pacing(engine, manifest, as_of=date(2026, 3, 21), now=NOW).changes
    assert change.kind is ChangeKind.WORSENED

    with reading(engine) as session:
        sent = {
            m.key: json.dumps(m.payload, ensure_ascii=False)
            for m in session.scalars(select(OutboxMessage))
        }
    key = f"alert:{change.alert_id}"
    post, update, reply = sent[key], sent[f"{key}:notify:2"], sent[f"{key}:notify:2:reply"]
    for shown in ("€2,250.00", "€1,500.00", "€3,100.00", "€4,650.00", "over by 30% or more"):
        assert shown in post
    # Through the 20th: €4,250 spent against €2,000 planned, €6,587.50 at this rate.
    for shown in ("+112.5% vs plan", "€4,250.00", "€2,000.00", "€6,587.50"):
        assert shown in update
    assert "€2,250.00" not in update
    assert "is now +112.5% vs plan: €4,250.00 spent to date against a plan of €2,000.00." in reply
