"""Both ends of the interaction queue (`store/interactions.py`): record, then apply.

The split exists for the acknowledgement: Slack waits at most 3 seconds for it, and one
Python process can acknowledge far more clicks per second than it can apply. Recording is
one small insert; applying (authorize, compare-and-set, audit, re-render) runs in the
worker process, so a burst of clicks queues there and never in front of an ack.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_bolt import Respond
from sqlalchemy import Engine

from switchboard.handlers.deferred import Request, Work
from switchboard.store import interactions
from switchboard.store.engine import transaction
from switchboard.store.interactions import Claimed

log = logging.getLogger(__name__)
SORRY = "Sorry, that could not be completed; it is logged as interaction #{id}."


class Stop(Protocol):
    """bot.worker.StopFlag across processes, threading.Event in one."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...


class Wake(Protocol):
    """What wakes the worker: bot.worker.Doorbell across processes, threading.Event in one."""

    def set(self) -> None: ...
    def clear(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class RecordFailed(RuntimeError):
    """The request could not be stored, so it must not be acknowledged."""


class _Pending:
    """A request waiting for its commit."""

    __slots__ = ("body", "error", "kind", "turn", "written")

    def __init__(self, kind: str, body: dict[str, Any]) -> None:
        self.kind, self.body = kind, body
        self.turn = threading.Event()  # set when written, or when it is this thread's turn
        self.written = False
        self.error: Exception | None = None


class Recorder:
    """The web process's end: record a request durably, then wake the worker.

    Group commit: one thread at a time writes, and it writes every request waiting at that
    moment in one transaction (one fsync); then it hands the turn to the first request that
    arrived meanwhile. Each waiting thread sleeps on its own event, so a batch's threads
    wake together instead of queueing on a lock one by one, which under a busy GIL cost
    milliseconds each.
    """

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime], wake: Callable[[], None]
    ) -> None:
        self.engine, self.clock, self.wake = engine, clock, wake
        self._lock = threading.Lock()  # guards the two fields below
        self._waiting: list[_Pending] = []
        self._writing = False

    def __call__(self, kind: str, body: dict[str, Any]) -> None:
        mine = _Pending(kind, body)
        with self._lock:
            self._waiting.append(mine)
            my_turn = not self._writing
            self._writing = True
        if not my_turn:
            mine.turn.wait()
        if not mine.written:
            self._write_batch()
        if mine.error is not None:
            raise RecordFailed(f"could not record {kind}") from mine.error

    def _write_batch(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting, []
        try:
            interactions.record(self.engine, [(r.kind, r.body) for r in batch], now=self.clock())
        except Exception as error:
            for request in batch:
                request.error = error
        finally:
            # Whatever happened, the batch is answered and the turn moves on: a thread
            # left waiting here would hold up every later click.
            with self._lock:
                following = self._waiting[0] if self._waiting else None
                self._writing = following is not None
            for request in batch:
                request.written = True
                request.turn.set()
            if following is not None:
                following.turn.set()  # not written: its thread writes the next batch
        if batch[0].error is None:
            self._wake_worker()

    def _wake_worker(self) -> None:
        # Once per batch, not per request: waking another process is not free.
        try:
            self.wake()
        except Exception:  # recorded all the same; the worker looks again within a second
            log.warning("could not wake the worker", exc_info=True)


@dataclass(frozen=True)
class WorkerPolicy:
    lease: timedelta = timedelta(seconds=60)  # longer than any one request's work
    max_attempts: int = 3  # starts of a request whose worker died each time, before giving up
    idle: float = 1.0  # seconds between looks at the queue when nobody wakes the worker


class Worker:
    """Claims recorded requests one at a time, oldest first, and runs their deferred work."""

    def __init__(
        self,
        engine: Engine,
        work: Mapping[str, Work],
        *,
        clock: Callable[[], datetime],
        policy: WorkerPolicy = WorkerPolicy(),
        after: Callable[[], None] = lambda: None,
        responder: Callable[[str | None], Respond] = lambda url: Respond(response_url=url),
    ) -> None:
        self.engine, self.work, self.clock, self.policy = engine, work, clock, policy
        self.after = after  # e.g. kick the outbox drain
        self.responder = responder  # a request's response_url -> its respond()

    def drain(self, stop: Stop | None = None) -> int:
        """Apply requests until none is due or `stop` is set; returns how many were taken."""
        taken, finished = 0, None
        while True:
            try:
                # One transaction per request: delete the one just done, claim the next.
                with transaction(self.engine) as session:
                    if finished is not None:
                        self._complete(session, finished)
                    stopping = stop is not None and stop.is_set()
                    item = None if stopping else self._claim_next(session)
            except Exception:
                if finished is not None:  # the claim failed: keep what is done, done
                    with transaction(self.engine) as session:
                        self._complete(session, finished)
                raise
            if item is None:
                return taken
            taken += 1
            finished = item if self._apply(item) else None

    def _complete(self, session: Any, finished: Claimed) -> None:
        if not interactions.complete(session, finished):
            log.warning("interaction #%s: its lease expired before it was done", finished.id)

    def _claim_next(self, session: Any) -> Claimed | None:
        return interactions.claim_next(session, now=self.clock(), lease=self.policy.lease)

    def run(self, stop: Stop, wake: Wake) -> None:
        """Drain until `stop` is set; `wake` (rung by recorders, and on stop) ends an idle wait.

        After work, and on every wake (the web process also wakes the worker when it has
        queued a message itself), `after` runs: the outbox drain is kicked.
        """
        woken = False
        while not stop.is_set():
            try:
                if self.drain(stop) or woken:
                    self.after()
            except Exception:  # the store is unreachable, say: look again after the pause
                log.exception("interaction queue drain failed; retrying in %s s", self.policy.idle)
            woken = wake.wait(self.policy.idle)
            wake.clear()

    def _apply(self, item: Claimed) -> bool:
        """Run one request's work; False if it failed (and is recorded as failed)."""
        work = self.work.get(item.kind)
        respond = self.responder(item.body.get("response_url"))
        if work is None:
            self._give_up(item, respond, f"no work is registered for {item.kind}")
            return False
        if item.attempts > self.policy.max_attempts:
            why = f"the worker stopped during each of {item.attempts - 1} attempts"
            self._give_up(item, respond, why)
            return False
        try:
            work(Request(item.body, item.received_at), respond)
        except Exception as error:
            log.exception("interaction #%s (%s) failed", item.id, item.kind)
            self._give_up(item, respond, f"{type(error).__name__}: {error}")
            return False
        return True

    def _give_up(self, item: Claimed, respond: Respond, why: str) -> None:
        log.error("interaction #%s (%s) failed: %s", item.id, item.kind, why)
        with transaction(self.engine) as session:
            interactions.fail(session, item, why[:2000])
        if item.body.get("response_url"):
            try:
                respond(
                    response_type="ephemeral",
                    replace_original=False,
                    text=SORRY.format(id=item.id),
                )
            except Exception:  # the person is not told; the failed row and the log remain
                log.warning("interaction #%s: could not tell the user", item.id, exc_info=True)
