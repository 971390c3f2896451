"""Draining the outbox: every message the bot sends leaves through here (DESIGN section 8).

A drain claims the head of each channel's queue (oldest unsent row) when it is due and the
channel has had no message in the last second, sends it, and records the outcome. Claims
are leases: a sender that dies is replaced once the lease runs out. Messages to one channel
therefore go out in order, at most about one a second; 429 waits for Retry-After, 5xx and
connection errors back off, permanent Slack errors fail the row and are reported.
"""

from __future__ import annotations

import http.client
import logging
import socket
import urllib.error
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm import aliased

from switchboard.store import audit
from switchboard.store.engine import transaction
from switchboard.store.outbox import OutboxKind, OutboxMessage, OutboxState, by_key, enqueue

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class OutboxPolicy:
    channel_interval: timedelta = timedelta(seconds=1)  # Slack allows ~1 message/s/channel
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8  # transient failures before a row is given up as failed
    max_backoff: timedelta = timedelta(minutes=5)
    batch: int = 50


class Outbox:
    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        *,
        clock: Callable[[], datetime],
        alerts_channel: str,
        policy: OutboxPolicy = OutboxPolicy(),
    ) -> None:
        self.engine = engine
        self.client = client
        self.clock = clock
        self.alerts_channel = alerts_channel
        self.policy = policy
        self._backoff = BackoffRetryIntervalCalculator(backoff_factor=1.0)

    def drain_once(self) -> int:
        """Claim and send every channel's due head once; returns how many were tried."""
        claimed = self._claim()
        for row_id, token in claimed:
            self._send(row_id, token)
        return len(claimed)

    def drain(self, rounds: int = 1000) -> int:
        """Drain until nothing is due (bounded), as the scheduler and tests do."""
        total = 0
        for _ in range(rounds):
            sent = self.drain_once()
            if not sent:
                break
            total += sent
        return total

    # -- claiming ---------------------------------------------------------------------

    def _due_heads(self, now: datetime) -> Any:
        unsent = (OutboxState.PENDING, OutboxState.SENDING)
        earlier = aliased(OutboxMessage)
        recent = aliased(OutboxMessage)
        head_id = (
            select(func.min(earlier.id))
            .where(earlier.channel == OutboxMessage.channel, earlier.state.in_(unsent))
            .scalar_subquery()
        )
        channel_busy = (
            select(recent.id)
            .where(
                recent.channel == OutboxMessage.channel,
                recent.sent_at > now - self.policy.channel_interval,
            )
            .exists()
        )
        return (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.id == head_id,
                OutboxMessage.next_attempt_at <= now,
                or_(
                    OutboxMessage.state == OutboxState.PENDING,
                    and_(
                        OutboxMessage.state == OutboxState.SENDING,
                        OutboxMessage.claim_expires_at < now,
                    ),
                ),
                ~channel_busy,
            )
            .order_by(OutboxMessage.id)
            .limit(self.policy.batch)
        )

    def _claim(self) -> list[tuple[int, str]]:
        now = self.clock()
        claimed = []
        with transaction(self.engine) as session:
            query = self._due_heads(now)
            if session.get_bind().dialect.name == "postgresql":
                # Replicas skip each other's rows instead of waiting on them.
                query = query.with_for_update(skip_locked=True, of=OutboxMessage)
            for row_id in session.scalars(query).all():
                token = str(uuid.uuid4())
                taken = session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == row_id,
                        or_(
                            OutboxMessage.state == OutboxState.PENDING,
                            OutboxMessage.claim_expires_at < now,
                        ),
                    )
                    .values(
                        state=OutboxState.SENDING,
                        claim_token=token,
                        claim_expires_at=now + self.policy.lease,
                    )
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append((row_id, token))
        return claimed

    # -- sending ----------------------------------------------------------------------

    def _send(self, row_id: int, token: str) -> None:
        with transaction(self.engine) as session:
            row = session.get_one(OutboxMessage, row_id)
            parent = by_key(session, row.parent_key) if row.parent_key else None
        if row.parent_key and (parent is None or parent.ts is None):
            if parent is not None and parent.state is OutboxState.FAILED:
                self._fail(row, token, f"parent message {row.parent_key} failed")
            else:
                self._retry(row, token, "waiting for parent message", timedelta(seconds=5))
            return
        try:
            ts = self._call_slack(row, parent)
        except SlackApiError as error:
            self._on_slack_error(row, token, error)
        except CONNECTION_ERRORS as error:
            self._on_transient(row, token, f"connection error: {error!r}")
        else:
            self._record(
                row.id,  # type: ignore[arg-type]
                token,
                state=OutboxState.SENT,
                ts=ts,
                sent_at=self.clock(),
                last_error=None,
            )

    def _call_slack(self, row: OutboxMessage, parent: OutboxMessage | None) -> str:
        payload = row.payload
        if row.kind is OutboxKind.UPDATE:
            assert parent is not None and parent.ts is not None
            response = self.client.chat_update(
                channel=parent.channel,
                ts=parent.ts,
                text=payload["text"],
                blocks=payload.get("blocks"),
            )
            return response["ts"]
        response = self.client.chat_postMessage(
            channel=row.channel,
            text=payload["text"],
            blocks=payload.get("blocks"),
            thread_ts=parent.ts if parent else None,
            unfurl_links=False,
        )
        return response["ts"]

    def _on_slack_error(self, row: OutboxMessage, token: str, error: SlackApiError) -> None:
        status = error.response.status_code
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        if status == 429:
            retry_after = int(error.response.headers.get("Retry-After", 1))
            # A rate limit is Slack pacing us, not a failure: it does not use up an attempt.
            self._retry(row, token, "ratelimited", timedelta(seconds=retry_after), count=False)
        elif status >= 500 or code in RETRYABLE_ERRORS:
            self._on_transient(row, token, f"HTTP {status}: {code or 'server error'}")
        else:
            self._fail(row, token, code or f"HTTP {status}")

    def _on_transient(self, row: OutboxMessage, token: str, why: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self.policy.max_attempts:
            self._fail(row, token, f"gave up after {attempts} attempts: {why}", attempts=attempts)
            return
        wait = min(
            timedelta(seconds=self._backoff.calculate_sleep_duration(attempts)),
            self.policy.max_backoff,
        )
        self._retry(row, token, why, wait)

    def _retry(
        self, row: OutboxMessage, token: str, why: str, wait: timedelta, count: bool = True
    ) -> None:
        self._record(
            row.id,  # type: ignore[arg-type]
            token,
            state=OutboxState.PENDING,
            attempts=row.attempts + 1 if count else row.attempts,
            next_attempt_at=self.clock() + wait,
            last_error=why,
        )

    def _fail(self, row: OutboxMessage, token: str, why: str, attempts: int | None = None) -> None:
        """Permanent: mark failed, audit it, and tell the alerts channel (once per row)."""
        now = self.clock()
        log.warning("outbox message %s to %s failed: %s", row.key, row.channel, why)
        with transaction(self.engine) as session:
            if not self._record_in(
                session,
                row.id,
                token,
                state=OutboxState.FAILED,
                last_error=why,  # type: ignore[arg-type]
                attempts=attempts if attempts is not None else row.attempts + 1,
            ):
                return
            audit.record(
                session,
                at=now,
                actor="outbox",
                action="outbox.failed",
                subject=f"outbox:{row.key}",
                before={"state": "sending"},
                after={"state": "failed", "error": why, "channel": row.channel},
            )
            if not row.key.startswith("outbox-failed:"):  # never report a failed report
                enqueue(
                    session,
                    key=f"outbox-failed:{row.id}",
                    kind=OutboxKind.POST,
                    channel=self.alerts_channel,
                    payload={
                        "text": f":warning: Switchboard could not deliver a message to "
                        f"<#{row.channel}> ({row.kind.value} `{row.key}`): {why}. "
                        "It will not be retried."
                    },
                    now=now,
                )

    def _record(self, row_id: int, token: str, **values: Any) -> bool:
        with transaction(self.engine) as session:
            return self._record_in(session, row_id, token, **values)

    @staticmethod
    def _record_in(session: Any, row_id: int, token: str, **values: Any) -> bool:
        """Write the outcome only if our claim still stands (a stale sender changes nothing)."""
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.claim_token == token)
            .values(claim_token=None, claim_expires_at=None, **values)
        )
        return result.rowcount == 1
