"""Escalation messages in Slack: opening an escalation, sending a step, re-rendering what was
sent after a change, closing one. Always rendered from the rows as they are now.

Keys: a step's message is `escalation:12:level:2`; its re-render after an event is that key
plus the event (`:ack`, `:resolved`), so nothing is sent twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from switchboard.agents.autonomy import Output, OutputKind
from switchboard.agents.escalation_policy import (
    BusinessCalendar,
    Target,
    due_after,
    level_spec,
    owner_of,
)
from switchboard.handlers.shadow_posts import gate
from switchboard.handlers.views import escalations as views
from switchboard.handlers.views.escalations import StepView
from switchboard.store import escalations
from switchboard.store.escalations import Escalation, EscalationStep, StepState, Via, step_key
from switchboard.store.manifest import NEXT_BUSINESS_DAY, AgencyManifest
from switchboard.store.outbox import OutboxKind, enqueue
from switchboard.store.ownership import DomainOwner


def policy_of(manifest: AgencyManifest, agent: str) -> str | None:
    spec = manifest.agents.get(agent)
    return spec.escalation if spec else None


def open_escalation(
    session: Session,
    *,
    subject: str,
    domain: str,
    agent: str,
    context: dict[str, Any],
    manifest: AgencyManifest,
    now: datetime,
) -> Escalation | None:
    """Open an escalation for `subject` under the policy `agent` names in the manifest.

    None when the agent names no policy, the subject already has an active escalation, or
    the agent may not act (in shadow it is a "Would have ..." post instead; see
    `shadow_posts.gate`). The policy is copied: a manifest edited later changes nothing
    running.
    """
    name = policy_of(manifest, agent)
    if name is None:
        return None
    would = Output(
        agent=agent,
        kind=OutputKind.ESCALATION,
        key=f"escalation:{subject}",
        what=f"escalated: {context.get('headline') or subject}",
        for_whom=describe_policy(manifest, name, _owner_name(session, domain, manifest)),
        why="; ".join(str(line) for line in context.get("details", [])) or subject,
    )
    if not gate(session, would, manifest=manifest, now=now):
        return None
    policy = [level.model_dump() for level in manifest.escalation_policies[name]]
    return _open(session, subject, domain, name, policy, context, f"agent:{agent}", manifest, now)


# The circuit breaker's own policy: the owner at once, day or night. It is not the agent's
# (the agent is paused, and its policy may be the very thing that is broken).
BREAKER_POLICY = "circuit-breaker"
_BREAKER_LEVELS = [{"notify": "owner", "via": "dm", "after": "0m", "anytime": True}]


def open_breaker_escalation(
    session: Session,
    *,
    agent: str,
    domain: str,
    failures: int,
    error: str,
    manifest: AgencyManifest,
    now: datetime,
) -> Escalation | None:
    """Tell the domain's owner that `agent` was paused after failing `failures` runs in a row.

    Not gated: the agent is paused, and this is the system speaking, not the agent.
    """
    context = {
        "headline": f"{agent} was paused after {failures} failed runs in a row",
        "details": [f"Last error: {error}", f"Resume it with /ops resume {agent} once fixed."],
    }
    return _open(
        session,
        f"agent:{agent}",
        domain,
        BREAKER_POLICY,
        _BREAKER_LEVELS,
        context,
        "circuit-breaker",
        manifest,
        now,
    )


def _open(
    session: Session,
    subject: str,
    domain: str,
    policy_name: str,
    policy: list[dict[str, Any]],
    context: dict[str, Any],
    actor: str,
    manifest: AgencyManifest,
    now: datetime,
) -> Escalation | None:
    first = due_after(level_spec(policy, 1), now, BusinessCalendar.of(manifest))
    return escalations.open_new(
        session,
        subject=subject,
        domain=domain,
        policy_name=policy_name,
        policy=policy,
        context=context,
        first_step_at=first,
        actor=actor,
        now=now,
    )


def _owner_name(session: Session, domain: str, manifest: AgencyManifest) -> str | None:
    row = session.get(DomainOwner, domain)
    return manifest.name_of(row.owner) if row else None


def describe_policy(manifest: AgencyManifest, name: str, owner: str | None) -> str:
    """A policy's levels in words: `Ana by DM at once, then Ana's lead by DM after 2h, ...`."""
    who = owner or "the owner"
    parts = []
    for level in manifest.escalation_policies.get(name, []):
        if level.channel is not None:
            target = f"#{level.channel}"
        elif level.notify == "owner":
            target = f"{who} by DM"
        elif level.notify == "lead":
            target = f"{who}'s lead by DM"
        else:
            target = f"{manifest.name_of(level.notify)} by DM"
        when = "at once" if level.after in ("0m", "0s", "0h", "0d") else f"after {level.after}"
        if level.after == NEXT_BUSINESS_DAY:
            when = "the next business day"
        parts.append(f"{target} {when}")
    return f"{', then '.join(parts)} (policy {name})" if parts else f"policy {name}"


def _view(step: EscalationStep, owner: str | None) -> StepView:
    return StepView(step.level, step.via, step.notify, step.person, owner)


def send_step(
    session: Session,
    escalation: Escalation,
    level: int,
    target: Target,
    *,
    owner: str | None,
    manifest: AgencyManifest,
    now: datetime,
) -> EscalationStep:
    """Record level `level`'s step and, unless it resolved to nobody, queue its message."""
    spec = level_spec(escalation.policy, level)
    # The message's key is in the step's INSERT: set after the flush, it would cost each
    # step an UPDATE of its own (bench/README.md, escalations).
    key = step_key(escalation.id, level) if target.address is not None else None  # type: ignore[arg-type]
    step = EscalationStep(
        escalation_id=escalation.id,  # type: ignore[arg-type]
        level=level,
        notify=spec.notify,
        via=target.via,
        target=target.address,
        person=target.person,
        state=StepState.QUEUED if target.address else StepState.FAILED,
        outbox_key=key,
        queued_at=now,
        error=target.problem,
    )
    session.add(step)
    session.flush()  # the unique (escalation, level) key: a second sender fails here
    if key is None:
        return step
    view = StepView(level, target.via, spec.notify, target.person, owner)
    message = views.step_message(escalation, view, tz=manifest.tz, now=now)
    enqueue(
        session,
        key=key,
        kind=OutboxKind.DM if target.via is Via.DM else OutboxKind.POST,
        channel=target.address,
        payload=message.payload(),
        now=now,
    )
    return step


def rerender(
    session: Session, escalation: Escalation, *, manifest: AgencyManifest, now: datetime, event: str
) -> None:
    """Queue an update of every message the escalation sent, showing its state now."""
    owner = owner_of(session, escalation, manifest)
    for step in escalations.steps(session, escalation.id):  # type: ignore[arg-type]
        if step.outbox_key is None:
            continue
        message = views.step_message(escalation, _view(step, owner), tz=manifest.tz, now=now)
        enqueue(
            session,
            key=f"{step.outbox_key}:{event}",
            kind=OutboxKind.UPDATE,
            channel=step.target,
            payload=message.payload(),
            parent_key=step.outbox_key,
            now=now,
        )


def notify_alerts_channel(
    session: Session, key: str, message: Any, *, manifest: AgencyManifest, now: datetime
) -> None:
    enqueue(
        session,
        key=key,
        kind=OutboxKind.POST,
        channel=manifest.channels.alerts,
        payload=message.payload(),
        now=now,
    )


def close_for(
    session: Session,
    subject: str,
    *,
    reason: str,
    actor: str,
    manifest: AgencyManifest,
    now: datetime,
) -> None:
    """Its subject went away (the alert resolved, or a cross-check now holds it back)."""
    escalation = escalations.active_for(session, subject)
    if escalation is None:
        return
    if escalations.resolve(session, escalation.id, reason=reason, actor=actor, now=now):  # type: ignore[arg-type]
        session.refresh(escalation)
        rerender(session, escalation, manifest=manifest, now=now, event="resolved")


def acknowledge_for(
    session: Session, subject: str, *, by: str, manifest: AgencyManifest, now: datetime
) -> Escalation | None:
    """Someone acknowledged the subject itself (the alert): its escalation stops too."""
    escalation = escalations.active_for(session, subject)
    if escalation is None:
        return None
    if not escalations.acknowledge(session, escalation.id, by=by, now=now):  # type: ignore[arg-type]
        return None
    session.refresh(escalation)
    rerender(session, escalation, manifest=manifest, now=now, event="ack")
    return escalation
