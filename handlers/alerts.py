"""Alert buttons: Acknowledge and Reassign (with its modal)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from switchboard.handlers import ops
from switchboard.handlers.alert_posts import refresh
from switchboard.handlers.context import Deps
from switchboard.handlers.deferred import Deferred, Request
from switchboard.handlers.interaction import (
    ack_now,
    clicked,
    open_picker,
    picked_person,
    refuse_in_modal,
    tell,
)
from switchboard.handlers.permissions import ACK_ALERT, REASSIGN_ALERT, check
from switchboard.handlers.refs import ActionId, AlertRef, CallbackId
from switchboard.store import alerts
from switchboard.store.alerts import Alert, AlertState
from switchboard.store.engine import reading, transaction
from switchboard.store.ownership import DomainOwner


@dataclass(frozen=True)
class Reply:
    text: str
    changed: bool = False


def _owner(session: Any, alert: Alert) -> str | None:
    row = session.get(DomainOwner, alert.domain)
    return row.owner if row else None


def _when(deps: Deps, alert: Alert) -> str:
    moment = alert.acknowledged_at or alert.updated_at
    return moment.astimezone(deps.tz).strftime("%H:%M on %Y-%m-%d")


def acknowledge(deps: Deps, alert_id: int, user: str) -> Reply:
    """Authorize from the manifest and the stored owner, then compare-and-set open → acked."""
    now = deps.clock()
    with transaction(deps.engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            return Reply("That alert no longer exists.")
        decision = check(ACK_ALERT, user, deps.manifest, owner=_owner(session, alert))
        if not decision.allowed:
            return Reply(decision.reason)
        outcome = alerts.acknowledge(session, alert_id, by=user, now=now)
        if outcome.won:
            refresh(
                session,
                outcome.alert,
                event="ack",
                views=deps.views,
                manifest=deps.manifest,
                now=now,
            )
    current = outcome.alert
    if outcome.won:
        deps.kick_outbox()
        return Reply(f"You acknowledged alert #{alert_id}.", changed=True)
    if current.state is AlertState.ACKNOWLEDGED:
        return Reply(
            f"Already acknowledged by <@{current.acknowledged_by}> at {_when(deps, current)}."
        )
    return Reply(f"Alert #{alert_id} is {current.state.value}; there is nothing to acknowledge.")


def reassign(deps: Deps, alert_id: int, to: str, user: str) -> Reply:
    now = deps.clock()
    if deps.manifest.person(to) is None:
        return Reply(f"<@{to}> is not in the agency manifest.")
    with transaction(deps.engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.state is AlertState.RESOLVED:
            return Reply("That alert is resolved or gone; nothing to reassign.")
        decision = check(REASSIGN_ALERT, user, deps.manifest, assignee=alert.assignee)
        if not decision.allowed:
            return Reply(decision.reason)
        before = alert.assignee
        outcome = alerts.reassign(
            session, alert_id, expected_assignee=before, to=to, by=user, now=now
        )
        if outcome.won:
            refresh(
                session,
                outcome.alert,
                event=f"assign:{to}:{now.isoformat()}",
                views=deps.views,
                manifest=deps.manifest,
                now=now,
            )
    if not outcome.won:
        return Reply(f"Alert #{alert_id} was reassigned by someone else just now; nothing changed.")
    deps.kick_outbox()
    return Reply(f"Alert #{alert_id} is now assigned to <@{to}> (was <@{before}>).", changed=True)


def register(app: App, deps: Deps, deferred: Deferred) -> None:
    def on_ack(request: Request, respond: Respond) -> None:
        body = request.body
        if not (ref := clicked(body, AlertRef, respond)):
            return
        reply = acknowledge(deps, ref.alert_id, body["user"]["id"])
        if reply.changed and body.get("container", {}).get("is_ephemeral"):
            # Clicked in the `/ops alerts` list: Slack cannot chat.update an ephemeral
            # message, but its response_url can replace it with the list as it is now.
            listing = ops.alert_listing(deps)
            respond(response_type="ephemeral", replace_original=True, **listing.payload())
        tell(respond, reply.text)

    def on_reassign(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        if not (ref := clicked(body, AlertRef, respond)):
            return
        with reading(deps.engine) as session:
            alert = session.get(Alert, ref.alert_id)
        if alert is None:
            tell(respond, "That alert no longer exists.")
            return
        decision = check(REASSIGN_ALERT, body["user"]["id"], deps.manifest, assignee=alert.assignee)
        if not decision.allowed:
            tell(respond, decision.reason)
            return
        open_picker(
            client,
            body,
            deps.views,
            callback_id=CallbackId.ALERT_REASSIGN,
            title="Reassign alert",
            prompt=f"Who should handle alert #{alert.id} ({alert.account_id})?",
            ref=ref,
            current=alert.assignee,
        )

    deferred.action(ActionId.ALERT_ACK, on_ack)
    # Opening a modal cannot wait in the worker's queue: its trigger_id lasts 3 seconds.
    app.action(ActionId.ALERT_REASSIGN)(ack=ack_now, lazy=[on_reassign])

    @app.view(CallbackId.ALERT_REASSIGN)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # A modal's answer is its ack (errors or the next view), so this one runs inline.
        if not (picked := picked_person(view, AlertRef, ack)):
            return
        ref, to = picked
        reply = reassign(deps, ref.alert_id, to, body["user"]["id"])
        if not reply.changed:
            refuse_in_modal(ack, reply.text)
            return
        ack(response_action="update", view=deps.views.notice_modal("Alert reassigned", reply.text))
