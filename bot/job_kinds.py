"""Every kind of job the worker runs, built for the process's settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from switchboard.bot.app import sdk_client
from switchboard.bot.briefing import chart_job
from switchboard.bot.drafting import draft_job, drafter_for
from switchboard.bot.email import EmailGateway, EmailSettings
from switchboard.bot.jobs import JobKind
from switchboard.bot.sending import send_job
from switchboard.bot.settings import Settings


def job_kinds(
    settings: Settings, engine: Engine, clock: Callable[[], datetime]
) -> dict[str, JobKind]:
    """Drafting (the model, or the offline template), email sends (the gateway) and, with a
    Slack token, the briefing's chart.

    Raises SettingsError for email settings that cannot work (one line naming the variable).
    """
    gateway = EmailGateway(engine, EmailSettings.of(settings), clock)
    kinds = [draft_job(drafter_for(settings)), send_job(gateway)]
    if settings.slack_bot_token is not None:  # without Slack, charts wait for a worker with it
        kinds.append(chart_job(sdk_client(settings)))
    return {kind.name: kind for kind in kinds}
