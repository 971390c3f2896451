"""Draining the outbox: every message the bot sends leaves through here (DESIGN section 8).

A drain claims, through the lease mechanism, the head of each lane (a channel, or a person
for DMs: the oldest unsent row) when it is due and the lane has had no message in the last
second, plus every due reply to a response_url (answers to one person, neither ordered nor
paced), sends them and records the outcome. Messages to one channel therefore go out in
order, at most about one a second; 429 waits for Retry-After, 5xx and connection errors
back off, permanent Slack errors fail the row and are reported. Each post carries its
outbox key in Slack's message metadata, so a post whose outcome was lost in a crash can be
found in the channel rather than sent twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from switchboard.bot.delivery import Delivery
from switchboard.bot.outage import Outage
from switchboard.bot.slack_transport import CHANNEL_REFUSED, SlackTransport, Undelivered
from switchboard.store import audit
from switchboard.store.agent_state import not_held
from switchboard.store.engine import skip_locked, transaction
from switchboard.store.leases import Lease, claim, claimable, finish
from switchboard.store.outbox import OutboxKind, OutboxMessage, OutboxState, by_key, enqueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxPolicy:
    channel_interval: timedelta = timedelta(seconds=1)  # Slack allows ~1 message/s/channel
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8  # transient failures before a row is given up as failed
    max_respond_attempts: int = 4  # a response_url lives 30 minutes: give up sooner
    max_backoff: timedelta = timedelta(minutes=5)
    batch: int = 50
    # Seconds of real time between rounds of a drain: pacing for a caller whose clock stands
    # still (`switchboard tick --now`), where channel_interval, measured on it, cannot pass.
    round_interval: float = 0.0


# Called in the transaction that records a message's final outcome: (session, row, the error
# or None when Slack took it, now). Escalation steps are marked delivered this way.
Outcome = Callable[[Session, OutboxMessage, str | None, datetime], None]


@dataclass(frozen=True)
class Claimed:
    lease: Lease
    orphaned: bool  # found `sending` with its lease run out: its sender died mid-send


class Outbox:
    def __init__(
        self,
        engine: Engine,
        transport: SlackTransport,
        *,
        clock: Callable[[], datetime],
        alerts_channel: str,
        admins: Sequence[str] = (),
        policy: OutboxPolicy = OutboxPolicy(),
        on_outcome: Outcome | None = None,
    ) -> None:
        self.engine = engine
        self.on_outcome = on_outcome
        self.transport = transport
        self.clock = clock
        self.alerts_channel = alerts_channel
        self.policy = policy
        self.delivery = Delivery(
            engine, transport, clock=clock, alerts_channel=alerts_channel, admins=admins
        )
        self._backoff = BackoffRetryIntervalCalculator(backoff_factor=1.0)
        # Slack down (5xx, dropped connections): one line when it starts, one when it ends.
        self.slack = Outage("Slack's Web API", clock)

    def drain_once(self) -> int:
        """Claim and send every lane's due head once; returns how many were tried.

        While Slack refuses the token nothing is claimed; rows claimed when it starts to
        refuse go back, unsent and with no attempt used.
        """
        if self.delivery.paused():
            return 0
        claimed = self._claim()
        for n, item in enumerate(claimed):
            if not self._send(item):
                for rest in claimed[n + 1 :]:
                    self._put_back(rest.lease)
                return n + 1
        return len(claimed)

    def drain(self, rounds: int = 1000) -> int:
        """Drain until nothing is due (bounded), as the worker and tests do."""
        total = 0
        for n in range(rounds):
            if n and self.policy.round_interval:
                time.sleep(self.policy.round_interval)  # Slack's ~1 message/s per channel
            sent = self.drain_once()
            if not sent:
                break
            total += sent
        return total

    def run(
        self,
        stop: threading.Event,
        wake: threading.Event,
        idle: float = 1.0,
        outage: Outage | None = None,
    ) -> None:
        """Drain whenever woken (a change queued messages), and at least every `idle` seconds."""
        outage = outage or Outage("the outbox", self.clock)
        while not stop.is_set():
            try:
                self.drain()
                outage.worked()
            except Exception as error:  # the store is unreachable: look again after the pause
                outage.failed(error)
            wake.wait(idle)
            wake.clear()

    # -- claiming ---------------------------------------------------------------------

    def _due(self, now: datetime) -> Any:
        """Rows to send now: each lane's head when the lane is free, and every due reply."""
        unsent = (OutboxState.PENDING, OutboxState.SENDING)
        earlier = aliased(OutboxMessage)
        recent = aliased(OutboxMessage)
        # A paused agent's messages are held where they are: skipped when a lane's head is
        # chosen, so they block nobody, and sent in their turn once the agent resumes.
        head_id = (
            select(func.min(earlier.id))
            .where(
                earlier.channel == OutboxMessage.channel,
                earlier.state.in_(unsent),
                not_held(earlier.agent),
            )
            .scalar_subquery()
        )
        lane_busy = (
            select(recent.id)
            .where(
                recent.channel == OutboxMessage.channel,
                recent.sent_at > now - self.policy.channel_interval,
            )
            .exists()
        )
        lane_head = and_(
            OutboxMessage.channel.is_not(None), OutboxMessage.id == head_id, ~lane_busy
        )
        return (
            select(OutboxMessage.id, OutboxMessage.state)
            .where(
                or_(OutboxMessage.kind == OutboxKind.RESPOND, lane_head),
                OutboxMessage.state.in_(unsent),
                OutboxMessage.next_attempt_at <= now,
                claimable(OutboxMessage, now),
                not_held(OutboxMessage.agent),
            )
            .order_by(OutboxMessage.id)
            .limit(self.policy.batch)
        )

    def _claim(self) -> list[Claimed]:
        now = self.clock()
        with transaction(self.engine) as session:
            due = session.execute(skip_locked(self._due(now), session, of=OutboxMessage)).all()
            if not due:
                return []
            orphans = {row_id for row_id, state in due if state is OutboxState.SENDING}
            leases = claim(
                session,
                OutboxMessage,
                select(OutboxMessage.id).where(OutboxMessage.id.in_([d[0] for d in due])),
                now=now,
                lease=self.policy.lease,
                state=OutboxState.SENDING,
            )
        return [Claimed(lease, lease.id in orphans) for lease in leases]

    # -- sending ----------------------------------------------------------------------

    def _send(self, item: Claimed) -> bool:
        """Send one claimed row; False when Slack refused the token (stop this round)."""
        lease = item.lease
        with transaction(self.engine) as session:
            row = session.get_one(OutboxMessage, lease.id)
            parent = by_key(session, row.parent_key) if row.parent_key else None
        if row.parent_key and (parent is None or parent.ts is None):
            if parent is not None and parent.state is OutboxState.FAILED:
                self._fail(row, lease, f"parent message {row.parent_key} failed")
            else:  # not sent yet (held with a paused agent, say): waiting uses no attempt
                self._retry(
                    row, lease, "waiting for parent message", timedelta(seconds=5), count=False
                )
            return True
        try:
            found = self._already_posted(row, parent) if item.orphaned else None
            landed, ts = found or self._deliver(row, parent)
        except Undelivered as problem:
            if problem.auth:
                self._put_back(lease)
                self.delivery.pause(problem.code or problem.why)
                return False
            self._on_undelivered(row, lease, problem)
            return True
        now = self.clock()
        with transaction(self.engine) as session:
            recorded = finish(
                session,
                lease,
                state=OutboxState.SENT,
                ts=ts,
                posted_channel=landed,
                sent_at=now,
                last_error=None,
            )
            if recorded and self.on_outcome is not None:
                self.on_outcome(session, row, None, now)
        if landed is not None:
            self.delivery.channel_works(landed)
        self.slack.worked()
        return True

    def _already_posted(
        self, row: OutboxMessage, parent: OutboxMessage | None
    ) -> tuple[str, str] | None:
        """For a row whose sender died mid-send: Slack's copy of it, if the post went out.

        One history call per such row (so Slack's tighter history limits do not matter);
        updates and replies to a person are simply sent again (an update is idempotent).
        """
        if row.kind not in (OutboxKind.POST, OutboxKind.DM) or row.channel is None:
            return None
        channel = row.channel
        if row.kind is OutboxKind.DM:
            channel = self.transport.open_dm(channel)
        thread = parent.ts if parent else None
        ts = self.transport.find_posted(channel, row.key, thread_ts=thread)
        if ts is not None:
            log.warning(
                "outbox message %s was posted before a crash; recorded, not sent again", row.key
            )
            return channel, ts
        return None

    def _deliver(
        self, row: OutboxMessage, parent: OutboxMessage | None
    ) -> tuple[str | None, str | None]:
        """Send one row; returns (channel it landed in, ts), None for a reply."""
        payload = row.payload
        if row.kind is OutboxKind.RESPOND:
            self.transport.respond(payload)
            return None, None
        if row.kind is OutboxKind.UPDATE:
            assert parent is not None and parent.ts is not None
            channel = parent.posted_channel or parent.channel
            assert channel is not None
            self.transport.update(channel, parent.ts, payload)
            return channel, parent.ts
        assert row.channel is not None
        channel = row.channel
        if row.kind is OutboxKind.DM:
            channel = (parent.posted_channel if parent else None) or self.transport.open_dm(channel)
        thread = parent.ts if parent else None
        return self.transport.post(channel, payload, key=row.key, thread_ts=thread)

    def _on_undelivered(self, row: OutboxMessage, lease: Lease, problem: Undelivered) -> None:
        if problem.permanent:
            self._fail(row, lease, problem.why)
        elif problem.wait is not None:
            # A rate limit is Slack pacing us, not a failure: it does not use up an attempt.
            self._retry(row, lease, problem.why, problem.wait, count=False)
        else:
            self._on_transient(row, lease, problem.why)

    def _on_transient(self, row: OutboxMessage, lease: Lease, why: str) -> None:
        self.slack.failed(ConnectionError(why))
        attempts = row.attempts  # the claim counted this start
        limit = (
            self.policy.max_respond_attempts
            if row.kind is OutboxKind.RESPOND
            else self.policy.max_attempts
        )
        if attempts >= limit:
            self._fail(row, lease, f"gave up after {attempts} attempts: {why}")
            return
        wait = min(
            timedelta(seconds=self._backoff.calculate_sleep_duration(attempts)),
            self.policy.max_backoff,
        )
        self._retry(row, lease, why, wait)

    def _put_back(self, lease: Lease) -> None:
        """Unsent, for later, with no attempt used (its claim counted one)."""
        self._record(lease, state=OutboxState.PENDING, attempts=OutboxMessage.attempts - 1)

    def _retry(
        self, row: OutboxMessage, lease: Lease, why: str, wait: timedelta, count: bool = True
    ) -> None:
        # The claim counted this start; a wait Slack asked for gives it back.
        self._record(
            lease,
            state=OutboxState.PENDING,
            attempts=row.attempts if count else row.attempts - 1,
            next_attempt_at=self.clock() + wait,
            last_error=why,
        )

    def _fail(self, row: OutboxMessage, lease: Lease, why: str) -> None:
        """Permanent: mark failed and audit it; tell the alerts channel, unless it was a reply
        to one person (that person's request is done whatever became of its answer)."""
        now = self.clock()
        log.warning("outbox message %s (%s) failed: %s", row.key, row.kind.value, why)
        with transaction(self.engine) as session:
            if not finish(
                session,
                lease,
                state=OutboxState.FAILED,
                last_error=why,
            ):
                return
            if self.on_outcome is not None:
                self.on_outcome(session, row, why, now)
            audit.record(
                session,
                at=now,
                actor="outbox",
                action="outbox.failed",
                subject=f"outbox:{row.key}",
                before={"state": "sending"},
                after={
                    "state": "failed",
                    "error": why,
                    "kind": row.kind.value,
                    "channel": row.channel,
                },
            )
            if row.kind is OutboxKind.RESPOND or row.key.startswith("outbox-failed:"):
                return  # never report a failed report
            refused = row.channel is not None and why in CHANNEL_REFUSED
            if refused and self.delivery.channel_refused(session, row.channel, why):  # type: ignore[arg-type]
                return  # the alerts channel itself: the admins are told by DM
            target = f"<#{row.channel}>" if row.kind is not OutboxKind.DM else f"<@{row.channel}>"
            enqueue(
                session,
                key=f"outbox-failed:{row.id}",
                kind=OutboxKind.POST,
                channel=self.alerts_channel,
                payload={
                    "text": f":warning: Switchboard could not deliver a message to {target} "
                    f"({row.kind.value} `{row.key}`): {why}. It will not be retried."
                },
                now=now,
            )

    def _record(self, lease: Lease, **values: Any) -> bool:
        """Write the outcome only if our claim still stands (a stale sender changes nothing)."""
        with transaction(self.engine) as session:
            return finish(session, lease, **values)
