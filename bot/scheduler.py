"""The worker's clock: agents on the manifest's schedules, and the outbox drain."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from switchboard.bot.agent_runs import RUNNABLE, run_agents
from switchboard.bot.outbox import Outbox
from switchboard.store.manifest import AgencyManifest

log = logging.getLogger(__name__)
DEFAULT_AGENT_SCHEDULE = "0 * * * *"  # hourly; runs are idempotent per date
OUTBOX_JOB = "outbox"
KICK_INTERVAL = 0.5  # seconds


class Scheduler:
    """Agents on the manifest's schedules and the outbox drain, in one process."""

    def __init__(
        self,
        outbox: Outbox,
        engine: Engine,
        manifest: AgencyManifest,
        clock: Callable[[], datetime],
        *,
        agents: bool = True,
    ) -> None:
        self.engine, self.manifest, self.clock = engine, manifest, clock
        self.scheduler = BackgroundScheduler(timezone=manifest.tz)
        self.scheduler.add_job(
            outbox.drain, "interval", seconds=1, id=OUTBOX_JOB, max_instances=1, coalesce=True
        )
        for agent in RUNNABLE if agents else ():
            spec = manifest.agents.get(agent)
            if spec is None:
                continue
            trigger = CronTrigger.from_crontab(
                spec.schedule or DEFAULT_AGENT_SCHEDULE, timezone=manifest.tz
            )
            self.scheduler.add_job(
                self.run_agent,
                trigger,
                args=[agent],
                id=f"agent:{agent}",
                max_instances=1,
                coalesce=True,
            )
        self._last_kick = 0.0

    def run_agent(self, agent: str) -> None:
        now = self.clock()
        runs = run_agents(
            self.engine,
            self.manifest,
            as_of=now.astimezone(self.manifest.tz).date(),
            now=now,
            only=agent,
        )
        for run in runs:
            log.info(run.summary())
        self.kick()

    def kick(self) -> None:
        """Drain the outbox now rather than at the next tick (at most twice a second)."""
        now = time.monotonic()
        if now - self._last_kick < KICK_INTERVAL:
            return  # a drain was just asked for; it will carry this message too
        self._last_kick = now
        try:
            self.scheduler.modify_job(OUTBOX_JOB, next_run_time=datetime.now(self.manifest.tz))
        except Exception:  # not started yet, or shutting down: the next tick drains
            log.debug("outbox kick skipped", exc_info=True)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
