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

import http.client
import logging
import socket
import threading
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.webhook import WebhookClient
from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.orm import aliased

from switchboard.store import audit
from switchboard.store.engine import transaction
from switchboard.store.leases import Lease, claim, claimable, finish
from switchboard.store.outbox import OutboxKind, OutboxMessage, OutboxState, by_key, enqueue

log = logging.getLogger(__name__)
METADATA_EVENT = "switchboard_outbox"

# Slack error codes worth another try; any other error code is permanent.
RETRYABLE_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
CONNECTION_ERRORS = (
    ConnectionError,
    TimeoutError,
    socket.timeout,
    urllib.error.URLError,
    http.client.HTTPException,
)
RESPOND_TIMEOUT = 5  # seconds: a reply to a person is short, and Slack answers it at once


@dataclass(frozen=True)
class OutboxPolicy:
    channel_interval: timedelta = timedelta(seconds=1)  # Slack allows ~1 message/s/channel
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8  # transient failures before a row is given up as failed
    max_respond_attempts: int = 4  # a response_url lives 30 minutes: give up sooner
    max_backoff: timedelta = timedelta(minutes=5)
    batch: int = 50


class Undelivered(Exception):
    """A send that did not reach Slack, and what to do about it."""

    def __init__(
        self, why: str, *, permanent: bool, code: str | None = None, wait: timedelta | None = None
    ) -> None:
        super().__init__(why)
        self.why, self.permanent, self.code, self.wait = why, permanent, code, wait


def _undelivered(status: int, code: str | None, retry_after: str | None) -> Undelivered:
    if status == 429:
        try:
            wait = timedelta(seconds=max(1, min(int(retry_after or 1), 3600)))
        except ValueError:  # Retry-After may be a date, or junk: wait a second and look again
            wait = timedelta(seconds=1)
        return Undelivered("ratelimited", permanent=False, code="ratelimited", wait=wait)
    if status >= 500 or code in RETRYABLE_ERRORS:
        return Undelivered(f"HTTP {status}: {code or 'server error'}", permanent=False, code=code)
    return Undelivered(code or f"HTTP {status}", permanent=True, code=code)


class SlackTransport:
    """The Web API calls the outbox makes, each either done or raising Undelivered."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Slack's errors and connection failures, as Undelivered."""
        try:
            yield
        except SlackApiError as error:
            response = error.response
            code = response.get("error") if isinstance(response.data, dict) else None
            raise _undelivered(
                response.status_code, code, response.headers.get("Retry-After")
            ) from None
        except CONNECTION_ERRORS as error:
            raise Undelivered(f"connection error: {error!r}", permanent=False) from None

    def post(
        self, channel: str, payload: dict[str, Any], *, key: str, thread_ts: str | None
    ) -> tuple[str, str]:
        """Post; returns (channel it landed in, ts)."""
        with self._translated():
            response = self.client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload.get("blocks"),
                thread_ts=thread_ts,
                unfurl_links=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
            )
        return response["channel"], response["ts"]

    def open_dm(self, user: str) -> str:
        with self._translated():
            response = self.client.conversations_open(users=user)
        return response["channel"]["id"]

    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        with self._translated():
            self.client.chat_update(
                channel=channel, ts=ts, text=payload["text"], blocks=payload.get("blocks")
            )

    def respond(self, payload: dict[str, Any]) -> None:
        body = {k: v for k, v in payload.items() if k != "response_url"}
        webhook = WebhookClient(payload["response_url"], timeout=RESPOND_TIMEOUT)
        try:
            answer = webhook.send_dict(body)
        except CONNECTION_ERRORS as error:
            raise Undelivered(f"connection error: {error!r}", permanent=False) from None
        if answer.status_code != 200:
            raise _undelivered(
                answer.status_code, answer.body or None, answer.headers.get("Retry-After")
            )


class Outbox:
    def __init__(
        self,
        engine: Engine,
        transport: SlackTransport,
        *,
        clock: Callable[[], datetime],
        alerts_channel: str,
        policy: OutboxPolicy = OutboxPolicy(),
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.clock = clock
        self.alerts_channel = alerts_channel
        self.policy = policy
        self._backoff = BackoffRetryIntervalCalculator(backoff_factor=1.0)

    def drain_once(self) -> int:
        """Claim and send every lane's due head once; returns how many were tried."""
        leases = self._claim()
        for lease in leases:
            self._send(lease)
        return len(leases)

    def drain(self, rounds: int = 1000) -> int:
        """Drain until nothing is due (bounded), as the worker and tests do."""
        total = 0
        for _ in range(rounds):
            sent = self.drain_once()
            if not sent:
                break
            total += sent
        return total

    def run(self, stop: threading.Event, wake: threading.Event, idle: float = 1.0) -> None:
        """Drain whenever woken (a change queued messages), and at least every `idle` seconds."""
        while not stop.is_set():
            try:
                self.drain()
            except Exception:  # the store is unreachable: look again after the pause
                log.exception("outbox drain failed; retrying in %s s", idle)
            wake.wait(idle)
            wake.clear()

    # -- claiming ---------------------------------------------------------------------

    def _due(self, now: datetime) -> Any:
        """Rows to send now: each lane's head when the lane is free, and every due reply."""
        unsent = (OutboxState.PENDING, OutboxState.SENDING)
        earlier = aliased(OutboxMessage)
        recent = aliased(OutboxMessage)
        head_id = (
            select(func.min(earlier.id))
            .where(earlier.channel == OutboxMessage.channel, earlier.state.in_(unsent))
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
            select(OutboxMessage.id)
            .where(
                or_(OutboxMessage.kind == OutboxKind.RESPOND, lane_head),
                OutboxMessage.state.in_(unsent),
                OutboxMessage.next_attempt_at <= now,
                claimable(OutboxMessage, now),
            )
            .order_by(OutboxMessage.id)
            .limit(self.policy.batch)
        )

    def _claim(self) -> list[Lease]:
        now = self.clock()
        with transaction(self.engine) as session:
            return claim(
                session,
                OutboxMessage,
                self._due(now),
                now=now,
                lease=self.policy.lease,
                state=OutboxState.SENDING,
            )

    # -- sending ----------------------------------------------------------------------

    def _send(self, lease: Lease) -> None:
        with transaction(self.engine) as session:
            row = session.get_one(OutboxMessage, lease.id)
            parent = by_key(session, row.parent_key) if row.parent_key else None
        if row.parent_key and (parent is None or parent.ts is None):
            if parent is not None and parent.state is OutboxState.FAILED:
                self._fail(row, lease, f"parent message {row.parent_key} failed")
            else:
                self._retry(row, lease, "waiting for parent message", timedelta(seconds=5))
            return
        try:
            landed, ts = self._deliver(row, parent)
        except Undelivered as problem:
            self._on_undelivered(row, lease, problem)
            return
        self._record(
            lease,
            state=OutboxState.SENT,
            ts=ts,
            posted_channel=landed,
            sent_at=self.clock(),
            last_error=None,
        )

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
