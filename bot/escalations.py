"""Driving escalations: the tick's escalation part, the auditor, and the outbox's record of
each step's delivery (DESIGN section 9).

A step counts as executed only when Slack took its message: the outbox calls
`record_delivery` in the transaction that records the send, which marks the step delivered
and sets when the next level is due (from that delivery), or marks it failed and makes the
next level due at once. So each tick runs at most one delivered level per escalation, and
an undeliverable target falls through to the next level in the same tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from switchboard.agents.escalation_policy import (
    BusinessCalendar,
    due_after,
    exhausted_at,
    level_spec,
    owner_of,
    target_of,
)
from switchboard.handlers.escalation_posts import notify_alerts_channel, rerender, send_step
from switchboard.handlers.views import escalations as views
from switchboard.store import escalations
from switchboard.store.engine import transaction
from switchboard.store.escalations import (
    Escalation,
    EscalationStatus,
    EscalationStep,
    StepState,
    parse_step_key,
)
from switchboard.store.leases import Lease, finish
from switchboard.store.manifest import AgencyManifest
from switchboard.store.outbox import OutboxMessage

log = logging.getLogger(__name__)
LATE = timedelta(minutes=5)  # the auditor's patience


@dataclass
class EscalationDriver:
    engine: Engine
    manifest: AgencyManifest
    clock: Callable[[], datetime]
    lease: timedelta = timedelta(seconds=60)
    batch: int = 500

    @property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.of(self.manifest)

    # -- the tick's escalation part -------------------------------------------------------

    def run_due(self) -> int:
        """Run the next level of every due escalation; returns how many levels ran."""
        now = self.clock()
        with transaction(self.engine) as session:
            leases = escalations.claim_due(session, now=now, lease=self.lease, limit=self.batch)
        ran = 0
        for lease in leases:
            with transaction(self.engine) as session:
                ran += self._step(session, lease, now)
        return ran

    def _step(self, session: Session, lease: Lease, now: datetime) -> int:
        escalation = session.get_one(Escalation, lease.id)
        if escalation.status is not EscalationStatus.OPEN or escalation.next_step_at is None:
            finish(session, lease)
            return 0
        level = escalation.level + 1
        values: dict[str, object] = {}
        if now - escalation.next_step_at > LATE and escalation.late_reported_level < level:
            self._report_late(session, escalation, level, escalation.next_step_at, now)
            values["late_reported_level"] = level
        if level > escalation.levels:
            self._exhaust(session, escalation, now)
            finish(session, lease, **values)
            return 1
        owner = owner_of(session, escalation, self.manifest)
        target = target_of(level_spec(escalation.policy, level), owner, self.manifest)
        step = send_step(
            session, escalation, level, target, owner=owner, manifest=self.manifest, now=now
        )
        # A queued step waits for its delivery; one that reached nobody lets the next run now.
        next_at = now if step.state is StepState.FAILED else None
        finish(session, lease, level=level, next_step_at=next_at, **values)
        return 1

    def _report_late(
        self, session: Session, escalation: Escalation, level: int, due: datetime, now: datetime
    ) -> None:
        log.warning("escalation #%s: level %s is %s late", escalation.id, level, now - due)
        message = views.late_notice(escalation, level, due, tz=self.manifest.tz, now=now)
        key = f"{escalation.key}:late:{level}"
        notify_alerts_channel(session, key, message, manifest=self.manifest, now=now)

    def _exhaust(self, session: Session, escalation: Escalation, now: datetime) -> None:
        if not escalations.exhaust(session, escalation.id, now=now):  # type: ignore[arg-type]
            return
        session.refresh(escalation)
        message = views.exhausted_notice(escalation, tz=self.manifest.tz, now=now)
        key = f"{escalation.key}:exhausted"
        notify_alerts_channel(session, key, message, manifest=self.manifest, now=now)
        rerender(session, escalation, manifest=self.manifest, now=now, event="exhausted")

    # -- the auditor ----------------------------------------------------------------------

    def audit(self) -> int:
        """Report steps Slack has not taken 5 minutes after they were queued (Slack down, the
        outbox paused): once per escalation and level, and never queued again."""
        now = self.clock()
        with transaction(self.engine) as session:
            stuck = session.execute(
                select(Escalation, EscalationStep)
                .join(EscalationStep, EscalationStep.escalation_id == Escalation.id)
                .where(
                    Escalation.status == EscalationStatus.OPEN,
                    EscalationStep.state == StepState.QUEUED,
                    EscalationStep.queued_at < now - LATE,
                    Escalation.late_reported_level < EscalationStep.level,
                )
            ).all()
            for escalation, step in stuck:
                message = views.undelivered_notice(escalation, step, tz=self.manifest.tz, now=now)
                key = f"{escalation.key}:undelivered:{step.level}"
                notify_alerts_channel(session, key, message, manifest=self.manifest, now=now)
                escalation.late_reported_level = step.level
        return len(stuck)

    # -- the outbox's record of a step -------------------------------------------------------

    def record_delivery(
        self, session: Session, row: OutboxMessage, error: str | None, now: datetime
    ) -> None:
        """Called by the outbox, in its transaction, for every message it delivered or gave up."""
        parsed = parse_step_key(row.key)
        if parsed is None:
            return
        escalation_id, level = parsed
        step = escalations.step(session, escalation_id, level)
        if step is None or step.state is not StepState.QUEUED:
            return
        escalation = session.get_one(Escalation, escalation_id)
        current = escalation.status is EscalationStatus.OPEN and escalation.level == level
        if error is None:
            step.state, step.delivered_at = StepState.DELIVERED, now
            if current:
                escalation.next_step_at = self._next_after(escalation, level, now)
        else:
            step.state, step.error = StepState.FAILED, error
            if current:
                escalation.next_step_at = now  # the next level, at once

    def _next_after(self, escalation: Escalation, level: int, delivered: datetime) -> datetime:
        if level < escalation.levels:
            return due_after(level_spec(escalation.policy, level + 1), delivered, self.calendar)
        return exhausted_at(delivered, self.calendar)
