"""Alert messages in the alerts channel, always rendered from the alert row as it is now.

Idempotency keys name the event (`alert:12` is the post, `alert:12:ack` its update after
the acknowledgement), so a retried run or a Slack retry never posts twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from switchboard.agents.autonomy import Output, OutputKind
from switchboard.agents.pacing import PacingReport
from switchboard.agents.pacing_alerts import DIRECTION, AlertChange, ChangeKind
from switchboard.handlers.escalation_posts import (
    close_for,
    describe_policy,
    open_escalation,
    policy_of,
)
from switchboard.handlers.shadow_posts import keep
from switchboard.handlers.views import alerts as views
from switchboard.handlers.views.alerts import AlertLabel
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.text import money
from switchboard.store import alerts
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.manifest import AgencyManifest
from switchboard.store.outbox import OutboxKind, enqueue, exists
from switchboard.store.source_data import AdAccount, Client

AGENT = "pacing"


def post_key(alert_id: int) -> str:
    return f"alert:{alert_id}"


def label(session: Session, alert: Alert) -> AlertLabel:
    names = session.execute(
        select(Client.name, AdAccount.name, AdAccount.currency)
        .join(Client, Client.client_id == AdAccount.client_id)
        .where(AdAccount.account_id == alert.account_id)
    ).first()
    if names is None:
        return AlertLabel(client_name=alert.client_id, account_name=alert.account_id)
    client_name, account_name, currency = names
    return AlertLabel(client_name=client_name, account_name=account_name, currency=currency)


def alert_listing(session: Session, manifest: AgencyManifest) -> Message:
    """`/ops alerts`: open and acknowledged alerts (suppressed ones are held back by design)."""
    rows = [
        (alert, label(session, alert))
        for alert in alerts.listing(session)
        if alert.state is not AlertState.SUPPRESSED
    ]
    return views.alert_list(rows, manifest.tz)


def refresh(
    session: Session,
    alert: Alert,
    *,
    event: str,
    manifest: AgencyManifest,
    now: datetime,
    names: AlertLabel | None = None,
) -> None:
    """Queue a re-render of the alert's channel post, if it was ever posted."""
    key = post_key(alert.id)  # type: ignore[arg-type]
    if not exists(session, key):
        return
    message = views.alert_message(alert, names or label(session, alert), manifest.tz)
    enqueue(
        session,
        key=f"{key}:{event}",
        kind=OutboxKind.UPDATE,
        channel=manifest.channels.alerts,
        payload=message.payload(),
        parent_key=key,
        # No agent: a person's acknowledgement shows even while the agent is paused (the
        # update still waits for its parent post, which is held).
        now=now,
    )


def escalation_context(alert: Alert, names: AlertLabel) -> dict[str, Any]:
    """What an alert's escalation messages say about it (raw text: the view escapes it)."""
    deviation = "" if alert.deviation_pct is None else f" {alert.deviation_pct + 0:+.1f}% vs plan"
    details = [f"{names.account_name} ({alert.account_id}), {alert.month}"]
    if alert.spend_to_date is not None and alert.plan_to_date is not None:
        # Currency codes are three capitals (checked at import): nothing here needs escaping.
        spend = money(alert.spend_to_date, names.currency)
        plan = money(alert.plan_to_date, names.currency)
        line = f"Spend to date {spend} against a plan of {plan}"
        if alert.budget is not None:
            line += f"; budget {money(alert.budget, names.currency)}"
        if alert.projected_month_end is not None:
            line += f", projected {money(alert.projected_month_end, names.currency)}"
        details.append(line)
    return {
        "headline": f"{views.headline(alert)}: {names.client_name}{deviation}",
        "details": details,
    }


def _follow_with_escalation(
    session: Session,
    alert: Alert,
    change: AlertChange,
    names: AlertLabel,
    *,
    manifest: AgencyManifest,
    now: datetime,
) -> None:
    """An alert that opens (or opens again) escalates; one that resolves or is held back stops."""
    subject = alert.subject
    if change.kind is ChangeKind.OPENED:
        domain = manifest.domains.get(alert.domain)
        if domain is not None:
            open_escalation(
                session,
                subject=subject,
                domain=alert.domain,
                agent=domain.agent,
                context=escalation_context(alert, names),
                manifest=manifest,
                now=now,
            )
    elif change.kind in (ChangeKind.RESOLVED, ChangeKind.SUPPRESSED):
        reason = (
            "the alert resolved" if change.kind is ChangeKind.RESOLVED else "the alert is held back"
        )
        close_for(
            session, subject, reason=reason, actor=f"agent:{AGENT}", manifest=manifest, now=now
        )


def publish_changes(
    session: Session,
    changes: Sequence[AlertChange],
    *,
    manifest: AgencyManifest,
    now: datetime,
) -> None:
    """Turn an agent run's alert changes into alerts-channel messages (suppressed: none), and
    open or close their escalations in the same transaction."""
    channel = manifest.channels.alerts
    for change in changes:
        alert = session.get_one(Alert, change.alert_id, populate_existing=True)
        key = post_key(change.alert_id)
        names = label(session, alert)
        _follow_with_escalation(session, alert, change, names, manifest=manifest, now=now)
        if change.kind is ChangeKind.OPENED and not exists(session, key):
            message = views.alert_message(alert, names, manifest.tz)
            enqueue(
                session,
                key=key,
                kind=OutboxKind.POST,
                channel=channel,
                payload=message.payload(),
                agent=AGENT,
                now=now,
            )
        elif change.kind in (ChangeKind.OPENED, ChangeKind.WORSENED):
            # Posted before (worse now, or open again after a suppression): update the post
            # and reply in its thread, so people are notified without a second post.
            event = f"notify:{alert.notifications}"
            refresh(session, alert, event=event, manifest=manifest, now=now, names=names)
            enqueue(
                session,
                key=f"{key}:{event}:reply",
                kind=OutboxKind.POST,
                channel=channel,
                payload=views.alert_worse(alert, names).payload(),
                parent_key=key,
                agent=AGENT,
                now=now,
            )
        else:  # resolved or suppressed: the post shows the new state
            event = f"{change.kind.value}:{alert.updated_at.isoformat()}"
            refresh(session, alert, event=event, manifest=manifest, now=now, names=names)


_WOULD_ALERT = {
    AlertDirection.OVER: "an over-pacing alert",
    AlertDirection.UNDER: "an under-pacing alert",
    AlertDirection.DARK: "a dark-account alert (three days of zero spend)",
}


def publish_shadow(
    session: Session,
    report: PacingReport,
    *,
    manifest: AgencyManifest,
    owner: str,
    now: datetime,
) -> int:
    """A shadow run: each alert it would have raised, and each escalation it would have
    started, as a "Would have ..." post; no alert row, no message to anyone else.

    One output per account, month and kind of alert, however often the agent runs; returns
    how many are new.
    """
    owner_name = manifest.name_of(owner)
    policy = policy_of(manifest, AGENT)
    kept = 0
    for finding in report.accounts:
        direction = DIRECTION.get(finding.status)
        if direction is None or not finding.alert:
            continue  # on track, or held back by a cross-check: nobody would be told
        client = session.get(Client, finding.client_id)
        account = session.get(AdAccount, finding.account_id)
        about = (
            f"{client.name if client else finding.client_id}, "
            f"{account.name if account else finding.account_id} ({finding.account_id})"
        )
        deviation = (
            "" if finding.deviation_pct is None else f"{finding.deviation_pct + 0:+.1f}% vs plan"
        )
        currency = account.currency if account else None
        why = (
            f"{deviation or direction.value}, spend to date "
            f"{money(finding.spend_to_date, currency)} against a plan of "
            f"{money(finding.plan_to_date, currency)} ({finding.month})"
        )
        event = f"{finding.account_id}:{finding.month}:{direction.value}"
        outputs = [
            Output(
                agent=AGENT,
                kind=OutputKind.ALERT,
                key=f"alert:{event}",
                what=f"posted {_WOULD_ALERT[direction]} for {about}",
                for_whom=f"the alerts channel, assigned to {owner_name}",
                why=why,
            )
        ]
        if policy is not None:
            outputs.append(
                Output(
                    agent=AGENT,
                    kind=OutputKind.ESCALATION,
                    key=f"escalation:{event}",
                    what=f"escalated the alert for {about} under the {policy} policy",
                    for_whom=describe_policy(manifest, policy, owner_name),
                    why=why,
                )
            )
        kept += sum(keep(session, output, manifest=manifest, now=now) for output in outputs)
    return kept
