"""When the briefing posts, and its chart job.

The briefing posts at a fire time of the manifest's `briefing.cron` (agency time) on the
same agency-local day: a tick after a missed morning posts that day's briefing late, never
an earlier day's, and a day with no fire time (a weekend, for a weekday schedule) posts
nothing. `briefings.claim` makes it once per channel and day, whoever ticks.

The chart is one slow job: it draws the PNG once (kept on the job row, not in a payload),
waits for the briefing's message to be posted, then uploads into its thread with Slack's
external upload flow (slack_sdk's `files_upload_v2`: `files.getUploadURLExternal`, the
upload, `files.completeUploadExternal`). A crash between the upload and the job's end
uploads the chart again on the retry.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from switchboard.agents.pacing import evaluate
from switchboard.bot.chart import render_chart
from switchboard.bot.jobs import GiveUp, JobContext, JobKind, RetryLater
from switchboard.handlers.briefing_posts import CHART_JOB, post_briefing, post_key
from switchboard.store import briefings
from switchboard.store.briefings import BriefingRun
from switchboard.store.engine import reading, transaction
from switchboard.store.jobs import Job
from switchboard.store.manifest import AgencyManifest
from switchboard.store.outbox import OutboxState, by_key

WAIT_FOR_POST = timedelta(seconds=5)  # the outbox posts within a second or two


def due_day(manifest: AgencyManifest, now: datetime) -> date | None:
    """The agency-local day whose briefing is due at `now`, or None."""
    tz = manifest.tz
    today = manifest.today(now)
    schedule = CronTrigger.from_crontab(manifest.briefing.cron, tz)
    midnight = datetime.combine(today, time(0), tzinfo=tz)
    fire = schedule.get_next_fire_time(None, midnight)
    if fire is None or manifest.today(fire) != today or fire > now:
        return None
    return today


def post_if_due(engine: Engine, manifest: AgencyManifest, now: datetime) -> int:
    """Post today's briefing if it is due and not posted yet; 1 if it was queued now."""
    day = due_day(manifest, now)
    if day is None:
        return 0
    with reading(engine) as session:  # every tick after 08:30 looks: a read, not a write
        if briefings.posted(session, channel=manifest.channels.briefing, day=day):
            return 0
    with transaction(engine) as session:
        return int(post_briefing(session, manifest, day=day, now=now, actor="schedule") is not None)


def chart_job(client: WebClient) -> JobKind:
    def run(ctx: JobContext) -> None:
        with transaction(ctx.engine) as session:
            job = session.get_one(Job, ctx.job.id)
            briefing = session.get_one(BriefingRun, int(job.payload["run_id"]))
            if job.artifact is None:
                report = evaluate(session, as_of=briefing.day, thresholds=ctx.manifest.pacing)
                job.artifact = render_chart(report, ctx.manifest.pacing)
            png = job.artifact
            parent = by_key(session, post_key(briefing.channel, briefing.day))
            if parent is not None and parent.state is OutboxState.FAILED:
                raise GiveUp("the briefing's message could not be posted")
            thread = parent.ts if parent else None
            channel = (parent.posted_channel if parent else None) or briefing.channel
            day = briefing.day
        if thread is None:
            raise RetryLater("the briefing is not posted yet", WAIT_FOR_POST)
        try:
            client.files_upload_v2(
                content=png,
                filename=f"pacing-{day}.png",
                title=f"Pacing {day}",
                channel=channel,
                thread_ts=thread,
            )
        except SlackApiError as error:
            raise RuntimeError(f"Slack refused the chart: {error.response.get('error')}") from None

    return JobKind(name=CHART_JOB, run=run, retry_after=timedelta(minutes=1))
