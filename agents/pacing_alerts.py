"""Turning a pacing report into stored alerts: raise, suppress, re-notify, resolve.

One unresolved alert per account, month and direction. People hear of an alert when it
opens (or a suppression lifts), and again only when it worsens by RENOTIFY_POINTS; it
resolves itself once the account is back inside half the threshold. Running the same
date twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlmodel import Session

from switchboard.agents.pacing import AccountPace, PaceStatus, PacingReport
from switchboard.store import alerts
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.manifest import Pacing

ACTOR = "agent:pacing"
RENOTIFY_POINTS = Decimal(10)
TENTH = Decimal("0.1")
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
DIRECTION = {
    PaceStatus.OVER: AlertDirection.OVER,
    PaceStatus.UNDER: AlertDirection.UNDER,
    PaceStatus.DARK: AlertDirection.DARK,
}


class ChangeKind(StrEnum):
    OPENED = "opened"  # people should hear of it now
    WORSENED = "worsened"  # worse by RENOTIFY_POINTS since people last heard
    SUPPRESSED = "suppressed"  # held back by a cross-check (recorded, not posted)
    RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertChange:
    kind: ChangeKind
    alert_id: int


def _tenth(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(TENTH, rounding=ROUND_HALF_UP)


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


def _threshold_pct(
    direction: AlertDirection, thresholds: Pacing, data_through: date
) -> Decimal | None:
    """The deviation from plan that makes an alert of this direction on this data date (DESIGN
    section 6): before `min_days`, only a pace of `early_alert_pct` alerts; dark has none."""
    if direction is AlertDirection.OVER:
        early = data_through.day < thresholds.min_days
        return thresholds.early_alert_pct - HUNDRED if early else thresholds.over_pct
    if direction is AlertDirection.UNDER:
        return thresholds.under_pct
    return None


def _figures(
    direction: AlertDirection, finding: AccountPace, thresholds: Pacing, data_through: date
) -> dict[str, Decimal | None]:
    """What the alert's message shows about the money, as of this evaluation."""
    return {
        "spend_to_date": _cents(finding.spend_to_date),
        "plan_to_date": _cents(finding.plan_to_date),
        "budget": _cents(finding.budget),
        "projected_month_end": _cents(finding.projected_month_end),
        "threshold_pct": _cents(_threshold_pct(direction, thresholds, data_through)),
    }


def _back_inside(alert: Alert, finding: AccountPace, thresholds: Pacing) -> str | None:
    """Why the alert may resolve, or None while it still stands."""
    deviation = finding.deviation_pct
    if alert.direction is AlertDirection.DARK:
        return None if finding.status is PaceStatus.DARK else "spend resumed"
    if deviation is None:
        return None
    if alert.direction is AlertDirection.OVER and deviation < thresholds.over_pct / 2:
        return f"back within {thresholds.over_pct / 2}% of plan"
    if alert.direction is AlertDirection.UNDER and deviation > -thresholds.under_pct / 2:
        return f"back within {thresholds.under_pct / 2}% of plan"
    return None


def _worsened(alert: Alert, deviation: Decimal | None) -> bool:
    notified = alert.notified_deviation_pct
    if deviation is None or notified is None:
        return False
    if alert.direction is AlertDirection.OVER:
        return deviation >= notified + RENOTIFY_POINTS
    if alert.direction is AlertDirection.UNDER:
        return deviation <= notified - RENOTIFY_POINTS
    return False


def record_findings(
    session: Session,
    report: PacingReport,
    *,
    thresholds: Pacing,
    domain: str,
    assignee: str,
    now: datetime,
) -> list[AlertChange]:
    """Apply one pacing run to the stored alerts, in the caller's transaction.

    New alerts belong to `domain` (the one the pacing agent owns in the manifest) and are
    assigned to `assignee` (that domain's owner).
    """
    changes: list[AlertChange] = []
    month = report.data_through.strftime("%Y-%m")
    findings = {a.account_id: a for a in report.accounts}
    standing: dict[tuple[str, AlertDirection], Alert] = {}
    newer: set[tuple[str, AlertDirection]] = set()

    for alert in alerts.listing(session):
        if alert.month < month:
            if alerts.resolve(session, alert, reason="month ended", actor=ACTOR, now=now):
                changes.append(AlertChange(ChangeKind.RESOLVED, alert.id))  # type: ignore[arg-type]
            continue
        if alert.month > month or alert.last_seen_on > report.as_of:
            # A run for an earlier date never rewinds a newer alert, nor raises a second one.
            newer.add((alert.account_id, alert.direction))
            continue
        finding = findings.get(alert.account_id)
        reason = _back_inside(alert, finding, thresholds) if finding else None
        if reason:
            if alerts.resolve(session, alert, reason=reason, actor=ACTOR, now=now):
                changes.append(AlertChange(ChangeKind.RESOLVED, alert.id))  # type: ignore[arg-type]
            continue
        standing[(alert.account_id, alert.direction)] = alert
        if finding:
            seen = _figures(alert.direction, finding, thresholds, report.data_through)
            if alert.direction is not AlertDirection.DARK:
                seen["deviation_pct"] = _tenth(finding.deviation_pct)
            changed = {k: v for k, v in seen.items() if getattr(alert, k) != v}
            if changed or alert.last_seen_on != report.as_of:
                for name, value in changed.items():
                    setattr(alert, name, value)
                alert.last_seen_on = report.as_of
                alert.updated_at = now

    for finding in report.accounts:
        direction = DIRECTION.get(finding.status)
        if direction is None or (finding.account_id, direction) in newer:
            continue
        alert = standing.get((finding.account_id, direction))
        change = (
            _raise(session, finding, direction, report, thresholds, domain, assignee, now)
            if alert is None
            else _update(session, alert, finding, now)
        )
        if change:
            changes.append(change)
    session.flush()
    return changes


def _raise(
    session: Session,
    finding: AccountPace,
    direction: AlertDirection,
    report: PacingReport,
    thresholds: Pacing,
    domain: str,
    assignee: str,
    now: datetime,
) -> AlertChange:
    deviation = _tenth(finding.deviation_pct)
    held = finding.suppressed
    figures = _figures(direction, finding, thresholds, report.data_through)
    alert = alerts.open_new(
        session,
        Alert(
            domain=domain,
            account_id=finding.account_id,
            client_id=finding.client_id,
            month=finding.month,
            direction=direction,
            state=AlertState.SUPPRESSED if held else AlertState.OPEN,
            deviation_pct=deviation,
            notified_deviation_pct=None if held else deviation,
            notifications=0 if held else 1,
            suppressed_code=held.code if held else None,
            suppressed_detail=held.detail if held else None,
            assignee=assignee,
            first_seen_on=report.as_of,
            last_seen_on=report.as_of,
            opened_at=now,
            updated_at=now,
            **figures,
        ),
        actor=ACTOR,
        now=now,
    )
    return AlertChange(ChangeKind.SUPPRESSED if held else ChangeKind.OPENED, alert.id)  # type: ignore[arg-type]


def _update(
    session: Session, alert: Alert, finding: AccountPace, now: datetime
) -> AlertChange | None:
    alert_id: int = alert.id  # type: ignore[assignment]
    held = finding.suppressed
    deviation = _tenth(finding.deviation_pct)
    if held:
        if alert.state is AlertState.OPEN:
            alerts.suppress(
                session, alert, code=held.code, detail=held.detail, actor=ACTOR, now=now
            )
            return AlertChange(ChangeKind.SUPPRESSED, alert_id)
        if alert.state is AlertState.SUPPRESSED and alert.suppressed_detail != held.detail:
            alert.suppressed_code, alert.suppressed_detail = held.code, held.detail
        return None
    if alert.state is AlertState.SUPPRESSED:
        alerts.unsuppress(session, alert, actor=ACTOR, now=now)
        session.refresh(alert)
        alert.notified_deviation_pct = deviation
        alert.notifications += 1
        return AlertChange(ChangeKind.OPENED, alert_id)
    if _worsened(alert, deviation):
        alert.notified_deviation_pct = deviation
        alert.notifications += 1
        alert.updated_at = now
        return AlertChange(ChangeKind.WORSENED, alert_id)
    return None
