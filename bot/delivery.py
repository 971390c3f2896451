"""Whether Slack takes the outbox's messages now: a paused token, a refused alerts channel.

Both are rows in the store (`runtime_status`), so the web process (`/healthz`), every
worker and a cron `tick` see the same. A token Slack stops accepting pauses sending: rows
stay queued, a probe (`auth.test`) runs at most once a minute across all replicas, the log
says so once a minute, and sending resumes by itself when the probe succeeds. An alerts
channel Slack refuses (the bot was removed, the channel archived) is told to the admins by
DM, since a report in that channel would be refused too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from switchboard.bot.slack_transport import SlackTransport, Undelivered
from switchboard.store import runtime_status
from switchboard.store.engine import reading, transaction
from switchboard.store.outbox import OutboxKind, enqueue

log = logging.getLogger(__name__)
PAUSED = "outbox.paused"
ALERTS_CHANNEL = "slack.alerts_channel"
PROBE_EVERY = timedelta(minutes=1)


class Delivery:
    def __init__(
        self,
        engine: Engine,
        transport: SlackTransport,
        *,
        clock: Callable[[], datetime],
        alerts_channel: str,
        admins: Sequence[str],
    ) -> None:
        self.engine, self.transport, self.clock = engine, transport, clock
        self.alerts_channel, self.admins = alerts_channel, tuple(admins)

    # -- the token ------------------------------------------------------------------------

    def paused(self) -> bool:
        """Whether sending is paused; when a probe is due (and ours to run), run it."""
        with reading(self.engine) as session:
            pause = runtime_status.get(session, PAUSED)
        if pause is None:
            return False
        now = self.clock()
        with transaction(self.engine) as session:
            if not runtime_status.take_turn(session, PAUSED, now=now, every=PROBE_EVERY):
                return True  # probed within the minute, here or by another replica
        try:
            self.transport.probe()
        except Undelivered as problem:
            log.warning(
                "outbox paused since %s: Slack does not accept the token (%s); messages stay "
                "queued, next check in a minute",
                pause.since.isoformat(timespec="seconds"),
                problem.why,
            )
            return True
        with transaction(self.engine) as session:
            runtime_status.clear(session, PAUSED)
        log.warning("outbox resumed: Slack accepts the token again; sending what was queued")
        return False

    def pause(self, reason: str) -> None:
        with transaction(self.engine) as session:
            new = runtime_status.put(
                session, PAUSED, "paused", now=self.clock(), detail=f"Slack answered {reason}"
            )
        if new:
            log.error(
                "outbox paused: Slack answered %s; messages stay queued until it accepts the "
                "token (checked once a minute)",
                reason,
            )

    # -- the alerts channel ---------------------------------------------------------------

    def channel_refused(self, session: Session, channel: str, code: str) -> bool:
        """Record that Slack refuses the alerts channel and DM the admins, once per episode.

        True when `channel` is the alerts channel (the caller then does not report there).
        """
        if channel != self.alerts_channel:
            return False
        now = self.clock()
        if runtime_status.put(session, ALERTS_CHANNEL, code, now=now, detail=channel):
            log.error("Slack refuses the alerts channel %s: %s; telling the admins", channel, code)
            text = (
                f":warning: Switchboard cannot post in its alerts channel <#{channel}>: Slack "
                f"answered `{code}`. Alerts and failure reports are not reaching anyone. Invite "
                "the bot (`/invite @switchboard`) or fix `channels.alerts` in the manifest."
            )
            for admin in self.admins:
                enqueue(
                    session,
                    key=f"alerts-channel:{code}:{now.isoformat()}:{admin}",
                    kind=OutboxKind.DM,
                    channel=admin,
                    payload={"text": text},
                    now=now,
                )
        return True

    def channel_works(self, channel: str) -> None:
        """A message reached `channel`: if it is the alerts channel, any refusal is over."""
        if channel != self.alerts_channel:
            return
        with reading(self.engine) as session:
            refused = runtime_status.get(session, ALERTS_CHANNEL) is not None
        if refused:
            with transaction(self.engine) as session:
                runtime_status.clear(session, ALERTS_CHANNEL)
            log.warning("the alerts channel %s takes messages again", channel)
