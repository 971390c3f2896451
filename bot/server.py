"""`switchboard run`: the Slack app over HTTP (waitress) or Socket Mode, plus the scheduler.

HTTP mode serves `POST /slack/events` and `GET /healthz` from a threaded WSGI server: a
sync Bolt app needs threads, not an event loop (see bench/README.md for the measurement).
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine, text
from waitress.server import create_server

from bot.agent_runs import RUNNABLE, run_agents
from bot.app import SlackApp
from store.manifest import AgencyManifest

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
DEFAULT_AGENT_SCHEDULE = "0 * * * *"  # hourly; runs are idempotent per date
OUTBOX_JOB = "outbox"
KICK_INTERVAL = 0.5  # seconds

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(slack: SlackApp, engine: Engine) -> WsgiApp:
    bolt = SlackRequestHandler(slack.app, path=EVENTS_PATH)

    def healthz(start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            status, body = "200 OK", {"ok": True}
        except Exception as error:  # report, never raise, from a health check
            status, body = "503 Service Unavailable", {"ok": False, "error": type(error).__name__}
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return healthz(start_response)
        if path == EVENTS_PATH and method == "POST":
            return bolt(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return application


def http_server(slack: SlackApp, engine: Engine, *, host: str, port: int, threads: int = 16) -> Any:
    """A waitress server for the app; `.run()` serves until `stop_http(server)`."""
    return create_server(wsgi_app(slack, engine), host=host, port=port, threads=threads)


def stop_http(server: Any) -> None:
    """Stop a running waitress server from any thread.

    Its sockets are closed on its own loop thread (via its trigger), which ends run();
    then the worker threads finish the requests they hold.
    """

    def close_all() -> None:
        for channel in list(server._map.values()):
            channel.handle_close()

    server.trigger.pull_trigger(close_all)
    server.task_dispatcher.shutdown()


class Scheduler:
    """Agents on the manifest's schedules and the outbox drain, in one process."""

    def __init__(
        self,
        slack: SlackApp,
        engine: Engine,
        manifest: AgencyManifest,
        clock: Callable[[], datetime],
    ) -> None:
        self.slack, self.engine, self.manifest, self.clock = slack, engine, manifest, clock
        self.scheduler = BackgroundScheduler(timezone=manifest.tz)
        self.scheduler.add_job(
            slack.outbox.drain, "interval", seconds=1, id=OUTBOX_JOB, max_instances=1, coalesce=True
        )
        for agent in RUNNABLE:
            spec = manifest.agents.get(agent)
            if spec is None:
                continue
            trigger = CronTrigger.from_crontab(
                spec.schedule or DEFAULT_AGENT_SCHEDULE, timezone=manifest.tz
            )
            self.scheduler.add_job(
                self.run_agent,
                trigger,
                args=[agent],
                id=f"agent:{agent}",
                max_instances=1,
                coalesce=True,
            )
        self._last_kick = 0.0
        slack.deps.kick_outbox = self.kick

    def run_agent(self, agent: str) -> None:
        now = self.clock()
        runs = run_agents(
            self.engine,
            self.manifest,
            as_of=now.astimezone(self.manifest.tz).date(),
            now=now,
            only=agent,
        )
        for run in runs:
            log.info(run.summary())
        self.kick()

    def kick(self) -> None:
        """Drain the outbox now rather than at the next tick (at most twice a second)."""
        now = time.monotonic()
        if now - self._last_kick < KICK_INTERVAL:
            return  # a drain was just asked for; it will carry this message too
        self._last_kick = now
        try:
            self.scheduler.modify_job(OUTBOX_JOB, next_run_time=datetime.now(self.manifest.tz))
        except Exception:  # not started yet, or shutting down: the next tick drains
            log.debug("outbox kick skipped", exc_info=True)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)


def socket_mode_handler(slack: SlackApp, app_token: str) -> SocketModeHandler:
    """The same app and listeners over Socket Mode (its Web API client is the app's)."""
    return SocketModeHandler(slack.app, app_token)


def serve(
    slack: SlackApp,
    scheduler: Scheduler,
    engine: Engine,
    *,
    host: str,
    port: int,
    app_token: str | None,
    threads: int = 16,
) -> None:
    """Run until SIGTERM or Ctrl-C; then stop taking requests and let the scheduler finish."""

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    scheduler.start()
    try:
        if app_token:
            log.info("connecting over Socket Mode")
            socket_mode_handler(slack, app_token).start()
        else:
            server = http_server(slack, engine, host=host, port=port, threads=threads)
            log.info("serving HTTP on %s:%s (POST %s, GET /healthz)", host, port, EVENTS_PATH)
            server.run()
    except KeyboardInterrupt:
        pass  # waitress catches it itself; Socket Mode does not
    finally:
        log.info("shutting down: letting the scheduler finish its jobs")
        scheduler.stop()
        log.info("stopped")
