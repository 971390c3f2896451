"""Who may do what: one declaration per action, checked on every click.

A rule lists roles from the agency manifest and relations to the object (its domain's
owner, that owner's lead, its assignee). The allow-list is computed from both; an empty
allow-list allows nobody.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from switchboard.store.manifest import AgencyManifest, Role


class Relation(StrEnum):
    OWNER = "the domain owner"
    OWNER_LEAD = "the owner's lead"
    ASSIGNEE = "the assignee"
    NOTIFIED = "someone it has notified"
    CLIENT_OWNER = "the client's owner"


@dataclass(frozen=True)
class Rule:
    verb: str  # for the refusal message: "acknowledge this alert"
    roles: frozenset[Role] = frozenset()
    relations: frozenset[Relation] = frozenset()


ACK_ALERT = Rule(
    "acknowledge this alert",
    frozenset({Role.ADMIN}),
    frozenset({Relation.OWNER, Relation.OWNER_LEAD}),
)
REASSIGN_ALERT = Rule(
    "reassign this alert", frozenset({Role.ADMIN}), frozenset({Relation.ASSIGNEE})
)
REASSIGN_OWNER = Rule("reassign this domain", frozenset({Role.ADMIN}), frozenset({Relation.OWNER}))
DECIDE_DRAFT = Rule("decide on client email", frozenset({Role.APPROVER}))
TAKE_MESSAGE = Rule(
    "hand a client's message to the drafting agent",
    frozenset({Role.ADMIN, Role.APPROVER}),
    frozenset({Relation.CLIENT_OWNER}),
)
ACK_ESCALATION = Rule(
    "acknowledge this escalation",
    frozenset({Role.ADMIN}),
    frozenset({Relation.NOTIFIED, Relation.ASSIGNEE, Relation.OWNER, Relation.OWNER_LEAD}),
)

CHANGE_LEVEL = Rule("change an agent's autonomy", frozenset({Role.ADMIN}))
POST_BRIEFING = Rule("post the briefing", frozenset({Role.ADMIN}))
REVIEW_SHADOW = Rule(
    "review this agent's output",
    frozenset({Role.ADMIN, Role.APPROVER, Role.LEAD}),
    frozenset({Relation.OWNER}),
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def allowed_users(
    rule: Rule,
    manifest: AgencyManifest,
    *,
    owner: str | None = None,
    assignee: str | None = None,
    notified: Collection[str] = (),
    client_owner: str | None = None,
) -> set[str]:
    users: set[str] = set()
    for role in rule.roles:
        users |= manifest.with_role(role)
    related: dict[Relation, set[str]] = {
        Relation.OWNER: {owner} if owner else set(),
        Relation.OWNER_LEAD: {lead} if owner and (lead := manifest.lead_of(owner)) else set(),
        Relation.ASSIGNEE: {assignee} if assignee else set(),
        Relation.NOTIFIED: set(notified),
        Relation.CLIENT_OWNER: {client_owner} if client_owner else set(),
    }
    for relation in rule.relations:
        users |= related[relation]
    return users


def check(
    rule: Rule,
    user: str,
    manifest: AgencyManifest,
    *,
    owner: str | None = None,
    assignee: str | None = None,
    notified: Collection[str] = (),
    client_owner: str | None = None,
) -> Decision:
    allowed = allowed_users(
        rule,
        manifest,
        owner=owner,
        assignee=assignee,
        notified=notified,
        client_owner=client_owner,
    )
    if user in allowed:
        return Decision(True)
    who = [r.value for r in sorted(rule.relations)] + [f"an {r.value}" for r in sorted(rule.roles)]
    return Decision(False, f"Only {_join(who)} can {rule.verb}.")


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
