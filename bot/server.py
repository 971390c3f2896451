"""`switchboard run`: the Slack app over HTTP (waitress) or Socket Mode, plus its worker.

HTTP mode serves `POST /slack/events` and `GET /healthz` from a threaded WSGI server: a
sync Bolt app needs threads, not an event loop (see bench/README.md for the measurement).
"""

from __future__ import annotations

import json
import logging
import signal
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine, text
from waitress.server import create_server

from switchboard.bot.app import SlackApp
from switchboard.bot.worker import WorkerHealth, WorkerProcess

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
# A request thread waits while its click is committed to the interaction queue; at 50 concurrent
# clicks 32 threads answered faster than 16 (bench/README.md).
DEFAULT_THREADS = 32

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(
    slack: SlackApp, engine: Engine, worker: Callable[[], WorkerHealth] | None = None
) -> WsgiApp:
    """/slack/events for Bolt; /healthz checks the store and, given `worker`, the worker."""
    bolt = SlackRequestHandler(slack.app, path=EVENTS_PATH)

    def healthz(start_response: Callable[..., Any]) -> Iterable[bytes]:
        body: dict[str, Any] = {"ok": True}
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # report, never raise, from a health check
            body = {"ok": False, "error": type(error).__name__}
        if worker is not None:
            health = worker()
            body["worker"] = health.state
            if not health.ok:
                body["ok"] = False
        status = "200 OK" if body["ok"] else "503 Service Unavailable"
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


def http_server(
    slack: SlackApp,
    engine: Engine,
    *,
    host: str,
    port: int,
    threads: int = DEFAULT_THREADS,
    worker: Callable[[], WorkerHealth] | None = None,
) -> Any:
    """A waitress server for the app; `.run()` serves until `stop_http(server)`."""
    return create_server(wsgi_app(slack, engine, worker), host=host, port=port, threads=threads)


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


def socket_mode_handler(slack: SlackApp, app_token: str) -> SocketModeHandler:
    """The same app and listeners over Socket Mode (its Web API client is the app's)."""
    return SocketModeHandler(slack.app, app_token)


def serve(
    slack: SlackApp,
    worker: WorkerProcess,
    engine: Engine,
    *,
    host: str,
    port: int,
    app_token: str | None,
    threads: int = DEFAULT_THREADS,
) -> None:
    """Run until SIGTERM or Ctrl-C; then stop taking requests and let the worker finish."""

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    worker.start()
    try:
        if app_token:
            log.info("connecting over Socket Mode")
            socket_mode_handler(slack, app_token).start()
        else:
            server = http_server(
                slack, engine, host=host, port=port, threads=threads, worker=worker.health
            )
            log.info("serving HTTP on %s:%s (POST %s, GET /healthz)", host, port, EVENTS_PATH)
            server.run()
    except KeyboardInterrupt:
        pass  # waitress catches it itself; Socket Mode does not
    finally:
        log.info("shutting down: letting the worker finish what it holds")
        worker.stop()
        log.info("stopped")
