"""Pacing alert messages: the channel post, its worsening reply, and the `/ops alerts` list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    SectionBlock,
)

from switchboard.agents.pacing import DARK_DAYS
from switchboard.handlers.refs import ActionId, AlertRef
from switchboard.handlers.views.limits import context, fit, section
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.text import escape, local_time, mention, money
from switchboard.store.alerts import Alert, AlertDirection, AlertState

_HEADLINE = {
    AlertDirection.OVER: ":large_red_square: Over-pacing",
    AlertDirection.UNDER: ":large_yellow_square: Under-pacing",
    AlertDirection.DARK: ":black_large_square: Dark (three days of zero spend)",
}


@dataclass(frozen=True)
class AlertLabel:
    """Names that make an alert readable, loaded beside it (outside data: escaped here), and
    the currency of the account's money (its ISO code; None when the account is unknown)."""

    client_name: str
    account_name: str
    currency: str | None = None


def headline(alert: Alert) -> str:
    """`:large_red_square: Over-pacing` and the like: what kind of alert it is."""
    return _HEADLINE[alert.direction]


def _deviation(alert: Alert) -> str:
    return "" if alert.deviation_pct is None else f"{alert.deviation_pct + 0:+.1f}% vs plan"


def _threshold(alert: Alert) -> str:
    """The line the alert crossed: `threshold: over by 30% or more`, `... zero spend for 3 days`."""
    if alert.direction is AlertDirection.DARK:
        return f"threshold: zero spend for {DARK_DAYS} days"
    if alert.threshold_pct is None:  # stored before thresholds were kept, not seen since
        return ""
    way = "over" if alert.direction is AlertDirection.OVER else "under"
    return f"threshold: {way} by {alert.threshold_pct.normalize():f}% or more"


def _figures(alert: Alert, label: AlertLabel) -> list[str]:
    """Spend, plan, budget and projection as section fields (two columns in Slack)."""
    figures = [
        ("Spend to date", alert.spend_to_date),
        ("Plan to date", alert.plan_to_date),
        ("Budget", alert.budget),
        ("Projected month-end", alert.projected_month_end),
    ]
    return [
        f"*{name}*\n{money(amount, label.currency)}"
        for name, amount in figures
        if amount is not None
    ]


def _summary(alert: Alert, label: AlertLabel) -> SectionBlock:
    first = (
        f"{_HEADLINE[alert.direction]}: *{escape(label.client_name)}*, "
        f"{escape(label.account_name)} (`{escape(alert.account_id)}`)"
    )
    owner = f"assigned to {mention(alert.assignee)}" if alert.assignee else ""
    second = " · ".join(p for p in (_deviation(alert), _threshold(alert), alert.month, owner) if p)
    return section(f"{first}\n{second}", _figures(alert, label))


def _outcome(alert: Alert, tz: ZoneInfo) -> str:
    if alert.state is AlertState.ACKNOWLEDGED:
        when = local_time(alert.acknowledged_at, tz)
        return f":white_check_mark: Acknowledged by {mention(alert.acknowledged_by)} at {when}"
    if alert.state is AlertState.RESOLVED:
        when = local_time(alert.resolved_at, tz)
        return f":heavy_check_mark: Resolved {when}: {escape(alert.resolved_reason)}"
    if alert.state is AlertState.SUPPRESSED:
        return (
            f":zipper_mouth_face: Suppressed: {escape(alert.suppressed_code)} "
            f"({escape(alert.suppressed_detail)})"
        )
    return ""


def _buttons(alert: Alert) -> ActionsBlock:
    ref = AlertRef(alert_id=alert.id).encode()  # type: ignore[arg-type]
    return ActionsBlock(
        block_id=f"alert-{alert.id}",
        elements=[
            ButtonElement(
                text="Acknowledge", action_id=ActionId.ALERT_ACK, value=ref, style="primary"
            ),
            ButtonElement(text="Reassign", action_id=ActionId.ALERT_REASSIGN, value=ref),
        ],
    )


def _alert_blocks(alert: Alert, label: AlertLabel, tz: ZoneInfo) -> list[Block]:
    blocks: list[Block] = [_summary(alert, label)]
    outcome = _outcome(alert, tz)
    if outcome:
        blocks.append(context(outcome))
    if alert.state is AlertState.OPEN:
        blocks.append(_buttons(alert))
    return blocks


def alert_message(alert: Alert, label: AlertLabel, tz: ZoneInfo) -> Message:
    """The alerts-channel post, re-rendered from the row after every change."""
    blocks = _alert_blocks(alert, label, tz)
    blocks.append(context(f"Pacing agent · alert #{alert.id} · first seen {alert.first_seen_on}"))
    text = f"{_HEADLINE[alert.direction]}: {escape(label.client_name)} {_deviation(alert)}"
    return Message(text=text, blocks=blocks)


def alert_worse(alert: Alert, label: AlertLabel) -> Message:
    """A thread reply on the original post: the alert is worse by the re-notify margin."""
    who = f"{escape(label.client_name)} ({escape(alert.account_id)})"
    text = f"Worse: {who} is now {_deviation(alert)}"
    if alert.spend_to_date is not None and alert.plan_to_date is not None:
        spend, plan = (money(v, label.currency) for v in (alert.spend_to_date, alert.plan_to_date))
        text += f": {spend} spent to date against a plan of {plan}"
    text += "."
    return Message(text=text, blocks=[section(f":arrow_heading_down: {text}")])


def alert_list(alerts: Sequence[tuple[Alert, AlertLabel]], tz: ZoneInfo) -> Message:
    """`/ops alerts`: open and acknowledged alerts, each with its buttons while open."""
    if not alerts:
        return Message(text="No open alerts.", blocks=[section(":sunny: No open alerts.")])
    head = [section(f"*Open alerts ({len(alerts)})*")]
    items = [[*_alert_blocks(alert, label, tz), DividerBlock()] for alert, label in alerts]
    blocks = fit(head, items, more="`switchboard alerts` lists them all.")
    return Message(text=f"{len(alerts)} open alert(s)", blocks=blocks)
