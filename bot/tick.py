"""One pass of everything scheduled: `switchboard tick`, the worker's periodic entry, tests.

Its parts, in order: agents that are due, escalation steps that are due, the auditor, jobs
that are due (run to completion), and the outbox drain. The pass repeats until it finds
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


@dataclass
class TickReport:
    """What each part did over the whole tick, for one summary line each."""

    agent_runs: list[AgentRun] = field(default_factory=list)
    steps: int = 0
    reported: int = 0
    jobs: int = 0
    sent: int = 0
    passes: int = 0

    def lines(self, *, outbox: str) -> list[str]:
        agents = "; ".join(run.summary() for run in self.agent_runs) or "none due"
        return [
            f"agents: {agents}",
            f"escalations: {self.steps} step(s) run",
            f"auditor: {self.reported} undelivered step(s) reported"
            if self.reported
            else "auditor: nothing late",
            f"jobs: {self.jobs} run",
            outbox,
        ]


@dataclass
class Tick:
    engine: Engine
    manifest: AgencyManifest
    clock: Callable[[], datetime]
    escalations: EscalationDriver
    jobs: JobRunner | None = None  # None in the worker: its pool runs them
    outbox: Outbox | None = None  # None in the worker (its thread drains), or without a token
    trigger: str = "tick"

    def run(self) -> TickReport:
        report = TickReport()
        for _ in range(MAX_PASSES):
            report.passes += 1
            if not self._pass(report):
                break
        return report

    def _pass(self, report: TickReport) -> int:
        now = self.clock()
        did = 0
        for agent in due_agents(self.engine, self.manifest, now):
            today = now.astimezone(self.manifest.tz).date()
            runs = run_agents(
                self.engine, self.manifest, as_of=today, now=now, only=agent, trigger=self.trigger
            )
            report.agent_runs += runs
            did += len(runs)
        steps = self.escalations.run_due()
        reported = self.escalations.audit()
        jobs = self.jobs.run_due() if self.jobs is not None else 0
        sent = self.outbox.drain() if self.outbox is not None else 0
        report.steps += steps
        report.reported += reported
        report.jobs += jobs
        report.sent += sent
        return did + steps + reported + jobs + sent
