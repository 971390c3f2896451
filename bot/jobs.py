"""Job kinds and the pools that run them (`store/jobs.py` holds the rows).

A kind says what a job does, which pool runs it, how long its lease is, and how often it
may be tried. Slow kinds (drafting, email sends, chart renders) run on a pool of their own
threads, so a click is never queued behind them; a running job's lease is extended on a
timer (`LeaseKeeper`), so a job that takes longer than its lease is not taken over and run
twice. A job that raises is retried with backoff until its attempts run out, then kept,
failed, with its error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from switchboard.bot.outage import Outage
from switchboard.store import jobs
from switchboard.store.engine import transaction
from switchboard.store.jobs import Job, JobState
from switchboard.store.leases import Lease, LeaseKeeper, finish
from switchboard.store.manifest import AgencyManifest

log = logging.getLogger(__name__)
SLOW = "slow"


class RetryLater(Exception):
    """The job cannot finish now (a rate limit, a send cap); try again after `after`."""

    def __init__(self, why: str, after: timedelta) -> None:
        super().__init__(why)
        self.after = after


class GiveUp(Exception):
    """The job can never succeed as it is; do not try again."""


@dataclass(frozen=True)
class JobContext:
    """What a job's function is given: the store, the manifest, the clock, and its row."""

    engine: Engine
    manifest: AgencyManifest
    clock: Callable[[], datetime]
    job: Job  # as claimed (a detached copy)


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable[[JobContext], None]
    pool: str = SLOW
    lease: timedelta = timedelta(minutes=2)
    max_attempts: int = 5
    retry_after: timedelta = timedelta(seconds=30)  # doubled on each failed attempt


@dataclass
class JobRunner:
    """Runs due jobs of its pool's kinds, on `threads` threads (or one at a time, in a tick)."""

    engine: Engine
    manifest: AgencyManifest
    kinds: Mapping[str, JobKind]
    clock: Callable[[], datetime]
    threads: int = 2
    idle: float = 1.0  # seconds between looks when there is nothing to do
    beat_interval: float | None = None  # lease extension period; default a third of the lease
    on_done: Callable[[], None] = lambda: None  # a finished job may have queued messages
    outage: Outage | None = None  # shared by the worker's loops: one line per outage
    _threads: list[threading.Thread] = field(default_factory=list)

    def run_one(self) -> bool:
        """Claim one due job and run it to its end; False when none is due."""
        if not self.kinds:
            return False
        longest = max(kind.lease for kind in self.kinds.values())
        with transaction(self.engine) as session:
            leases = jobs.claim_due(
                session, kinds=list(self.kinds), now=self.clock(), lease=longest
            )
            job = session.get(Job, leases[0].id) if leases else None
        if job is None:
            return False
        self._run(self.kinds[job.kind], job, leases[0])
        self.on_done()
        return True

    def run_due(self, stop: threading.Event | None = None) -> int:
        """Run jobs until none is due (a tick runs them to completion this way)."""
        done = 0
        while not (stop is not None and stop.is_set()) and self.run_one():
            done += 1
        return done

    def start(self, stop: threading.Event) -> None:
        for n in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(stop,), name=f"jobs-{n}")
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the threads to end (each up to `timeout`); True once none is running."""
        for thread in self._threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)

    def _loop(self, stop: threading.Event) -> None:
        outage = self.outage or Outage("the job queue", self.clock)
        while not stop.is_set():
            try:
                ran = self.run_one()
                outage.worked()
                if ran:
                    continue
            except Exception as error:  # the store is unreachable: look again after the pause
                outage.failed(error)
            stop.wait(self.idle)

    def _run(self, kind: JobKind, job: Job, lease: Lease) -> None:
        context = JobContext(self.engine, self.manifest, self.clock, job)
        keeper = LeaseKeeper(
            self.engine, [lease], length=kind.lease, clock=self.clock, interval=self.beat_interval
        )
        try:
            with keeper:
                kind.run(context)
        except RetryLater as later:
            self._again(job, lease, kind, str(later), later.after, count_attempt=False)
        except GiveUp as error:
            self._fail(job, lease, str(error))
        except Exception as error:
            log.exception("job %s (%s) failed", job.key, job.kind)
            why = f"{type(error).__name__}: {error}"
            if lease.attempts >= kind.max_attempts:
                self._fail(job, lease, f"gave up after {lease.attempts} attempts: {why}")
            else:
                wait = kind.retry_after * 2 ** (lease.attempts - 1)
                self._again(job, lease, kind, why, wait, count_attempt=True)
        else:
            self._finish(job, lease, state=JobState.DONE, finished_at=self.clock())

    def _again(
        self,
        job: Job,
        lease: Lease,
        kind: JobKind,
        why: str,
        wait: timedelta,
        *,
        count_attempt: bool,
    ) -> None:
        values: dict[str, object] = {
            "state": JobState.PENDING,
            "run_at": self.clock() + wait,
            "last_error": why[:2000],
        }
        if not count_attempt:  # waiting for a limit is not a failure
            values["attempts"] = lease.attempts - 1
        self._finish(job, lease, **values)

    def _fail(self, job: Job, lease: Lease, why: str) -> None:
        log.error("job %s (%s) failed for good: %s", job.key, job.kind, why)
        self._finish(
            job, lease, state=JobState.FAILED, finished_at=self.clock(), last_error=why[:2000]
        )

    def _finish(self, job: Job, lease: Lease, **values: object) -> None:
        with transaction(self.engine) as session:
            if not finish(session, lease, **values):
                log.warning("job %s: its lease was lost before it finished", job.key)


def pools(kinds: Iterable[JobKind]) -> dict[str, dict[str, JobKind]]:
    """Kinds grouped by the pool that runs them."""
    grouped: dict[str, dict[str, JobKind]] = {}
    for kind in kinds:
        grouped.setdefault(kind.pool, {})[kind.name] = kind
    return grouped
