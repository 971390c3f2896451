"""`switchboard run`'s worker process: interactions, the outbox, the agents' schedules.

The web process only verifies, records and acknowledges; everything that takes time runs
here, at a lower CPU priority, so that under load Slack's acknowledgements come first and
the work catches up after. The web process restarts the worker if it dies; whatever it had
claimed is taken over when the claim's lease expires.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchboard.bot.interactions import Stop, Wake, Worker
from switchboard.bot.runtime import Runtime
from switchboard.bot.scheduler import Scheduler

log = logging.getLogger(__name__)
NICENESS = 10  # below the web process: acknowledgements first, work after
RESTART_DELAY = 1.0  # seconds before a dead worker is replaced (doubled while it keeps dying)
MAX_RESTART_DELAY = 60.0
UNHEALTHY_AFTER = 30.0  # seconds without a running worker before /healthz says 503
LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


@dataclass(frozen=True)
class WorkerHealth:
    ok: bool
    state: str  # "running", or how long it has been down


@dataclass(frozen=True)
class WorkerSpec:
    """What the worker needs to build itself (it is spawned, so it re-reads the settings)."""

    db_url: str | None = None
    manifest: Path | None = None
    log_level: int = logging.INFO
    niceness: int = NICENESS
    agents: bool = True  # run the agents on their schedules (benchmarks turn it off)


def worker_main(spec: WorkerSpec, wake: Wake, stop: Stop, ready: Any) -> None:
    # Ctrl-C reaches the whole process group; the web process stops the worker in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: _stop(stop, wake))
    os.nice(spec.niceness)
    logging.basicConfig(level=spec.log_level, format=LOG_FORMAT)
    rt = Runtime(db_url=spec.db_url, manifest_override=spec.manifest)
    slack = rt.slack_app(verify_token=False)
    scheduler = Scheduler(slack.outbox, rt.engine, rt.manifest, rt.now, agents=spec.agents)
    slack.deps.kick_outbox = scheduler.kick
    worker = Worker(rt.interactions, slack.work, clock=rt.now, after=scheduler.kick)
    scheduler.start()
    threading.Thread(target=_stop_with_parent, args=(stop, wake), daemon=True).start()
    log.info("worker started (pid %s)", os.getpid())
    ready.set()
    try:
        worker.run(stop, wake)
    finally:
        scheduler.stop()
        rt.interactions.dispose()
        rt.engine.dispose()
        log.info("worker stopped")


def _stop(stop: Stop, wake: Wake) -> None:
    # Neither takes a lock, so this is safe in a signal handler too.
    stop.set()
    wake.set()


def _stop_with_parent(stop: Stop, wake: Wake) -> None:
    """A web process killed outright cannot stop its worker: the worker notices it is gone."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        log.warning("the web process has gone; stopping")
        _stop(stop, wake)


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

    def __init__(
        self, spec: WorkerSpec, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.spec, self.monotonic = spec, monotonic
        self._context = multiprocessing.get_context("spawn")  # no forked locks or sockets
        self.wake = Doorbell(self._context)
        self._stop = StopFlag(self._context)  # read by the worker between requests
        self._stopping = threading.Event()  # the same, for this process's supervisor
        self.ready = self._context.Event()  # set by each worker once it has started
        self._process: Any = None
        self._down_since: float | None = None  # monotonic time the last worker exited
        self._supervisor: threading.Thread | None = None

    def health(self) -> WorkerHealth:
        """Unhealthy once no worker has run for UNHEALTHY_AFTER: a restart is not an outage."""
        if self._process is not None and self._process.is_alive():
            return WorkerHealth(True, "running")
        now = self.monotonic()
        down = now - (self._down_since if self._down_since is not None else now)
        return WorkerHealth(down < UNHEALTHY_AFTER, f"not running for {down:.0f} s")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._spawn()
        self._supervisor = threading.Thread(
            target=self._supervise, name="worker-supervisor", daemon=True
        )
        self._supervisor.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the worker to finish the request it holds and stop; kill it after `timeout`."""
        self._stopping.set()
        _stop(self._stop, self.wake)
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
        self._process.start()

    def _supervise(self) -> None:
        delay = RESTART_DELAY
        while True:
            started = self.monotonic()
            self._process.join()
            if self._stopping.is_set():
                return
            self._down_since = self.monotonic()
            if self.monotonic() - started > MAX_RESTART_DELAY:
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
            self._down_since = None
            # One that dies at once (a bad setting, say) is retried ever more slowly.
            delay = min(delay * 2, MAX_RESTART_DELAY)
