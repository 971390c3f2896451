"""Domain ownership: `/ops reassign`, the Reassign button on `/ops owners`, and its modal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field
from slack_bolt import App

from switchboard.handlers.commands import Command, Origin
from switchboard.handlers.deps import Deps
from switchboard.handlers.modals import PersonPicker, register_person_picker
from switchboard.handlers.ops import Subcommand, UsageError, parse_person
from switchboard.handlers.permissions import REASSIGN_OWNER, check
from switchboard.handlers.refs import ActionId, CallbackId, DomainRef
from switchboard.handlers.views.text import escape, mention
from switchboard.handlers.work import Reply, Work, WorkContext, refuse, registry, say
from switchboard.store import ownership
from switchboard.store.engine import reading
from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner


class ReassignDomain(Command):
    kind: ClassVar[str] = "owner.reassign"
    domain: str = Field(min_length=1, max_length=64)
    to: str


def reassign_domain(ctx: WorkContext, command: ReassignDomain) -> list[Reply]:
    """Authorize, then hand the domain to `to` (compare-and-set, audited).

    Changes are dated when they were asked (Slack's time), so requests apply in the order
    people made them: a change asked for after this one wins, and a late or replayed
    request never undoes it.
    """
    domain, to, by = command.domain, command.to, command.origin.user
    asked_at = command.origin.asked_at
    if ctx.manifest.person(to) is None:
        return refuse(f"{mention(to)} is not in the agency manifest, so cannot own a domain.")
    row = ctx.session.get(DomainOwner, domain)
    if row is None:
        return refuse(f"There is no domain '{escape(domain)}'.")
    decision = check(REASSIGN_OWNER, by, ctx.manifest, owner=row.owner)
    if not decision.allowed:
        return refuse(decision.reason)
    if row.owner == to:
        return refuse(f"{mention(to)} already owns {domain}.")
    if row.updated_at > asked_at:
        return refuse(
            f"{domain} was reassigned to {mention(row.owner)} by {mention(row.updated_by)} "
            "after you asked; nothing changed."
        )
    before = row.owner
    won = ownership.reassign(ctx.session, domain, expected_owner=before, to=to, by=by, now=asked_at)
    if not won:
        return refuse(f"{domain} was reassigned by someone else just now; nothing changed.")
    return say(f"{domain} is now owned by {mention(to)} (was {mention(before)}).")


WORK = registry(Work(ReassignDomain, reassign_domain))


def _reassign(args: Sequence[str], manifest: AgencyManifest, origin: Origin) -> Command:
    if len(args) != 2:
        raise UsageError("`/ops reassign DOMAIN @user`: name one domain and one person")
    domain = args[0].lower()
    if domain not in manifest.domains:
        known = ", ".join(sorted(manifest.domains))
        raise UsageError(f"'{args[0][:60]}' is not a domain (domains: {known})")
    return ReassignDomain(origin=origin, domain=domain, to=parse_person(args[1], manifest))


SUBCOMMANDS = (
    Subcommand(
        "reassign DOMAIN @user",
        "hand a domain to another person (admins, or its owner)",
        _reassign,
    ),
)


def _prepare_reassign(deps: Deps, ref: DomainRef, origin: Origin) -> tuple[str, str | None] | str:
    with reading(deps.engine) as session:
        row = session.get(DomainOwner, ref.domain)
    if row is None:
        return f"There is no domain '{escape(ref.domain)}'."
    decision = check(REASSIGN_OWNER, origin.user, deps.manifest, owner=row.owner)
    if not decision.allowed:
        return decision.reason
    return f"New owner of {ref.domain}", row.owner


REASSIGN_PICKER = PersonPicker(
    action_id=ActionId.OWNER_REASSIGN,
    callback_id=CallbackId.OWNER_REASSIGN,
    ref_type=DomainRef,
    title="Reassign domain",
    done_title="Domain reassigned",
    prepare=_prepare_reassign,
    command=lambda origin, ref, to: ReassignDomain(origin=origin, domain=ref.domain, to=to),
)


def register(app: App, deps: Deps) -> None:
    register_person_picker(app, deps, REASSIGN_PICKER)
