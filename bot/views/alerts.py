"""Pacing alert messages: the channel post, its worsening reply, and the `/ops alerts` list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock

from switchboard.bot.views.limits import context, fit, section
from switchboard.handlers.context import AlertLabel, Message
from switchboard.handlers.refs import ActionId, AlertRef
from switchboard.store.alerts import Alert, AlertDirection, AlertState

_HEADLINE = {
    AlertDirection.OVER: ":large_red_square: Over-pacing",
    AlertDirection.UNDER: ":large_yellow_square: Under-pacing",
    AlertDirection.DARK: ":black_large_square: Dark (three days of zero spend)",
}


def _clock(moment: datetime | None, tz: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _deviation(alert: Alert) -> str:
    return "" if alert.deviation_pct is None else f"{alert.deviation_pct + 0:+.1f}% vs plan"


def _summary(alert: Alert, label: AlertLabel) -> str:
    parts = [
        f"{_HEADLINE[alert.direction]}: *{label.client_name}*, {label.account_name} "
        f"(`{alert.account_id}`)",
        f"{_deviation(alert)} · {alert.month} · assigned to <@{alert.assignee}>"
        if alert.assignee
        else f"{_deviation(alert)} · {alert.month}",
    ]
    return "\n".join(p for p in parts if p)


def _outcome(alert: Alert, tz: ZoneInfo) -> str:
    if alert.state is AlertState.ACKNOWLEDGED:
        when = _clock(alert.acknowledged_at, tz)
        return f":white_check_mark: Acknowledged by <@{alert.acknowledged_by}> at {when}"
    if alert.state is AlertState.RESOLVED:
        return (
            f":heavy_check_mark: Resolved {_clock(alert.resolved_at, tz)}: {alert.resolved_reason}"
        )
    if alert.state is AlertState.SUPPRESSED:
        return (
            f":zipper_mouth_face: Suppressed: {alert.suppressed_code} ({alert.suppressed_detail})"
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
    blocks: list[Block] = [section(_summary(alert, label))]
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
    text = f"{_HEADLINE[alert.direction]}: {label.client_name} {_deviation(alert)}"
    return Message(text=text.replace("*", ""), blocks=blocks)


def alert_worse(alert: Alert, label: AlertLabel) -> Message:
    """A thread reply on the original post: the alert is worse by the re-notify margin."""
    text = f"Worse: {label.client_name} ({alert.account_id}) is now {_deviation(alert)}."
    return Message(text=text, blocks=[section(f":arrow_heading_down: {text}")])


def alert_list(alerts: Sequence[tuple[Alert, AlertLabel]], tz: ZoneInfo) -> Message:
    """`/ops alerts`: open and acknowledged alerts, newest first, each with its buttons."""
    if not alerts:
        return Message(text="No open alerts.", blocks=[section(":sunny: No open alerts.")])
    head = [section(f"*Open alerts ({len(alerts)})*")]
    items = [[*_alert_blocks(alert, label, tz), DividerBlock()] for alert, label in alerts]
    blocks = fit(head, items, more="`switchboard alerts` lists them all.")
    return Message(text=f"{len(alerts)} open alert(s)", blocks=blocks)
