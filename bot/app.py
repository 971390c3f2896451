"""The Bolt app factory: settings in, a wired App out (HTTP or Socket Mode)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine

from switchboard.bot import views
from switchboard.bot.interactions import Recorder
from switchboard.bot.outbox import Outbox
from switchboard.bot.settings import Settings
from switchboard.handlers import register_all
from switchboard.handlers.context import Deps
from switchboard.handlers.deferred import Work
from switchboard.store.manifest import AgencyManifest

log = logging.getLogger(__name__)


def listener_client(settings: Settings) -> WebClient:
    """For calls made while a person waits (views.open): retried in place, briefly."""
    return WebClient(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def outbox_client(settings: Settings) -> WebClient:
    """For the outbox: no retries in place; the outbox persists and schedules its own."""
    return WebClient(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        retry_handlers=[],
    )


@dataclass
class SlackApp:
    app: App
    outbox: Outbox
    deps: Deps
    work: Mapping[str, Work]  # what the worker runs for each recorded request kind


def create_app(
    settings: Settings,
    engine: Engine,
    manifest: AgencyManifest,
    *,
    clock: Callable[[], datetime],
    interactions: Engine,
    wake: Callable[[], None] = lambda: None,
    verify_token: bool = True,
) -> SlackApp:
    """Wire listeners, views, the interaction queue and the outbox.

    `settings.require_slack()` must have passed. `wake` tells the worker that the queue or
    the outbox has something for it.
    """
    socket_mode = settings.slack_app_token is not None
    app = App(
        client=listener_client(settings),
        signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else None
        ),
        # Socket Mode has no HTTP requests to verify; HTTP mode always verifies.
        request_verification_enabled=not socket_mode,
        token_verification_enabled=verify_token,
        # Listeners ack on the request thread: an ack never queues behind other clicks'
        # work, which is recorded for the worker (see bench/README.md).
        process_before_response=True,
        logger=log,
    )
    outbox = Outbox(
        engine, outbox_client(settings), clock=clock, alerts_channel=manifest.channels.alerts
    )
    deps = Deps(
        engine=engine,
        manifest=manifest,
        clock=clock,
        views=views,
        kick_outbox=wake,
        defer=Recorder(interactions, clock=clock, wake=wake),
    )
    work = register_all(app, deps)
    return SlackApp(app=app, outbox=outbox, deps=deps, work=work)
