"""The Acknowledge button on every escalation message, and `/ops escalations`.

Acknowledging an escalation acknowledges its alert, and the other way round (see
`handlers/alerts.py`), in one transaction with one audit row each; every message of both
is re-rendered without its buttons, showing who and when.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from slack_bolt import App

from switchboard.handlers.alert_posts import refresh
from switchboard.handlers.clicks import in_list, queued_click
from switchboard.handlers.commands import Command
from switchboard.handlers.deps import Deps
from switchboard.handlers.escalation_posts import rerender
from switchboard.handlers.ops import Subcommand, no_arguments
from switchboard.handlers.permissions import ACK_ESCALATION, check
from switchboard.handlers.refs import ActionId, EscalationRef
from switchboard.handlers.views import escalations as views
from switchboard.handlers.views.text import local_time, mention
from switchboard.handlers.work import Reply, Work, WorkContext, refuse, registry, say
from switchboard.store import alerts, escalations
from switchboard.store.alerts import Alert
from switchboard.store.escalations import Escalation, EscalationStatus
from switchboard.store.ownership import DomainOwner


class AckEscalation(Command):
    kind: ClassVar[str] = "escalation.ack"
    escalation_id: int = Field(ge=1)
    in_list: bool = False  # clicked in the ephemeral `/ops escalations` list


class ListEscalations(Command):
    kind: ClassVar[str] = "ops.escalations"


def _alert(ctx: WorkContext, escalation: Escalation) -> Alert | None:
    kind, _, ref = escalation.subject.partition(":")
    return ctx.session.get(Alert, int(ref)) if kind == "alert" and ref.isdigit() else None


def listing(ctx: WorkContext) -> Reply:
    rows = [
        (escalation, escalations.steps(ctx.session, escalation.id))  # type: ignore[arg-type]
        for escalation in escalations.listing(ctx.session)
    ]
    return Reply(views.escalation_list(rows, tz=ctx.tz, now=ctx.now))


def acknowledge(ctx: WorkContext, command: AckEscalation) -> list[Reply]:
    user, when = command.origin.user, command.origin.asked_at
    escalation = ctx.session.get(Escalation, command.escalation_id)
    if escalation is None:
        return refuse("That escalation no longer exists.")
    alert = _alert(ctx, escalation)
    domain_owner = ctx.session.get(DomainOwner, escalation.domain)
    notified = {s.person for s in escalations.steps(ctx.session, escalation.id) if s.person}  # type: ignore[arg-type]
    decision = check(
        ACK_ESCALATION,
        user,
        ctx.manifest,
        owner=domain_owner.owner if domain_owner else None,
        assignee=alert.assignee if alert else None,
        notified=notified,
    )
    if not decision.allowed:
        return refuse(decision.reason)
    if not escalations.acknowledge(ctx.session, escalation.id, by=user, now=when):  # type: ignore[arg-type]
        ctx.session.refresh(escalation)
        if escalation.status is EscalationStatus.ACKNOWLEDGED:
            at = local_time(escalation.acknowledged_at, ctx.tz)
            return refuse(f"Already acknowledged by {mention(escalation.acknowledged_by)} at {at}.")
        return refuse(f"Escalation #{escalation.id} is {escalation.status.value}; nothing to do.")
    ctx.session.refresh(escalation)
    rerender(ctx.session, escalation, manifest=ctx.manifest, now=ctx.now, event="ack")
    if alert is not None:
        outcome = alerts.acknowledge(ctx.session, alert.id, by=user, now=when)  # type: ignore[arg-type]
        if outcome.won:
            refresh(ctx.session, outcome.alert, event="ack", manifest=ctx.manifest, now=ctx.now)
    replies = say(f"You acknowledged escalation #{escalation.id}; nothing more will be sent.")
    if command.in_list:
        replies.insert(0, Reply(listing(ctx).message, replace_original=True))
    return replies


def list_escalations(ctx: WorkContext, _command: ListEscalations) -> list[Reply]:
    return [listing(ctx)]


WORK = registry(Work(AckEscalation, acknowledge), Work(ListEscalations, list_escalations))
SUBCOMMANDS = (
    Subcommand(
        "escalations",
        "open escalations: age, level, who was told last, the next step; with Acknowledge",
        no_arguments(ListEscalations),
    ),
)


def register(app: App, deps: Deps) -> None:
    app.action(ActionId.ESCALATION_ACK)(
        queued_click(
            deps,
            EscalationRef,
            lambda origin, ref, body: AckEscalation(
                origin=origin, escalation_id=ref.escalation_id, in_list=in_list(body)
            ),
        )
    )
