"""Pacing alert messages: the channel post, its worsening reply, and the `/ops alerts` list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock

from switchboard.handlers.refs import ActionId, AlertRef
from switchboard.handlers.views.limits import context, fit, section
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.text import escape, local_time, mention
from switchboard.store.alerts import Alert, AlertDirection, AlertState

_HEADLINE = {
    AlertDirection.OVER: ":large_red_square: Over-pacing",
    AlertDirection.UNDER: ":large_yellow_square: Under-pacing",
    AlertDirection.DARK: ":black_large_square: Dark (three days of zero spend)",
}


@dataclass(frozen=True)
class AlertLabel:
    """Names that make an alert readable, loaded beside it (outside data: escaped here)."""

    client_name: str
    account_name: str


def headline(alert: Alert) -> str:
    """`:large_red_square: Over-pacing` and the like: what kind of alert it is."""
    return _HEADLINE[alert.direction]


def _deviation(alert: Alert) -> str:
    return "" if alert.deviation_pct is None else f"{alert.deviation_pct + 0:+.1f}% vs plan"


def _summary(alert: Alert, label: AlertLabel) -> str:
    first = (
        f"{_HEADLINE[alert.direction]}: *{escape(label.client_name)}*, "
        f"{escape(label.account_name)} (`{escape(alert.account_id)}`)"
    )
    second = f"{_deviation(alert)} · {alert.month}"
    if alert.assignee:
        second += f" · assigned to {mention(alert.assignee)}"
    return f"{first}\n{second}"


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
    text = f"{_HEADLINE[alert.direction]}: {escape(label.client_name)} {_deviation(alert)}"
    return Message(text=text, blocks=blocks)


def alert_worse(alert: Alert, label: AlertLabel) -> Message:
    """A thread reply on the original post: the alert is worse by the re-notify margin."""
    text = (
        f"Worse: {escape(label.client_name)} ({escape(alert.account_id)}) "
        f"is now {_deviation(alert)}."
    )
    return Message(text=text, blocks=[section(f":arrow_heading_down: {text}")])


def alert_list(alerts: Sequence[tuple[Alert, AlertLabel]], tz: ZoneInfo) -> Message:
    """`/ops alerts`: open and acknowledged alerts, each with its buttons while open."""
    if not alerts:
        return Message(text="No open alerts.", blocks=[section(":sunny: No open alerts.")])
    head = [section(f"*Open alerts ({len(alerts)})*")]
    items = [[*_alert_blocks(alert, label, tz), DividerBlock()] for alert, label in alerts]
    blocks = fit(head, items, more="`switchboard alerts` lists them all.")
    return Message(text=f"{len(alerts)} open alert(s)", blocks=blocks)
