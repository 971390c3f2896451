"""Running agents for a date: each run is one transaction, findings and messages together.

An agent's level is read from the store on every run (the manifest only seeds it), so a
pause from Slack takes effect at the next run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from switchboard.agents import deadlines
from switchboard.agents.pacing import evaluate
from switchboard.agents.pacing_alerts import AlertChange, record_findings
from switchboard.bot.drafting import queue_drafts, triage_new
from switchboard.handlers.alert_posts import publish_changes, publish_shadow
from switchboard.handlers.deadline_posts import escalate_overdue
from switchboard.handlers.escalation_posts import open_breaker_escalation
from switchboard.store import agent_state
from switchboard.store.agent_state import Autonomy
from switchboard.store.drafts import Verdict
from switchboard.store.engine import transaction
from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner

log = logging.getLogger(__name__)


@dataclass
class AgentRun:
    agent: str
    as_of: date
    skipped: str | None = None  # why it did not run
    changes: list[AlertChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what an agent without alerts did
    failed: str | None = None  # the error a failed run raised

    def summary(self) -> str:
        if self.failed:
            return f"{self.agent} {self.as_of}: failed: {self.failed}" + "".join(
                f"; {note}" for note in self.notes
            )
        if self.skipped:
            return f"{self.agent}: skipped ({self.skipped})"
        if self.notes:
            return f"{self.agent} {self.as_of}: " + ", ".join(self.notes)
        if not self.changes:
            return f"{self.agent} {self.as_of}: no changes"
        counts = Counter(c.kind.value for c in self.changes)
        return f"{self.agent} {self.as_of}: " + ", ".join(
            f"{n} {k}" for k, n in sorted(counts.items())
        )


def run_pacing(engine: Engine, manifest: AgencyManifest, *, as_of: date, now: datetime) -> AgentRun:
    run = AgentRun("pacing", as_of)
    domain = manifest.domain_of("pacing")
    if domain is None:
        run.skipped = "it owns no domain in the manifest"
        return run
    with transaction(engine) as session:
        level = agent_state.level(session, "pacing")
        if level is Autonomy.PAUSED:
            run.skipped = "paused"
            return run
        report = evaluate(session, as_of=as_of, thresholds=manifest.pacing)
        owner = session.get_one(DomainOwner, domain).owner
        if level is Autonomy.SHADOW:
            kept = publish_shadow(session, report, manifest=manifest, owner=owner, now=now)
            run.notes.append(f"{kept} new would-have output(s) in the shadow channel (shadow)")
            return run
        run.changes = record_findings(
            session, report, thresholds=manifest.pacing, domain=domain, assignee=owner, now=now
        )
        # In the same transaction: an alert is never recorded without its message queued.
        publish_changes(session, run.changes, manifest=manifest, now=now)
    return run


def run_drafting(
    engine: Engine, manifest: AgencyManifest, *, as_of: date, now: datetime
) -> AgentRun:
    run = AgentRun("drafting", as_of)
    with transaction(engine) as session:
        if agent_state.level(session, "drafting") is Autonomy.PAUSED:
            run.skipped = "paused"
            return run
    # Triage runs in every tick too; here it lets a run straight after an import draft.
    triaged = triage_new(engine, manifest, now)
    queued = triaged[Verdict.DRAFT] + queue_drafts(engine, now=now)
    run.notes.append(
        f"{triaged.total()} new mail triaged ({triaged[Verdict.HUMAN]} for a person), "
        f"{queued} draft(s) queued for the worker"
    )
    return run


def run_deadlines(
    engine: Engine, manifest: AgencyManifest, *, as_of: date, now: datetime
) -> AgentRun:
    run = AgentRun(deadlines.AGENT, as_of)
    if manifest.domain_of(deadlines.AGENT) is None:
        run.skipped = "it owns no domain in the manifest"
        return run
    with transaction(engine) as session:
        level = agent_state.level(session, deadlines.AGENT)
        if level is Autonomy.PAUSED:
            run.skipped = "paused"
            return run
        report = deadlines.evaluate(session, manifest=manifest, today=as_of)
        # In the same transaction: what it found and the escalations it opens commit together.
        opened = escalate_overdue(session, report, manifest=manifest, now=now)
    in_shadow = level is Autonomy.SHADOW
    run.notes = [
        f"{len(report.due_this_week)} due this week",
        f"{len(report.overdue)} overdue",
        f"{len(report.conflicts)} conflict(s)",
        "escalations to the shadow channel" if in_shadow else f"{opened} escalation(s) opened",
    ]
    return run


BREAKER_FAILURES = 3  # failed runs in a row that pause an agent
ERROR_SHOWN = 300  # characters of a failed run's error kept in its outcome

# The agents `switchboard agents run` and the scheduler can run, by manifest name.
RUNNERS: dict[str, Callable[..., AgentRun]] = {
    "pacing": run_pacing,
    "drafting": run_drafting,
    "deadlines": run_deadlines,
}
RUNNABLE = tuple(RUNNERS)


def run_agents(
    engine: Engine,
    manifest: AgencyManifest,
    *,
    as_of: date,
    now: datetime,
    only: str | None = None,
    trigger: str = "cli",
) -> list[AgentRun]:
    """Run every runnable agent (or `only` that one) for `as_of`; each run is recorded.

    A run that fails is recorded as failed and the others still run; an agent whose runs
    fail three times in a row is paused and its domain's owner told (the circuit breaker).
    """
    names = [only] if only else [a for a in RUNNABLE if a in manifest.agents]
    runs = []
    for name in names:
        try:
            run = RUNNERS[name](engine, manifest, as_of=as_of, now=now)
        except Exception as error:  # any failure counts towards the breaker
            log.exception("agent %s failed", name)
            # Clipped: the text goes into a DM and the audit (a SQL error can be pages long).
            run = AgentRun(name, as_of, failed=f"{type(error).__name__}: {error}"[:ERROR_SHOWN])
        with transaction(engine) as session:
            if run.failed:
                trip_if_due(session, run, manifest=manifest, now=now)
            elif run.skipped:
                log.info("agent %s: skipped (%s)", name, run.skipped)
            else:
                agent_state.run_worked(session, name)
            agent_state.record_run(
                session, agent=name, as_of=as_of, ran_at=now, trigger=trigger, outcome=run.summary()
            )
        runs.append(run)
    return runs


def trip_if_due(
    session: Session, run: AgentRun, *, manifest: AgencyManifest, now: datetime
) -> None:
    """Count a failed run; at the third in a row, pause the agent and tell its owner."""
    failures = agent_state.run_failed(session, run.agent)
    if failures < BREAKER_FAILURES:
        return
    state = agent_state.get(session, run.agent)
    if state is None or state.autonomy is Autonomy.PAUSED:
        return
    if not agent_state.change_level(
        session,
        run.agent,
        expected=state.autonomy,
        to=Autonomy.PAUSED,
        actor="circuit-breaker",
        now=now,
        reason=f"{failures} failed runs in a row; last: {run.failed}",
        paused_from=state.autonomy,
    ):
        return  # someone changed its level meanwhile: theirs stands
    run.notes.append(f"paused by the circuit breaker after {failures} failed runs in a row")
    domain = manifest.domain_of(run.agent)
    if domain is None:
        log.warning("agent %s was paused but owns no domain: nobody to tell", run.agent)
        return
    open_breaker_escalation(
        session,
        agent=run.agent,
        domain=domain,
        failures=failures,
        error=run.failed or "",
        manifest=manifest,
        now=now,
    )
