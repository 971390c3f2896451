"""Alert buttons: Acknowledge (applied by the worker) and Reassign (a modal, applied at once)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from slack_bolt import App

from switchboard.handlers.alert_posts import alert_listing, refresh
from switchboard.handlers.clicks import in_list, queued_click
from switchboard.handlers.commands import Command, Origin
from switchboard.handlers.deps import Deps
from switchboard.handlers.escalation_posts import acknowledge_for
from switchboard.handlers.modals import PersonPicker, register_person_picker
from switchboard.handlers.permissions import ACK_ALERT, REASSIGN_ALERT, check
from switchboard.handlers.refs import ActionId, AlertRef, CallbackId
from switchboard.handlers.views.text import local_time, mention
from switchboard.handlers.work import Reply, Work, WorkContext, refuse, registry, say
from switchboard.store import alerts
from switchboard.store.alerts import Alert, AlertState
from switchboard.store.engine import reading
from switchboard.store.ownership import DomainOwner


class AckAlert(Command):
    kind: ClassVar[str] = "alert.ack"
    alert_id: int = Field(ge=1)
    in_list: bool = False  # clicked in the ephemeral `/ops alerts` list


class ReassignAlert(Command):
    kind: ClassVar[str] = "alert.reassign"
    alert_id: int = Field(ge=1)
    to: str


def _owner(ctx: WorkContext, alert: Alert) -> str | None:
    row = ctx.session.get(DomainOwner, alert.domain)
    return row.owner if row else None


def acknowledge(ctx: WorkContext, command: AckAlert) -> list[Reply]:
    """Authorize from the manifest and the stored owner, then compare-and-set open → acked."""
    user, alert_id = command.origin.user, command.alert_id
    alert = ctx.session.get(Alert, alert_id)
    if alert is None:
        return refuse("That alert no longer exists.")
    decision = check(ACK_ALERT, user, ctx.manifest, owner=_owner(ctx, alert))
    if not decision.allowed:
        return refuse(decision.reason)
    outcome = alerts.acknowledge(ctx.session, alert_id, by=user, now=command.origin.asked_at)
    current = outcome.alert
    if not outcome.won:
        if current.state is AlertState.ACKNOWLEDGED:
            when = local_time(current.acknowledged_at, ctx.tz)
            return refuse(f"Already acknowledged by {mention(current.acknowledged_by)} at {when}.")
        return refuse(
            f"Alert #{alert_id} is {current.state.value}; there is nothing to acknowledge."
        )
    refresh(ctx.session, current, event="ack", manifest=ctx.manifest, now=ctx.now)
    # The alert's escalation stops with it: one transaction, an audit row each.
    acknowledge_for(ctx.session, current.subject, by=user, manifest=ctx.manifest, now=ctx.now)
    replies = say(f"You acknowledged alert #{alert_id}.")
    if command.in_list:
        # Slack cannot chat.update an ephemeral message, but its response_url can replace
        # the list with the list as it is now.
        replies.insert(0, Reply(alert_listing(ctx.session, ctx.manifest), replace_original=True))
    return replies


def reassign(ctx: WorkContext, command: ReassignAlert) -> list[Reply]:
    alert_id, to, user = command.alert_id, command.to, command.origin.user
    if ctx.manifest.person(to) is None:
        return refuse(f"{mention(to)} is not in the agency manifest.")
    alert = ctx.session.get(Alert, alert_id)
    if alert is None or alert.state is AlertState.RESOLVED:
        return refuse("That alert is resolved or gone; nothing to reassign.")
    decision = check(REASSIGN_ALERT, user, ctx.manifest, assignee=alert.assignee)
    if not decision.allowed:
        return refuse(decision.reason)
    before = alert.assignee
    outcome = alerts.reassign(
        ctx.session, alert_id, expected_assignee=before, to=to, by=user, now=ctx.now
    )
    if not outcome.won:
        return refuse(
            f"Alert #{alert_id} was reassigned by someone else just now; nothing changed."
        )
    event = f"assign:{to}:{ctx.now.isoformat()}"
    refresh(ctx.session, outcome.alert, event=event, manifest=ctx.manifest, now=ctx.now)
    return say(f"Alert #{alert_id} is now assigned to {mention(to)} (was {mention(before)}).")


WORK = registry(Work(AckAlert, acknowledge), Work(ReassignAlert, reassign))


def _prepare_reassign(deps: Deps, ref: AlertRef, origin: Origin) -> tuple[str, str | None] | str:
    with reading(deps.engine) as session:
        alert = session.get(Alert, ref.alert_id)
    if alert is None:
        return "That alert no longer exists."
    decision = check(REASSIGN_ALERT, origin.user, deps.manifest, assignee=alert.assignee)
    if not decision.allowed:
        return decision.reason
    return f"Who should handle alert #{alert.id} ({alert.account_id})?", alert.assignee


REASSIGN_PICKER = PersonPicker(
    action_id=ActionId.ALERT_REASSIGN,
    callback_id=CallbackId.ALERT_REASSIGN,
    ref_type=AlertRef,
    title="Reassign alert",
    done_title="Alert reassigned",
    prepare=_prepare_reassign,
    command=lambda origin, ref, to: ReassignAlert(origin=origin, alert_id=ref.alert_id, to=to),
)


def register(app: App, deps: Deps) -> None:
    app.action(ActionId.ALERT_ACK)(
        queued_click(
            deps,
            AlertRef,
            lambda origin, ref, body: AckAlert(
                origin=origin, alert_id=ref.alert_id, in_list=in_list(body)
            ),
        )
    )
    register_person_picker(app, deps, REASSIGN_PICKER)
