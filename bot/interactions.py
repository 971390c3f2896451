"""Both ends of the interaction queue (`store/interactions.py`): record, then apply.

The split exists for the acknowledgement: Slack waits at most 3 seconds for it, and one
Python process can acknowledge far more clicks per second than it can apply. Recording is
one small insert in the web process; applying (authorize, compare-and-set, audit,
re-render, answer through the outbox) runs in the worker, one request at a time, oldest
first, so a burst of clicks queues there and never in front of an ack.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from switchboard.bot.outage import Outage
from switchboard.handlers.commands import Command
from switchboard.handlers.work import Reply, Work, apply, queue_replies, say
from switchboard.store import interactions
from switchboard.store.engine import is_transient, reading, transaction
from switchboard.store.interactions import Claimed, InteractionState, NewRequest
from switchboard.store.leases import finish
from switchboard.store.manifest import AgencyManifest

log = logging.getLogger(__name__)
SORRY = "Sorry, that could not be completed; it is logged as interaction #{id}."


class Stop(Protocol):
    """bot.worker.StopFlag across processes, threading.Event in one."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...


class Wake(Protocol):
    """What wakes a loop: bot.worker.Doorbell across processes, threading.Event in one."""

    def set(self) -> None: ...
    def clear(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class RecordFailed(RuntimeError):
    """The request could not be stored, so it must not be acknowledged."""


def new_request(command: Command, request_key: str | None) -> NewRequest:
    return NewRequest(command.kind, command.model_dump_json(), request_key)


class _Pending:
    """A request waiting for its commit."""

    __slots__ = ("duplicate", "error", "request", "turn", "written")

    def __init__(self, request: NewRequest) -> None:
        self.request = request
        self.turn = threading.Event()  # set when written, or when it is this thread's turn
        self.written = False
        self.duplicate = False
        self.error: Exception | None = None


class Recorder:
    """The web process's end: record a command durably, then wake the worker.

    Group commit: one thread at a time writes, and it writes every request waiting at that
    moment in one statement (one fsync); then it hands the turn to the first request that
    arrived meanwhile. Each waiting thread sleeps on its own event, so a batch's threads
    wake together instead of queueing on a lock one by one, which under a busy GIL cost
    milliseconds each.
    """

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime], wake: Callable[[], None]
    ) -> None:
        self.engine, self.clock, self.wake = engine, clock, wake
        self.outage = Outage("recording Slack requests", clock)
        self._lock = threading.Lock()  # guards the two fields below
        self._waiting: list[_Pending] = []
        self._writing = False

    def __call__(self, command: Command, request_key: str | None) -> bool:
        """Record `command`; False if its request was recorded before (a replay or a retry)."""
        mine = _Pending(new_request(command, request_key))
        with self._lock:
            self._waiting.append(mine)
            my_turn = not self._writing
            self._writing = True
        if not my_turn:
            mine.turn.wait()
        if not mine.written:
            self._write_batch()
        if mine.error is not None:
            raise RecordFailed(f"could not record {command.kind}") from mine.error
        return not mine.duplicate

    def _write_batch(self) -> None:
        with self._lock:
            batch = self._waiting[: interactions.MAX_BATCH]
            del self._waiting[: len(batch)]
        try:
            known = interactions.record(
                self.engine, [pending.request for pending in batch], now=self.clock()
            )
            for pending in batch:
                pending.duplicate = pending.request.request_key in known
            self.outage.worked()
        except Exception as error:
            self.outage.failed(error)
            for pending in batch:
                pending.error = error
        finally:
            # Whatever happened, the batch is answered and the turn moves on: a thread
            # left waiting here would hold up every later click.
            with self._lock:
                following = self._waiting[0] if self._waiting else None
                self._writing = following is not None
            for pending in batch:
                pending.written = True
                pending.turn.set()
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


@dataclass(frozen=True, kw_only=True)
class ApplyNow:
    """Apply a command in the web process (a modal's submission: its answer is its ack).

    The request is recorded as done afterwards, so a replay of the same submission is
    recognised; one that failed or was refused may be submitted again. (Slack keeps a
    modal's hash when the answer is only errors under its inputs: the person's corrected
    submission carries the same view id and hash as the refused one.)
    """

    queue: Engine
    store: Engine
    manifest: AgencyManifest
    work: Mapping[str, Work[Any]]
    clock: Callable[[], datetime]
    wake: Callable[[], None]

    def __call__(self, command: Command, request_key: str | None) -> Sequence[Reply] | None:
        if request_key is not None:
            with reading(self.queue) as session:
                if interactions.seen(session, request_key):
                    return None
        now = self.clock()
        work = self.work[command.kind]
        replies = apply(self.store, self.manifest, work, command, now=now, reply_key=None)
        if request_key is not None and not any(reply.refused for reply in replies):
            with transaction(self.queue) as session:
                interactions.record_done(session, new_request(command, request_key), now=now)
        self.wake()  # the change queued re-renders for the outbox
        return replies


@dataclass(frozen=True)
class QueuePolicy:
    lease: timedelta = timedelta(seconds=60)  # longer than any one request's work
    max_attempts: int = 5  # starts (a worker died, or a database error) before giving up
    retry_after: timedelta = timedelta(seconds=1)  # after a transient error, doubled each time
    idle: float = 0.5  # seconds between looks at the queue when nobody wakes the worker


@dataclass(kw_only=True)
class InteractionRunner:
    """Claims recorded commands one at a time, oldest first, and applies them.

    A command is done once its transaction in the store commits; its answer to the person
    was queued in that transaction, so whatever happens to the reply afterwards, the click
    stays done. A transient database error puts the command back, to be retried with
    backoff under a new lease; any other error fails it, and the person is told.
    """

    queue: Engine
    store: Engine
    manifest: AgencyManifest
    work: Mapping[str, Work[Any]]
    clock: Callable[[], datetime]
    policy: QueuePolicy = field(default_factory=QueuePolicy)
    on_commit: Callable[[], None] = lambda: None
    outage: Outage | None = None  # shared by the worker's loops: one line per outage

    def drain(self, stop: Stop | None = None) -> int:
        """Apply commands until none is due or `stop` is set; returns how many were taken.

        A request applied is marked done in the same queue transaction that claims the next:
        one write to the queue per click, not two (the queue's write lock is what clicks wait
        on). If that transaction fails, the done mark is written on its own.
        """
        taken = 0
        done: Claimed | None = None
        try:
            while not (stop is not None and stop.is_set()):
                with transaction(self.queue) as session:
                    if done is not None:
                        self._mark_done(session, done)
                    item = interactions.claim_next(
                        session, now=self.clock(), lease=self.policy.lease
                    )
                done = None
                if item is None:
                    return taken
                taken += 1
                if self._apply(item):
                    done = item
        finally:
            if done is not None:
                self._finish(done, state=InteractionState.DONE, finished_at=self.clock())
        return taken

    def run(self, stop: Stop, wake: Wake) -> None:
        """Drain until `stop` is set; `wake` (rung by recorders, and on stop) ends an idle wait.

        A wake also passes `on_commit` on: the web process rings after a modal's change too,
        which queued messages of its own.
        """
        outage = self.outage or Outage("the interaction queue", self.clock)
        while not stop.is_set():
            try:
                self.drain(stop)
                outage.worked()
            except Exception as error:  # the store is unreachable, say: look again later
                outage.failed(error)
            if wake.wait(self.policy.idle):
                self.on_commit()
            wake.clear()

    def _apply(self, item: Claimed) -> bool:
        """Apply `item`; True when it worked and is to be marked done (`drain` does that)."""
        work = self.work.get(item.kind)
        try:
            if work is None:
                raise ValueError(f"no work is registered for {item.kind}")
            command = work.command.model_validate_json(item.body)
        except (ValueError, ValidationError) as error:
            self._give_up(item, None, f"unreadable command: {error}")
            return False
        if item.attempts > self.policy.max_attempts:
            self._give_up(item, command, f"not completed in {item.attempts - 1} attempts")
            return False
        try:
            apply(
                self.store,
                self.manifest,
                work,
                command,
                now=self.clock(),
                reply_key=f"interaction:{item.id}",
            )
        except Exception as error:
            if is_transient(error) and item.attempts < self.policy.max_attempts:
                self._retry_later(item, error)
            else:
                log.exception("interaction #%s (%s) failed", item.id, item.kind)
                self._give_up(item, command, f"{type(error).__name__}: {error}")
            return False
        self.on_commit()
        return True

    def _retry_later(self, item: Claimed, error: Exception) -> None:
        wait = self.policy.retry_after * 2 ** (item.attempts - 1)
        log.warning(
            "interaction #%s: database busy or unreachable (%s); retrying in %s s",
            item.id,
            type(error).__name__,
            wait.total_seconds(),
        )
        self._finish(
            item,
            state=InteractionState.PENDING,
            run_at=self.clock() + wait,
            last_error=f"{type(error).__name__}: {str(error)[:500]}",
        )

    def _finish(self, item: Claimed, **values: Any) -> None:
        with transaction(self.queue) as session:
            self._record(session, item, **values)

    def _mark_done(self, session: Session, item: Claimed) -> None:
        self._record(session, item, state=InteractionState.DONE, finished_at=self.clock())

    @staticmethod
    def _record(session: Session, item: Claimed, **values: Any) -> None:
        if not finish(session, item.lease, **values):
            log.warning("interaction #%s: its lease expired before it was done", item.id)

    def _give_up(self, item: Claimed, command: Command | None, why: str) -> None:
        log.error("interaction #%s (%s) failed: %s", item.id, item.kind, why)
        self._finish(
            item, state=InteractionState.FAILED, finished_at=self.clock(), last_error=why[:2000]
        )
        if command is None:
            command = _origin_only(item.body)
        if command is None or command.origin.response_url is None:
            return
        try:
            with transaction(self.store) as session:
                sorry = say(SORRY.format(id=item.id))
                queue_replies(
                    session, command, sorry, key=f"interaction:{item.id}:failed", now=self.clock()
                )
            self.on_commit()
        except Exception:  # the person is not told; the failed row and the log remain
            log.warning("interaction #%s: could not tell the user", item.id, exc_info=True)


def _origin_only(body: str) -> Command | None:
    """What can be read of a command that failed to parse: who asked, where to answer."""
    try:
        return Command.model_validate({"origin": json.loads(body)["origin"]})
    except (ValueError, KeyError, TypeError, ValidationError):
        return None
