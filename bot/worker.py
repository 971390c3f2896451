"""The worker: applies recorded commands, runs jobs, drains the outbox, keeps the schedules.

`switchboard worker` runs one in the foreground (for systemd, Kubernetes or a Procfile);
`switchboard run` starts one in a child process beside the web process (`WorkerProcess`),
at a lower CPU priority, so that under load Slack's acknowledgements come first and the
work catches up after. Inside, each part has its own thread: clicks one at a time in
order, slow jobs on their own pool, the outbox woken whenever something was queued, and
APScheduler for the scheduled entries. A heartbeat row in the store says the worker lives;
`/healthz` reads it, on any replica.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from switchboard.bot.app import outbox_transport
from switchboard.bot.escalations import EscalationDriver
from switchboard.bot.interactions import InteractionRunner, QueuePolicy, Stop, Wake
from switchboard.bot.job_kinds import job_kinds
from switchboard.bot.jobs import JobKind, JobRunner, pools
from switchboard.bot.outage import Outage
from switchboard.bot.outbox import Outbox, OutboxPolicy
from switchboard.bot.runtime import Runtime, utc_now
from switchboard.bot.scheduler import Scheduled, Scheduler
from switchboard.bot.settings import Settings
from switchboard.bot.tick import Tick
from switchboard.handlers.registry import WORK
from switchboard.store import interactions, runtime_status
from switchboard.store.engine import transaction
from switchboard.store.manifest import Role

log = logging.getLogger(__name__)
NICENESS = 10  # below the web process: acknowledgements first, work after
RESTART_DELAY = 1.0  # seconds before a dead worker is replaced (doubled while it keeps dying)
MAX_RESTART_DELAY = 60.0
HEARTBEAT = timedelta(seconds=10)
FRESH = timedelta(seconds=30)  # a heartbeat older than this: the worker is not running
STOP_TIMEOUT = 30.0  # seconds a stopping worker may take to finish what it holds
TICK_EVERY = 30  # seconds between the scheduled ticks
LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Worker:
    """All of a worker's parts, on one runtime; `run` blocks until `stop` is set."""

    rt: Runtime
    scheduled: bool = True  # the periodic entries (agents); off for cron-driven deployments
    job_kinds: Mapping[str, JobKind] | None = None  # default: every kind (bot/job_kinds.py)
    job_threads: int = 2
    queue_policy: QueuePolicy = field(default_factory=QueuePolicy)
    outbox_policy: OutboxPolicy = field(default_factory=OutboxPolicy)
    name: str = field(default_factory=worker_id)

    def __post_init__(self) -> None:
        rt = self.rt
        self.halt = threading.Event()  # every thread's stop signal
        self.store_outage = Outage("the store", rt.now)  # one log line per outage, all loops
        self.started = threading.Event()  # set once it has beaten and its parts run
        self.outbox_wake = threading.Event()
        self.escalations = EscalationDriver(rt.engine, rt.manifest, rt.now)
        self.outbox = Outbox(
            rt.engine,
            outbox_transport(rt.settings),
            clock=rt.now,
            alerts_channel=rt.manifest.channels.alerts,
            admins=sorted(rt.manifest.with_role(Role.ADMIN)),
            policy=self.outbox_policy,
            on_outcome=self.escalations.record_delivery,
        )
        # The periodic tick's parts; the worker's own threads run jobs and drain the outbox.
        self.tick = Tick(rt.engine, rt.manifest, rt.now, self.escalations)
        self.interactions = InteractionRunner(
            queue=rt.interactions,
            store=rt.engine,
            manifest=rt.manifest,
            work=WORK,
            clock=rt.now,
            policy=self.queue_policy,
            on_commit=self.outbox_wake.set,
            outage=self.store_outage,
        )
        kinds = (
            self.job_kinds
            if self.job_kinds is not None
            else job_kinds(rt.settings, rt.engine, rt.now)
        )
        self.job_runners = [
            JobRunner(
                rt.engine,
                rt.manifest,
                pool,
                rt.now,
                threads=self.job_threads,
                on_done=self.outbox_wake.set,
                outage=self.store_outage,
            )
            for pool in pools(kinds.values()).values()
        ]
        self.scheduler = Scheduler(self.entries(), rt.manifest.tz)

    def entries(self) -> list[Scheduled]:
        """What runs on a clock: heartbeats and housekeeping always; the tick (agents that are
        due, escalation steps, the auditor) unless cron runs `switchboard tick` instead."""
        every = IntervalTrigger(seconds=HEARTBEAT.total_seconds())
        entries = [
            Scheduled("heartbeat", every, self.beat),
            Scheduled("prune", IntervalTrigger(hours=1), self.prune),
        ]
        if self.scheduled:
            entries.append(Scheduled("tick", IntervalTrigger(seconds=TICK_EVERY), self.run_tick))
        return entries

    def run_tick(self) -> None:
        try:
            report = self.tick.run()
            self.store_outage.worked()
        except Exception as error:  # the next tick tries again
            self.store_outage.failed(error)
            return
        for run in report.agent_runs:
            log.info(run.summary())  # a state change: an agent ran
        if any(report.counts.values()):
            self.outbox_wake.set()

    def beat(self) -> None:
        try:
            with transaction(self.rt.engine) as session:
                runtime_status.beat(session, self.name, now=self.rt.now())
            self.store_outage.worked()
        except Exception as error:  # the next beat tries again; /healthz goes 503 meanwhile
            self.store_outage.failed(error)

    def prune(self) -> None:
        with transaction(self.rt.interactions) as session:
            interactions.prune(session, now=self.rt.now())

    def run(self, stop: Stop, wake: Wake) -> None:
        """Run every part until `stop` is set; then let each finish what it holds."""
        threads = [
            threading.Thread(
                target=self.outbox.run,
                args=(self.halt, self.outbox_wake),
                kwargs={"outage": self.store_outage},
                name="outbox",
            )
        ]
        try:
            self.beat()
            for thread in threads:
                thread.start()
            for runner in self.job_runners:
                runner.start(self.halt)
            self.scheduler.start()
            self.started.set()
            log.info("worker started (pid %s, %s)", os.getpid(), self.name)
            self.interactions.run(stop, wake)
        finally:
            self.halt.set()
            self.outbox_wake.set()
            self.scheduler.stop()
            for runner in self.job_runners:
                runner.join(STOP_TIMEOUT)
            for thread in threads:
                thread.join(STOP_TIMEOUT)
            try:
                with transaction(self.rt.engine) as session:
                    runtime_status.forget_worker(session, self.name)
            except Exception:  # the store is gone; the heartbeat goes stale by itself
                log.warning("could not remove this worker's heartbeat", exc_info=True)
            log.info("worker stopped (pid %s, %s)", os.getpid(), self.name)


# -- `switchboard run`: the worker in a child process, restarted if it dies ----------------


@dataclass(frozen=True)
class WorkerSpec:
    """What the worker needs to build itself: it is spawned, so it re-reads the settings
    from the environment unless given them (the sandbox's, made for its session)."""

    db_url: str | None = None
    manifest: Path | None = None
    log_level: int = logging.INFO
    niceness: int = NICENESS
    scheduled: bool = True
    settings: Settings | None = None
    clock: Callable[[], datetime] = utc_now  # pickled into the child: the sandbox's is shared


def worker_main(spec: WorkerSpec, wake: Wake, stop: Stop, ready: Any) -> None:
    # Ctrl-C reaches the whole process group; the web process stops the worker in order.
    # SIGINT was blocked while this process started (see `_spawn`): ignored, then unblocked.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: request_stop(stop, wake))
    os.nice(spec.niceness)
    logging.basicConfig(level=spec.log_level, format=LOG_FORMAT)
    rt = Runtime(
        db_url=spec.db_url, manifest_override=spec.manifest, clock=spec.clock, preset=spec.settings
    )
    worker = Worker(rt, scheduled=spec.scheduled)
    threading.Thread(target=_stop_with_parent, args=(stop, wake), daemon=True).start()
    ready.set()
    try:
        worker.run(stop, wake)
    finally:
        rt.close()


def request_stop(stop: Stop, wake: Wake) -> None:
    # Neither takes a lock, so this is safe in a signal handler too.
    stop.set()
    wake.set()


def _stop_with_parent(stop: Stop, wake: Wake) -> None:
    """A web process killed outright cannot stop its worker: the worker notices it is gone."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        log.warning("the web process has gone; stopping")
        request_stop(stop, wake)


class StopFlag:
    """A stop request shared with the worker: a byte of shared memory and no lock.

    (A multiprocessing.Event takes a lock to read; a worker killed while holding it would
    leave the web process unable to stop or restart it.)
    """

    def __init__(self, context: Any) -> None:
        self._flag = context.RawValue(ctypes.c_bool, False)

    def set(self) -> None:
        self._flag.value = True

    def is_set(self) -> bool:
        return bool(self._flag.value)


class Doorbell:
    """Wakes the worker from another process; ringing never waits and never gives up the GIL.

    A counting semaphore: `set` posts it, `wait` takes one post, `clear` takes the rest.
    (A multiprocessing.Event would not do: its set() waits for the sleeping worker to wake,
    for ever if that worker was killed.)
    """

    def __init__(self, context: Any) -> None:
        self._rings = context.Semaphore(0)

    def set(self) -> None:
        self._rings.release()

    def wait(self, timeout: float | None = None) -> bool:
        return bool(self._rings.acquire(timeout=timeout))

    def clear(self) -> None:
        while self._rings.acquire(block=False):
            pass


class WorkerProcess:
    """Runs `worker_main` in a child process, restarting it if it dies, until `stop()`."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self._context = multiprocessing.get_context("spawn")  # no forked locks or sockets
        self.wake = Doorbell(self._context)
        self._stop = StopFlag(self._context)  # read by the worker between requests
        self._stopping = threading.Event()  # the same, for this process's supervisor
        self.ready = self._context.Event()  # set by each worker once it has started
        self._process: Any = None
        self._supervisor: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._spawn()
        self._supervisor = threading.Thread(
            target=self._supervise, name="worker-supervisor", daemon=True
        )
        self._supervisor.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the worker to finish what it holds and stop; kill it after `timeout`."""
        self._stopping.set()
        request_stop(self._stop, self.wake)
        if self._process is not None:
            self._process.join(timeout)
            if self._process.is_alive():
                # SIGTERM would only ask again; what it held is taken over after its lease.
                log.warning("worker did not stop within %s s; killing it", timeout)
                self._process.kill()
                self._process.join(5)
        if self._supervisor is not None:
            self._supervisor.join(timeout)

    def _spawn(self) -> None:
        self._process = self._context.Process(
            target=worker_main,
            args=(self.spec, self.wake, self._stop, self.ready),
            name="switchboard-worker",
        )
        # A Ctrl-C while the new interpreter imports would kill it with a traceback before
        # it can ignore SIGINT: it starts with SIGINT blocked (the mask is inherited).
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def _supervise(self) -> None:
        delay = RESTART_DELAY
        while True:
            started = time.monotonic()
            self._process.join()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > MAX_RESTART_DELAY:
                delay = RESTART_DELAY  # it had been running well: back to a quick restart
            log.error(
                "worker exited with code %s; starting another in %s s",
                self._process.exitcode,
                delay,
            )
            if self._stopping.wait(delay):
                return
            self.ready.clear()
            self._spawn()
            # One that dies at once (a bad setting, say) is retried ever more slowly.
            delay = min(delay * 2, MAX_RESTART_DELAY)
