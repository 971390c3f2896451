"""The web process's Bolt app: settings in, a wired App out (HTTP or Socket Mode).

Listeners record typed commands in the interaction queue and acknowledge; the worker
applies them. Nothing here sends a message except opening a modal, which cannot wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine

from switchboard.bot.interactions import ApplyNow, Recorder, RecordFailed
from switchboard.bot.settings import Settings
from switchboard.bot.slack_transport import SlackTransport
from switchboard.handlers.deps import Deps
from switchboard.handlers.registry import WORK, register_all
from switchboard.store.manifest import AgencyManifest

log = logging.getLogger(__name__)


class _NotTheEnvironmentToken(logging.Filter):
    """Drops Bolt's "As you gave `client` as well, `token` will be unused." warning.

    Bolt's App reads SLACK_BOT_TOKEN from the environment by itself and warns, on every
    start, that the `client` given wins over it. That client holds the same token (from
    the same settings), so nothing is unused; the App takes no option to skip the lookup.
    Bolt logs it on the logger we pass, so this filter drops that one message only.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


log.addFilter(_NotTheEnvironmentToken())


def _token(settings: Settings) -> str | None:
    return settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None


def listener_client(settings: Settings) -> WebClient:
    """For calls made while a person waits (views.open): retried in place, briefly."""
    return WebClient(
        token=_token(settings),
        base_url=settings.slack_api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def sdk_client(settings: Settings) -> WebClient:
    """No retries in place: the outbox and the chart job persist and schedule their own."""
    return WebClient(token=_token(settings), base_url=settings.slack_api_url, retry_handlers=[])


def outbox_transport(settings: Settings) -> SlackTransport:
    """For the outbox: no retries in place; the outbox persists and schedules its own."""
    return SlackTransport(sdk_client(settings))


def create_app(
    settings: Settings,
    engine: Engine,
    manifest: AgencyManifest,
    *,
    clock: Callable[[], datetime],
    interactions: Engine,
    wake: Callable[[], None] = lambda: None,
    verify_token: bool = True,
) -> App:
    """Wire the listeners to the interaction queue.

    `settings.require_slack()` must have passed. `wake` tells the worker that the queue has
    something for it.
    """
    socket_mode = settings.slack_app_token is not None
    secret = settings.slack_signing_secret
    app = App(
        client=listener_client(settings),
        signing_secret=secret.get_secret_value() if secret else None,
        # Socket Mode has no HTTP requests to verify; HTTP mode always verifies.
        request_verification_enabled=not socket_mode,
        token_verification_enabled=verify_token,
        # Listeners ack on the request thread: an ack never queues behind other clicks'
        # work, which is recorded for the worker (see bench/README.md).
        process_before_response=True,
        logger=log,
    )
    deps = Deps(
        engine=engine,
        manifest=manifest,
        clock=clock,
        record=Recorder(interactions, clock=clock, wake=wake),
        apply_now=ApplyNow(
            queue=interactions, store=engine, manifest=manifest, work=WORK, clock=clock, wake=wake
        ),
    )
    register_all(app, deps)

    @app.error
    def on_error(error: Exception) -> None:
        """Slack is answered 500 (it shows the person an error). A request that could not be
        recorded was logged once by the recorder's outage log, not once per click."""
        if not isinstance(error, RecordFailed):
            log.error("a Slack request failed", exc_info=error)

    return app
