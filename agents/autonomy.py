"""The autonomy gate and the dial: what an agent's output does at each level, and how a
level may change.

Every agent output that would reach a person (an alert message, an escalation, a draft for
approval) passes `route` first:

- `shadow`: it goes to the shadow channel as "Would have ...", for people to agree or
  disagree with; nothing reaches anyone else;
- `supervised`: the normal path, a person acknowledges or approves;
- `autonomous`: the agent acts and it is logged (an agent with nothing of its own to act on,
  as today's, behaves as supervised);
- `paused`: nothing runs; what it had queued is held (see `store.agent_state.not_held`).

Summaries (the briefing) are not gated: they show a shadow agent's findings, marked.

The dial: shadow → supervised → autonomous, one step at a time. Leaving shadow needs the
manifest's `shadow` thresholds met; reaching autonomous needs a reason; the drafting agent
never goes above supervised (client email always needs a person's approval).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel
from sqlmodel import Session

from switchboard.store import agent_state, shadow
from switchboard.store.agent_state import AgentState, Autonomy
from switchboard.store.manifest import AgencyManifest, Shadow
from switchboard.store.shadow import ShadowRecord

DIAL = (Autonomy.SHADOW, Autonomy.SUPERVISED, Autonomy.AUTONOMOUS)
# Agents whose actions always need a person: their ceiling on the dial.
CEILING = {"drafting": Autonomy.SUPERVISED}


class Route(StrEnum):
    ACT = "act"  # the normal path
    SHADOW = "shadow"  # "Would have ...", in the shadow channel only
    HOLD = "hold"  # paused: nothing happens


def route(level: Autonomy | None) -> Route:
    """What an output does at `level` (None: not an agent the store knows, e.g. a person's)."""
    if level is Autonomy.SHADOW:
        return Route.SHADOW
    if level is Autonomy.PAUSED:
        return Route.HOLD
    return Route.ACT


class OutputKind(StrEnum):
    ALERT = "alert"
    ESCALATION = "escalation"
    DRAFT = "draft"
    MESSAGE = "message"


@dataclass(frozen=True)
class Output:
    """One thing an agent would do for people: what, for whom, why (plain text)."""

    agent: str
    kind: OutputKind
    key: str  # names the event, so the same output is kept once
    what: str
    for_whom: str
    why: str
    detail: str | None = None  # the text it would have sent, where there is one


class DialError(ValueError):
    """The level cannot change that way; the message says why, with the numbers."""


def ceiling(agent: str) -> Autonomy:
    return CEILING.get(agent, Autonomy.AUTONOMOUS)


def step_up(agent: str, level: Autonomy, *, reason: str | None) -> Autonomy:
    """The level `promote` moves to from `level`, or DialError."""
    if level is Autonomy.PAUSED:
        raise DialError(f"{agent} is paused: resume it first")
    if level is ceiling(agent):
        if agent in CEILING:
            raise DialError(
                f"{agent} can never be above {level.value}: client email always needs a "
                "person's approval"
            )
        raise DialError(f"{agent} is already {level.value}, the top of the dial")
    up = DIAL[DIAL.index(level) + 1]
    if up is Autonomy.AUTONOMOUS and not (reason or "").strip():
        raise DialError(
            f"say why {agent} may act on its own: /ops promote {agent} REASON, or --reason "
            "from the command line (it is recorded)"
        )
    return up


def step_down(agent: str, level: Autonomy) -> Autonomy:
    if level is Autonomy.PAUSED:
        raise DialError(f"{agent} is paused: resume it first")
    if level is Autonomy.SHADOW:
        raise DialError(f"{agent} is already in shadow, the bottom of the dial")
    return DIAL[DIAL.index(level) - 1]


def days_in_shadow(since: date | None, today: date) -> int | None:
    return None if since is None else max((today - since).days, 0)


def shadow_shortfall(
    record: ShadowRecord, *, since: date | None, today: date, thresholds: Shadow
) -> list[str]:
    """Why the agent may not leave shadow yet (empty: it may), each with its numbers."""
    missing = []
    days = days_in_shadow(since, today) or 0
    if days < thresholds.min_days:
        missing.append(f"{days} of {thresholds.min_days} days in shadow")
    if record.reviewed < thresholds.min_reviewed:
        missing.append(f"{record.reviewed} of {thresholds.min_reviewed} outputs reviewed")
    agreement = record.agreement_pct
    if agreement is None or agreement < thresholds.min_agreement_pct:
        shown = "no verdicts yet" if agreement is None else f"{_pct(agreement)} agreement"
        missing.append(f"{shown}, {_pct(thresholds.min_agreement_pct)} needed")
    return missing


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


class AgentStatus(BaseModel):
    """One agent as `switchboard agents list --json` and `/ops agents` show it."""

    name: str
    level: Autonomy
    domain: str | None
    shadow_since: date | None
    days_in_shadow: int | None
    outputs: int  # shadow outputs since shadow_since
    reviewed: int
    agreement_pct: Decimal | None
    paused_from: Autonomy | None


def shadow_record(session: Session, state: AgentState, manifest: AgencyManifest) -> ShadowRecord:
    """The agent's shadow outputs and verdicts since it last entered shadow (agency time)."""
    since = state.shadow_since
    start = None if since is None else datetime.combine(since, time(0), tzinfo=manifest.tz)
    return shadow.record_since(session, state.name, start)


def promotion(
    session: Session,
    state: AgentState,
    manifest: AgencyManifest,
    *,
    today: date,
    reason: str | None,
) -> Autonomy:
    """The level `promote` moves `state` to, or DialError saying why not, with the numbers."""
    up = step_up(state.name, state.autonomy, reason=reason)
    if state.autonomy is Autonomy.SHADOW:
        missing = shadow_shortfall(
            shadow_record(session, state, manifest),
            since=state.shadow_since,
            today=today,
            thresholds=manifest.shadow,
        )
        if missing:
            raise DialError(f"{state.name} has " + "; ".join(missing))
    return up


def statuses(session: Session, manifest: AgencyManifest, *, today: date) -> list[AgentStatus]:
    """Every agent the store knows, with its shadow record since it last entered shadow."""
    found = []
    for state in agent_state.everyone(session):
        since = state.shadow_since
        record = shadow_record(session, state, manifest)
        found.append(
            AgentStatus(
                name=state.name,
                level=state.autonomy,
                domain=manifest.domain_of(state.name),
                shadow_since=since,
                days_in_shadow=days_in_shadow(since, today),
                outputs=record.outputs,
                reviewed=record.reviewed,
                agreement_pct=record.agreement_pct,
                paused_from=state.paused_from,
            )
        )
    return found
