"""`switchboard tick`: one tick as of a given moment, with the outbox to SLACK_API_URL.

Every time the tick records is its `now`; the outbox's per-channel pacing (about one message
a second) waits in real time instead, so one tick delivers everything it queues.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from switchboard.bot.app import outbox_transport
from switchboard.bot.escalations import EscalationDriver
from switchboard.bot.job_kinds import job_kinds
from switchboard.bot.jobs import JobRunner
from switchboard.bot.outbox import Outbox, OutboxPolicy
from switchboard.bot.runtime import Runtime
from switchboard.bot.tick import Tick
from switchboard.store.engine import reading
from switchboard.store.manifest import Role
from switchboard.store.outbox import OutboxMessage, OutboxState

TICK_OUTBOX = OutboxPolicy(channel_interval=timedelta(0), round_interval=1.0)


def build_tick(rt: Runtime, now: datetime, *, outbox_policy: OutboxPolicy = TICK_OUTBOX) -> Tick:
    """A tick on `rt` whose clock stands at `now`; the outbox only with a bot token."""
    clock = lambda: now  # noqa: E731 - the tick's clock stands still
    driver = EscalationDriver(rt.engine, rt.manifest, clock)
    outbox = None
    if rt.settings.slack_bot_token is not None:
        outbox = Outbox(
            rt.engine,
            outbox_transport(rt.settings),
            clock=clock,
            alerts_channel=rt.manifest.channels.alerts,
            admins=sorted(rt.manifest.with_role(Role.ADMIN)),
            policy=outbox_policy,
            on_outcome=driver.record_delivery,
        )
    jobs = JobRunner(rt.engine, rt.manifest, job_kinds(rt.settings, rt.engine, clock), clock)
    return Tick(rt.engine, rt.manifest, clock, driver, jobs=jobs, outbox=outbox)


def unsent(rt: Runtime) -> int:
    waiting = (OutboxState.PENDING, OutboxState.SENDING)
    query = select(func.count()).where(OutboxMessage.state.in_(waiting))  # type: ignore[attr-defined]
    with reading(rt.engine) as session:
        return int(session.scalar(query) or 0)


def run_tick(rt: Runtime, now: datetime) -> list[str]:
    """Run one tick as of `now`; its summary, one line per part."""
    tick = build_tick(rt, now)
    report = tick.run()
    lines = tick.lines(report)
    left = unsent(rt)
    if tick.outbox is None:
        lines.append(f"outbox: {left} message(s) queued; no SLACK_BOT_TOKEN, so none were sent")
    elif left:
        lines[-1] += f", {left} waiting to be retried"
    return [f"tick as of {now.isoformat(timespec='seconds')}", *lines]
