"""Who may do what: one declaration per action, checked on every click.

A rule lists roles from the agency manifest and relations to the object (its domain's
owner, that owner's lead, its assignee). The allow-list is computed from both; an empty
allow-list allows nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from switchboard.store.manifest import AgencyManifest, Role


class Relation(StrEnum):
    OWNER = "the domain owner"
    OWNER_LEAD = "the owner's lead"
    ASSIGNEE = "the assignee"


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


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def allowed_users(
    rule: Rule, manifest: AgencyManifest, *, owner: str | None = None, assignee: str | None = None
) -> set[str]:
    users: set[str] = set()
    for role in rule.roles:
        users |= manifest.with_role(role)
    related = {
        Relation.OWNER: owner,
        Relation.OWNER_LEAD: manifest.lead_of(owner) if owner else None,
        Relation.ASSIGNEE: assignee,
    }
    users |= {related[r] for r in rule.relations if related[r]}  # type: ignore[misc]
    return users


def check(
    rule: Rule,
    user: str,
    manifest: AgencyManifest,
    *,
    owner: str | None = None,
    assignee: str | None = None,
) -> Decision:
    if user in allowed_users(rule, manifest, owner=owner, assignee=assignee):
        return Decision(True)
    who = [r.value for r in sorted(rule.relations)] + [f"an {r.value}" for r in sorted(rule.roles)]
    return Decision(False, f"Only {_join(who)} can {rule.verb}.")


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
