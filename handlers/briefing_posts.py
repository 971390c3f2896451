"""Posting the briefing: claimed once per channel and agency-local day, then queued in the
outbox (the message, its thread replies) with the chart as a job, in one transaction."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from switchboard.agents.briefing import Briefing, compose
from switchboard.handlers.views.briefing import briefing_view
from switchboard.store import audit, briefings, jobs
from switchboard.store.briefings import BriefingRun
from switchboard.store.manifest import AgencyManifest
from switchboard.store.outbox import OutboxKind, enqueue

CHART_JOB = "briefing.chart"


def post_key(channel: str, day: date) -> str:
    return f"briefing:{channel}:{day.isoformat()}"


def post_briefing(
    session: Session, manifest: AgencyManifest, *, day: date, now: datetime, actor: str
) -> tuple[BriefingRun, Briefing] | None:
    """Queue the briefing of `day` unless it was posted already (None then)."""
    channel = manifest.channels.briefing
    run = briefings.claim(session, channel=channel, day=day, now=now)
    if run is None:
        return None
    briefing = compose(session, manifest, day=day, now=now)
    view = briefing_view(briefing)
    key = post_key(channel, day)
    enqueue(
        session,
        key=key,
        kind=OutboxKind.POST,
        channel=channel,
        payload=view.main.payload(),
        now=now,
    )
    for n, reply in enumerate(view.thread, 1):
        enqueue(
            session,
            key=f"{key}:thread:{n}",
            kind=OutboxKind.POST,
            channel=channel,
            payload=reply.payload(),
            parent_key=key,
            now=now,
        )
    jobs.enqueue(session, kind=CHART_JOB, key=f"chart:{key}", payload={"run_id": run.id}, now=now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="briefing.post",
        subject=key,
        after={"sections": {s.key.value: len(s.items) for s in briefing.sections}},
    )
    return run, briefing
