"""Escalation messages: each step's DM or channel post, the `/ops escalations` list, and the
notes to the alerts channel (a late step, an exhausted escalation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock

from switchboard.agents.durations import age
from switchboard.handlers.refs import ActionId, DraftRef, EscalationRef
from switchboard.handlers.views.limits import context, fit, section
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.text import escape, local_time, mention
from switchboard.store.escalations import Escalation, EscalationStatus, EscalationStep, Via

_WHY = {
    "owner": "as its owner",
    "lead": "as {owner}'s lead",
}


@dataclass(frozen=True)
class StepView:
    """What one step's message is about: its level, how it was sent, who it is for."""

    level: int
    via: Via
    notify: str  # the policy's word
    person: str | None  # the person reached, or mentioned in the channel
    owner: str | None


def _headline(escalation: Escalation) -> str:
    return escape(escalation.context.get("headline") or escalation.subject)


def _details(escalation: Escalation) -> list[str]:
    return [escape(line) for line in escalation.context.get("details", [])]


def _outcome(escalation: Escalation, tz: ZoneInfo) -> str:
    if escalation.status is EscalationStatus.ACKNOWLEDGED:
        when = local_time(escalation.acknowledged_at, tz)
        return f":white_check_mark: Acknowledged by {mention(escalation.acknowledged_by)} at {when}"
    if escalation.status is EscalationStatus.RESOLVED:
        when = local_time(escalation.closed_at, tz)
        return f":heavy_check_mark: Resolved at {when}: nothing left to do"
    if escalation.status is EscalationStatus.EXHAUSTED:
        return ":warning: Every level has been notified and nobody has acknowledged it"
    return ""


def _button(escalation: Escalation) -> ActionsBlock:
    elements = [
        ButtonElement(
            text="Acknowledge",
            action_id=ActionId.ESCALATION_ACK,
            value=EscalationRef(escalation_id=escalation.id).encode(),  # type: ignore[arg-type]
            style="primary",
        )
    ]
    redraft = escalation.context.get("redraft")  # an expired draft's escalation
    if isinstance(redraft, int):
        elements.append(
            ButtonElement(
                text="Redraft",
                action_id=ActionId.DRAFT_REDRAFT,
                value=DraftRef(draft_id=redraft).encode(),
            )
        )
    return ActionsBlock(block_id=f"escalation-{escalation.id}", elements=elements)


def _why(step: StepView) -> str:
    if step.via is Via.CHANNEL:
        return f"{mention(step.owner)}, this needs you" if step.owner else "this needs an owner"
    template = _WHY.get(step.notify, "as named in the escalation policy")
    return f"Sent to you {template.format(owner=mention(step.owner))}"


def step_message(escalation: Escalation, step: StepView, *, tz: ZoneInfo, now: datetime) -> Message:
    """A step's DM or channel post; re-rendered from the row after every change."""
    opened = local_time(escalation.created_at, tz)
    active = escalation.status in (EscalationStatus.OPEN, EscalationStatus.EXHAUSTED)
    since = (
        f"Open since {opened} ({age(escalation.created_at, now)}), nobody has acknowledged it."
        if active
        else f"Opened {opened}."
    )
    lines = [
        f":rotating_light: *Escalation* · {_headline(escalation)}",
        *_details(escalation),
        f"{since} Level {step.level} of {escalation.levels}: {_why(step)}.",
    ]
    blocks: list[Block] = [section("\n".join(lines))]
    outcome = _outcome(escalation, tz)
    if outcome:
        blocks.append(context(outcome))
    if escalation.status in (EscalationStatus.OPEN, EscalationStatus.EXHAUSTED):
        blocks.append(_button(escalation))
    blocks.append(
        context(f"Escalation #{escalation.id} · policy `{escape(escalation.policy_name)}`")
    )
    text = f"Escalation (level {step.level} of {escalation.levels}): {_headline(escalation)}"
    if step.via is Via.CHANNEL and step.owner:
        text = f"{mention(step.owner)} {text}"  # the mention notifies them
    return Message(text=text, blocks=blocks)


def _last(steps: Sequence[EscalationStep]) -> str:
    if not steps:
        return "not yet sent"
    last = steps[-1]
    where = mention(last.target) if last.via is Via.DM else f"<#{last.target}>"
    return f"level {last.level}: {where if last.target else 'nobody'} ({last.state.value})"


def escalation_list(
    rows: Sequence[tuple[Escalation, Sequence[EscalationStep]]], *, tz: ZoneInfo, now: datetime
) -> Message:
    """`/ops escalations`: open (and exhausted) escalations, each with Acknowledge."""
    if not rows:
        return Message(
            text="No open escalations.", blocks=[section(":sunny: No open escalations.")]
        )
    head = [section(f"*Open escalations ({len(rows)})*")]
    items = []
    for escalation, steps in rows:
        next_step = (
            local_time(escalation.next_step_at, tz) if escalation.next_step_at else "waiting"
        )
        lines = (
            f"*#{escalation.id}* {_headline(escalation)}\n"
            f"open {age(escalation.created_at, now)} · level {escalation.level} of "
            f"{escalation.levels} · last {_last(steps)} · next step {next_step}"
        )
        item: list[Block] = [section(lines)]
        outcome = _outcome(escalation, tz)
        if outcome:
            item.append(context(outcome))
        item += [_button(escalation), DividerBlock()]
        items.append(item)
    blocks = fit(head, items, more="`switchboard escalations` lists them all.")
    return Message(text=f"{len(rows)} open escalation(s)", blocks=blocks)


def late_notice(
    escalation: Escalation, level: int, due: datetime, *, tz: ZoneInfo, now: datetime
) -> Message:
    text = (
        f":alarm_clock: Escalation #{escalation.id} ({_headline(escalation)}): level {level} was "
        f"due at {local_time(due, tz)} and is {age(due, now)} late. It runs now."
    )
    return Message(text=text, blocks=[section(text)])


def undelivered_notice(
    escalation: Escalation, step: EscalationStep, *, tz: ZoneInfo, now: datetime
) -> Message:
    text = (
        f":alarm_clock: Escalation #{escalation.id} ({_headline(escalation)}): level "
        f"{step.level} was queued at {local_time(step.queued_at, tz)} and Slack has not taken "
        f"it after {age(step.queued_at, now)}. It stays queued; see `/healthz`."
    )
    return Message(text=text, blocks=[section(text)])


def exhausted_notice(escalation: Escalation, *, tz: ZoneInfo, now: datetime) -> Message:
    text = (
        f":warning: Escalation #{escalation.id} ({_headline(escalation)}) is exhausted: all "
        f"{escalation.levels} levels were notified since {local_time(escalation.created_at, tz)} "
        "and nobody has acknowledged it. It can still be acknowledged."
    )
    return Message(text=text, blocks=[section(text), _button(escalation)])
