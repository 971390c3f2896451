"""The worker's clock: a registry of scheduled entries, run by APScheduler.

An entry is `(id, trigger, function)`; the worker declares its entries (the agents'
schedules, heartbeats, housekeeping) and the scheduler runs each at most once at a time,
a missed run coalesced into one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)
# APScheduler says "Running job ..." and "executed successfully" at INFO for every run: two
# lines a second for a frequent entry. Idle is silent; failures still log (WARNING, ERROR).
logging.getLogger("apscheduler").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Scheduled:
    id: str
    trigger: BaseTrigger
    run: Callable[[], None]


class Scheduler:
    def __init__(self, entries: Sequence[Scheduled], tz: ZoneInfo) -> None:
        self.entries = tuple(entries)
        self.scheduler = BackgroundScheduler(timezone=tz)
        for entry in self.entries:
            self.scheduler.add_job(
                entry.run, entry.trigger, id=entry.id, max_instances=1, coalesce=True
            )

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
