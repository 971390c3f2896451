"""The structural gaps of an agency manifest, each with its pinned code, where it is, and
its fix (scored in `agents/coordination.py`).

The manifest is read leniently (`agents/lenient_manifest.py`), so a problem that is a gap is
found as that gap even where the strict manifest refuses the file, such as an owner not among
`people`, drafting above `supervised`, a money key under `pacing`, or an `escalation` naming
no policy.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from switchboard.agents.autonomy import DIAL, ceiling
from switchboard.agents.lenient_manifest import (
    LenientManifest,
    as_date,
    as_level,
    as_list,
    as_text,
)
from switchboard.store.agent_state import Autonomy
from switchboard.store.manifest import money_key, money_value
from switchboard.store.slack_ids import is_user_id

DRAFTING = "drafting"  # the agent that writes client email
# Agents that raise alerts, each of which must cross-check other sources before it does.
ALERTING = ("pacing",)
MIN_CROSS_CHECKS = 2
HUMAN_TARGETS = ("owner", "lead")  # policy levels that reach a person (besides a user id)


class GapCode(StrEnum):
    DOMAIN_NO_OWNER = "domain_no_owner"
    DOMAIN_NO_AGENT = "domain_no_agent"
    AGENT_OWNS_TWO = "agent_owns_two"
    AGENT_OWNS_NOTHING = "agent_owns_nothing"
    SINGLE_SOURCE_ALERTING = "single_source_alerting"
    POLICY_SINGLE_LEVEL = "policy_single_level"
    POLICY_NO_HUMAN = "policy_no_human"
    POLICY_MISSING = "policy_missing"
    UNPROMOTED_AGENT = "unpromoted_agent"
    EMAIL_UNAPPROVED = "email_unapproved"
    MONEY_THRESHOLD = "money_threshold"
    LEAD_MISSING = "lead_missing"


class Gap(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: GapCode
    path: str  # the manifest key path, like `escalation_policies.spend`
    message: str
    fix: str


Finder = Iterator[Gap]
Fix = tuple[str, str]  # a gap's message and its fix


def _naming(
    code: GapCode,
    path: str,
    value: Any,
    known: Collection[str],
    *,
    unset: Fix,
    unknown: Fix,
    several: str | None = None,
) -> Iterator[Gap]:
    """A key that must name one thing declared: a gap when it is unset, `unknown` when what
    it names is not there, and (with `several`, the plural) when it names a list of them."""
    if several and isinstance(value, list) and len(value) > 1:
        message = f"{path} names {len(value)} {several}: one seat, one owner"
        fix = f"keep one of {', '.join(map(str, value))} in {path}"
    elif as_text(value) is None:
        message, fix = unset
    elif value not in known:
        message, fix = unknown
    else:
        return
    yield Gap(code=code, path=path, message=message, fix=fix)


def _domain_no_owner(m: LenientManifest, _today: date) -> Finder:
    listed = m.slack_ids()
    for name, domain in m.domains.items():
        owner, path = domain.get("owner"), f"domains.{name}.owner"
        yield from _naming(
            GapCode.DOMAIN_NO_OWNER,
            path,
            owner,
            listed,
            several="owners",
            unset=(
                f"domain {name} has no human owner",
                f"set {path} to the Slack id of the person who answers for it",
            ),
            unknown=(
                f"domain {name}'s owner {owner} is not among people",
                f"add {owner} to people, or set {path} to a listed person",
            ),
        )


def _domain_no_agent(m: LenientManifest, _today: date) -> Finder:
    for name, domain in m.domains.items():
        agent, path = domain.get("agent"), f"domains.{name}.agent"
        yield from _naming(
            GapCode.DOMAIN_NO_AGENT,
            path,
            agent,
            m.agents,
            several="agents",
            unset=(
                f"domain {name} has no owning agent",
                f"set {path} to the one agent that owns its data",
            ),
            unknown=(
                f"domain {name} names agent {agent}, which is not under agents",
                f"add {agent} under agents, or set {path} to a listed agent",
            ),
        )


def _agent_owns_two(m: LenientManifest, _today: date) -> Finder:
    for agent in m.agents:
        owned = m.owned_by(agent)
        if len(owned) > 1:
            yield Gap(
                code=GapCode.AGENT_OWNS_TWO,
                path=f"agents.{agent}",
                message=f"agent {agent} owns {len(owned)} domains: {', '.join(owned)}",
                fix="give each domain its own agent (one seat, one owner): change the `agent` "
                f"of all but one of {', '.join(owned)}",
            )


def _agent_owns_nothing(m: LenientManifest, _today: date) -> Finder:
    for agent in m.agents:
        if not m.owned_by(agent):
            yield Gap(
                code=GapCode.AGENT_OWNS_NOTHING,
                path=f"agents.{agent}",
                message=f"agent {agent} owns no domain, so no person answers for its work",
                fix=f"name {agent} as the agent of the domain it works on, or remove it",
            )


def _single_source_alerting(m: LenientManifest, _today: date) -> Finder:
    for agent in ALERTING:
        if agent not in m.agents:
            continue
        checks = {c for c in as_list(m.agents[agent].get("cross_checks")) if as_text(c)}
        if len(checks) < MIN_CROSS_CHECKS:
            yield Gap(
                code=GapCode.SINGLE_SOURCE_ALERTING,
                path=f"agents.{agent}.cross_checks",
                message=f"agent {agent} raises alerts with {len(checks)} cross-check(s); "
                f"it needs at least {MIN_CROSS_CHECKS} other sources",
                fix=f"list at least {MIN_CROSS_CHECKS} cross_checks, such as client_status, "
                "exclusions, data_freshness",
            )


def _policy_single_level(m: LenientManifest, _today: date) -> Finder:
    for name, levels in m.policies.items():
        if len(levels) < 2:
            yield Gap(
                code=GapCode.POLICY_SINGLE_LEVEL,
                path=f"escalation_policies.{name}",
                message=f"escalation policy {name} has {len(levels)} level(s): nothing "
                "follows when nobody answers",
                fix="add a second level, such as {notify: lead, via: dm, after: 2h}",
            )


def _reaches_a_person(level: dict[str, Any]) -> bool:
    notify = level.get("notify")
    return notify in HUMAN_TARGETS or is_user_id(notify)


def _policy_no_human(m: LenientManifest, _today: date) -> Finder:
    for name, levels in m.policies.items():
        if not any(_reaches_a_person(level) for level in levels):
            yield Gap(
                code=GapCode.POLICY_NO_HUMAN,
                path=f"escalation_policies.{name}",
                message=f"escalation policy {name} reaches no person: no level notifies "
                "owner, lead or a person's Slack id",
                fix="add a level such as {notify: owner, via: dm, after: 0m}",
            )


def _policy_missing(m: LenientManifest, _today: date) -> Finder:
    for agent, spec in m.agents.items():
        policy, path = spec.get("escalation"), f"agents.{agent}.escalation"
        yield from _naming(
            GapCode.POLICY_MISSING,
            path,
            policy,
            m.policy_names,
            unset=(
                f"agent {agent} has no escalation policy: its alerts reach nobody",
                f"set {path} to a policy under escalation_policies",
            ),
            unknown=(
                f"agent {agent}'s escalation names {policy}, which is not under "
                "escalation_policies",
                f"add policy {policy} under escalation_policies, or name one that is there",
            ),
        )


def _unpromoted_agent(m: LenientManifest, today: date) -> Finder:
    acting = (Autonomy.SUPERVISED, Autonomy.AUTONOMOUS)
    for agent, spec in m.agents.items():
        level = as_level(spec.get("autonomy"))
        if level not in acting:
            continue
        since, path = as_date(spec.get("shadow_since")), f"agents.{agent}.autonomy"
        if since is None:
            yield Gap(
                code=GapCode.UNPROMOTED_AGENT,
                path=path,
                message=f"agent {agent} is {level} with no shadow_since: nothing shows it "
                "served its time in shadow",
                fix=f"set agents.{agent}.shadow_since to the day it entered shadow, or set "
                f"{path} to shadow",
            )
        elif (today - since).days < m.shadow_days:
            yield Gap(
                code=GapCode.UNPROMOTED_AGENT,
                path=path,
                message=f"agent {agent} is {level} after {max((today - since).days, 0)} days "
                f"in shadow (since {since}); shadow.min_days is {m.shadow_days}",
                fix=f"keep {path} at shadow until {since + timedelta(days=m.shadow_days)}, "
                "and promote it once the shadow thresholds are met",
            )


def _email_unapproved(m: LenientManifest, _today: date) -> Finder:
    if DRAFTING not in m.agents:
        return
    top, path = ceiling(DRAFTING), f"agents.{DRAFTING}.autonomy"
    level = as_level(m.agents[DRAFTING].get("autonomy"))
    if level in DIAL and DIAL.index(level) > DIAL.index(top):
        yield Gap(
            code=GapCode.EMAIL_UNAPPROVED,
            path=path,
            message=f"the {DRAFTING} agent is {level}: client email would go out without a "
            "person's approval",
            fix=f"set {path} to {top}: client email always needs a person's approval",
        )
    # `people` that is no list is the strict manifest's problem, not this gap at its path.
    if m.people_listed and not any("approver" in as_list(p.get("roles")) for p in m.people):
        yield Gap(
            code=GapCode.EMAIL_UNAPPROVED,
            path="people",
            message="nobody has the approver role: client email drafts can never be approved",
            fix="add approver to the roles of each person who may approve client email",
        )


def _money_threshold(m: LenientManifest, _today: date) -> Finder:
    for key, value in m.pacing.items():
        if money_key(key) or money_value(value):
            yield Gap(
                code=GapCode.MONEY_THRESHOLD,
                path=f"pacing.{key}",
                message=f"pacing threshold {key} is in money ({value!r}): one amount is noise "
                "on a big account and silence on a small one",
                fix="give thresholds as percentages of plan instead: over_pct, under_pct "
                "(30 means 30% off the planned pace)",
            )


def _lead_missing(m: LenientManifest, _today: date) -> Finder:
    listed = m.slack_ids()
    for i, person in enumerate(m.people):
        lead = as_text(person.get("lead"))
        if lead is not None and lead not in listed:
            yield Gap(
                code=GapCode.LEAD_MISSING,
                path=f"people.{i}.lead",
                message=f"{m.who(i)}'s lead {lead} is not among people",
                fix=f"add {lead} to people, or set people.{i}.lead to a listed person",
            )
    for domain, spec in m.domains.items():
        owner, policy = m.person_at(spec.get("owner")), m.policy_of(domain)
        if owner is None or policy is None or as_text(m.people[owner].get("lead")):
            continue
        name, levels = policy
        if any(level.get("notify") == "lead" for level in levels):
            yield Gap(
                code=GapCode.LEAD_MISSING,
                path=f"people.{owner}.lead",
                message=f"{m.who(owner)} owns {domain}, whose policy {name} notifies the "
                "owner's lead, but has no lead",
                fix=f"set people.{owner}.lead to the person they report to",
            )


# In the order of the codes' table (README, "Coordination check").
_FINDERS = (
    _domain_no_owner,
    _domain_no_agent,
    _agent_owns_two,
    _agent_owns_nothing,
    _single_source_alerting,
    _policy_single_level,
    _policy_no_human,
    _policy_missing,
    _unpromoted_agent,
    _email_unapproved,
    _money_threshold,
    _lead_missing,
)


def find_gaps(data: Any, *, now: datetime) -> list[Gap]:
    """Every gap in manifest data, in the codes' order, once per code and key path."""
    reading = LenientManifest(data)
    today = reading.today(now)
    found: dict[tuple[GapCode, str], Gap] = {}
    for finder in _FINDERS:
        for gap in finder(reading, today):
            found.setdefault((gap.code, gap.path), gap)
    return list(found.values())
