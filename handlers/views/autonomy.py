"""Autonomy in Slack: a shadow agent's "Would have ..." message with Agree / Disagree, the
note modal for a Disagree, and `/ops agents`."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock
from slack_sdk.models.views import View

from switchboard.agents.autonomy import AgentStatus
from switchboard.handlers.refs import NOTE_BLOCK, ActionId, CallbackId, ShadowRef
from switchboard.handlers.views.limits import clip, context, fit, section
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.modals import form_modal, text_input
from switchboard.handlers.views.text import escape, local_time, mention
from switchboard.store.agent_state import Autonomy
from switchboard.store.shadow import ShadowOutput, ShadowReview, ShadowVerdict

DETAIL = 1500  # characters of a would-be message shown
_LEVEL_ICON = {
    Autonomy.SHADOW: ":ghost:",
    Autonomy.SUPERVISED: ":eyes:",
    Autonomy.AUTONOMOUS: ":robot_face:",
    Autonomy.PAUSED: ":double_vertical_bar:",
}


def shadow_message(output: ShadowOutput, reviews: Sequence[ShadowReview], tz: ZoneInfo) -> Message:
    """The shadow channel's post for one output; re-rendered after each verdict."""
    agent = escape(output.agent)
    blocks: list[Block] = [
        section(f":ghost: *{agent}* (shadow) would have {escape(output.what)}"),
        context(f"For: {escape(output.for_whom)} · Why: {escape(output.why)}"),
    ]
    if output.detail:
        quoted = "\n".join(f">{escape(line)}" for line in clip(output.detail, DETAIL).splitlines())
        blocks.append(section(quoted or ">"))
    for review in reviews:
        icon = ":+1:" if review.verdict is ShadowVerdict.AGREE else ":-1:"
        note = f": {escape(review.note)}" if review.note else ""
        blocks.append(context(f"{icon} {mention(review.reviewer)} {review.verdict.value}s{note}"))
    ref = ShadowRef(output_id=output.id).encode()  # type: ignore[arg-type]
    blocks.append(
        ActionsBlock(
            block_id=f"shadow-{output.id}",
            elements=[
                ButtonElement(
                    text="Agree", action_id=ActionId.SHADOW_AGREE, value=ref, style="primary"
                ),
                ButtonElement(text="Disagree", action_id=ActionId.SHADOW_DISAGREE, value=ref),
            ],
        )
    )
    blocks.append(
        context(
            f"Shadow output #{output.id} · {local_time(output.created_at, tz)} · nobody else "
            "was told: agree if that was the right call"
        )
    )
    return Message(text=f"{agent} (shadow) would have {escape(output.what)}", blocks=blocks)


def disagree_modal(output: ShadowOutput) -> View:
    return form_modal(
        callback_id=CallbackId.SHADOW_DISAGREE,
        title="Disagree",
        submit="Disagree",
        metadata=ShadowRef(output_id=output.id).encode(),  # type: ignore[arg-type]
        intro=[section(f"*{escape(output.agent)}* would have {escape(output.what)}")],
        inputs=[
            text_input(
                NOTE_BLOCK, "What should it have done? (optional)", optional=True, max_length=1000
            )
        ],
    )


def _status_line(status: AgentStatus) -> str:
    icon = _LEVEL_ICON.get(status.level, "")
    line = f"{icon} *{escape(status.name)}* · {status.level.value}"
    if status.paused_from is not None:
        line += f" (from {status.paused_from.value})"
    if status.domain:
        line += f" · owns `{escape(status.domain)}`"
    if status.level is Autonomy.SHADOW or status.outputs:
        agreement = "no verdicts" if status.agreement_pct is None else f"{status.agreement_pct}%"
        days = "?" if status.days_in_shadow is None else status.days_in_shadow
        line += (
            f"\n{days} days in shadow · {status.outputs} outputs, {status.reviewed} reviewed, "
            f"agreement {agreement}"
        )
    return line


def agents_list(statuses: Sequence[AgentStatus]) -> Message:
    """`/ops agents`: each agent's level, domain and shadow record."""
    if not statuses:
        return Message(text="No agents.", blocks=[section("No agents in the manifest.")])
    head = [section(f"*Agents ({len(statuses)})*")]
    items = [[section(_status_line(status)), DividerBlock()] for status in statuses]
    return Message(
        text=f"{len(statuses)} agents",
        blocks=fit(head, items, more="`switchboard agents list` lists them all."),
    )
