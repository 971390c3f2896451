"""Domain ownership: `/ops reassign`, the Reassign button and its modal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from switchboard.handlers.context import Deps
from switchboard.handlers.deferred import Deferred
from switchboard.handlers.interaction import (
    ack_now,
    clicked,
    open_picker,
    picked_person,
    refuse_in_modal,
    tell,
)
from switchboard.handlers.permissions import REASSIGN_OWNER, check
from switchboard.handlers.refs import ActionId, CallbackId, DomainRef
from switchboard.store import ownership
from switchboard.store.engine import reading, transaction
from switchboard.store.ownership import DomainOwner


@dataclass(frozen=True)
class Outcome:
    done: bool
    text: str  # what to tell the person who asked


def reassign_domain(
    deps: Deps, domain: str, to: str, *, by: str, asked_at: datetime | None = None
) -> Outcome:
    """Authorize, then hand `domain` to `to` (compare-and-set, audited).

    `asked_at`: when the person asked, for a queued command. Changes are dated when they were
    asked, so requests apply in the order people made them: a change asked for after this
    one wins, and a late or replayed request never undoes it.
    """
    if deps.manifest.person(to) is None:
        return Outcome(False, f"<@{to}> is not in the agency manifest, so cannot own a domain.")
    with transaction(deps.engine) as session:
        row = session.get(DomainOwner, domain)
        if row is None:
            return Outcome(False, f"There is no domain '{domain}'.")
        decision = check(REASSIGN_OWNER, by, deps.manifest, owner=row.owner)
        if not decision.allowed:
            return Outcome(False, decision.reason)
        if row.owner == to:
            return Outcome(False, f"<@{to}> already owns {domain}.")
        if asked_at is not None and row.updated_at > asked_at:
            return Outcome(
                False,
                f"{domain} was reassigned to <@{row.owner}> by <@{row.updated_by}> after you "
                "asked; nothing changed.",
            )
        before = row.owner
        asked = asked_at if asked_at is not None else deps.clock()
        won = ownership.reassign(session, domain, expected_owner=before, to=to, by=by, now=asked)
    if not won:
        return Outcome(False, f"{domain} was reassigned by someone else just now; nothing changed.")
    return Outcome(True, f"{domain} is now owned by <@{to}> (was <@{before}>).")


def register(app: App, deps: Deps, _deferred: Deferred) -> None:
    def open_modal(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        if not (ref := clicked(body, DomainRef, respond)):
            return
        with reading(deps.engine) as session:
            row = session.get(DomainOwner, ref.domain)
        if row is None:
            tell(respond, f"There is no domain '{ref.domain}'.")
            return
        decision = check(REASSIGN_OWNER, body["user"]["id"], deps.manifest, owner=row.owner)
        if not decision.allowed:
            tell(respond, decision.reason)
            return
        open_picker(
            client,
            body,
            deps.views,
            callback_id=CallbackId.OWNER_REASSIGN,
            title="Reassign domain",
            prompt=f"New owner of {ref.domain}",
            ref=ref,
            current=row.owner,
        )

    # Opens a modal, so it runs here, not in the worker: its trigger_id lasts 3 seconds.
    app.action(ActionId.OWNER_REASSIGN)(ack=ack_now, lazy=[open_modal])

    @app.view(CallbackId.OWNER_REASSIGN)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        if not (picked := picked_person(view, DomainRef, ack)):
            return
        ref, to = picked
        outcome = reassign_domain(deps, ref.domain, to, by=body["user"]["id"])
        if not outcome.done:
            refuse_in_modal(ack, outcome.text)
            return
        ack(
            response_action="update",
            view=deps.views.notice_modal("Domain reassigned", outcome.text),
        )
