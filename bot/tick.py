"""One pass of everything scheduled: `switchboard tick`, the worker's periodic entry, tests.

Its parts, in order: agents that are due, triage of new mail, escalation steps that are due,
the auditor, expiry of undecided drafts, jobs that are due (run to completion), the briefing
when due, and the outbox drain. The pass repeats until it finds
nothing new to do (bounded), so an undeliverable owner falls through to the lead in the same
tick, while a delivered step's next level waits for its `after`. Everything it records is
dated by its clock: `switchboard tick --now ...` runs as of that moment.

An agent is due when a fire time of its schedule falls after its last run and at or before
now; an agent that has never run is due at once. It runs as of the agency-local date of now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from switchboard.bot.agent_runs import RUNNABLE, AgentRun, run_agents
from switchboard.bot.briefing import post_if_due
from switchboard.bot.drafting import expire_pending, triage_new
from switchboard.bot.escalations import EscalationDriver
from switchboard.bot.jobs import JobRunner
from switchboard.bot.outbox import Outbox
from switchboard.store import agent_state
from switchboard.store.engine import reading
from switchboard.store.manifest import AgencyManifest

log = logging.getLogger(__name__)
DEFAULT_AGENT_SCHEDULE = "0 * * * *"  # hourly; runs are idempotent per date
MAX_PASSES = 20


def due_agents(engine: Engine, manifest: AgencyManifest, now: datetime) -> list[str]:
    due = []
    with reading(engine) as session:
        for agent in RUNNABLE:
            spec = manifest.agents.get(agent)
            if spec is None:
                continue
            last = agent_state.last_run(session, agent, at_or_before=now)
            if last is None:
                due.append(agent)
                continue
            schedule = CronTrigger.from_crontab(
                spec.schedule or DEFAULT_AGENT_SCHEDULE, manifest.tz
            )
            fire = schedule.get_next_fire_time(None, last + timedelta(microseconds=1))
            if fire is not None and fire <= now:
                due.append(agent)
    return due


@dataclass(frozen=True)
class TickPart:
    name: str
    run: Callable[[], int]  # does its work once; how much it did
    line: Callable[[int], str]  # the summary line for a tick's total


@dataclass
class TickReport:
    """What each part did over the whole tick."""

    agent_runs: list[AgentRun] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    passes: int = 0


@dataclass
class Tick:
    engine: Engine
    manifest: AgencyManifest
    clock: Callable[[], datetime]
    escalations: EscalationDriver
    jobs: JobRunner | None = None  # None in the worker: its pool runs them
    outbox: Outbox | None = None  # None in the worker (its thread drains), or without a token
    trigger: str = "tick"

    def parts(self, report: TickReport) -> list[TickPart]:
        engine, manifest, clock = self.engine, self.manifest, self.clock
        parts = [
            TickPart("agents", lambda: self._agents(report), lambda _n: _agents_line(report)),
            TickPart(
                "triage",
                lambda: triage_new(engine, manifest, clock()).total(),
                _count("triage", "new mail triaged"),
            ),
            TickPart("escalations", self.escalations.run_due, _count("escalations", "step(s) run")),
            TickPart("auditor", self.escalations.audit, _auditor_line),
            TickPart(
                "expiry",
                lambda: expire_pending(engine, manifest, clock()),
                _count("expiry", "draft(s) expired"),
            ),
        ]
        if self.jobs is not None:
            parts.append(TickPart("jobs", self.jobs.run_due, _count("jobs", "run")))
        # After the jobs: drafts written in this tick are in the briefing that follows.
        parts.append(
            TickPart(
                "briefing",
                lambda: post_if_due(engine, manifest, clock()),
                _count("briefing", "posted"),
            )
        )
        if self.outbox is not None:
            parts.append(TickPart("outbox", self.outbox.drain, _count("outbox", "message(s) sent")))
        return parts

    def run(self) -> TickReport:
        report = TickReport()
        parts = self.parts(report)
        for _ in range(MAX_PASSES):
            report.passes += 1
            did = 0
            for part in parts:
                done = part.run()
                report.counts[part.name] = report.counts.get(part.name, 0) + done
                did += done
            if not did:
                break
        return report

    def lines(self, report: TickReport) -> list[str]:
        return [part.line(report.counts.get(part.name, 0)) for part in self.parts(report)]

    def _agents(self, report: TickReport) -> int:
        now = self.clock()
        today = self.manifest.today(now)
        ran = 0
        for agent in due_agents(self.engine, self.manifest, now):
            runs = run_agents(
                self.engine, self.manifest, as_of=today, now=now, only=agent, trigger=self.trigger
            )
            report.agent_runs += runs
            ran += len(runs)
        return ran


def _count(name: str, what: str) -> Callable[[int], str]:
    return lambda n: f"{name}: {n} {what}"


def _agents_line(report: TickReport) -> str:
    return "agents: " + ("; ".join(run.summary() for run in report.agent_runs) or "none due")


def _auditor_line(n: int) -> str:
    return f"auditor: {n} undelivered step(s) reported" if n else "auditor: nothing late"
