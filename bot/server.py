"""The web process: the Slack app over HTTP (waitress) or Socket Mode, and `/healthz`.

HTTP mode serves `POST /slack/events` and `GET /healthz` from a threaded WSGI server: a
sync Bolt app needs threads, not an event loop (see bench/README.md for the measurement).
A request to `/slack/events` is checked against Slack's signature before anything reads
its body, so an unsigned request costs nothing and is never logged. In Socket Mode the
same server serves `/healthz` alone.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, text
from waitress.server import create_server

from switchboard.bot.worker import FRESH
from switchboard.store import runtime_status
from switchboard.store.engine import reading

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
# A request thread waits while its click is committed to the interaction queue; at 50 concurrent
# clicks 32 threads answered faster than 16 (bench/README.md).
DEFAULT_THREADS = 32
# Slack's largest payloads (a modal's state, a long message) are tens of kilobytes.
MAX_BODY = 1024 * 1024
SIGNATURE_WINDOW = 5 * 60  # seconds: Slack's own replay window
# Waitress's defaults let 100 idle connections stop the server; idle ones now close sooner.
SERVER_LIMITS = {
    "connection_limit": 1000,
    "channel_timeout": 15,
    "cleanup_interval": 5,
    "max_request_body_size": MAX_BODY,
    "max_request_header_size": 64 * 1024,
}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def health(engine: Engine, now: datetime) -> dict[str, Any]:
    """What /healthz says: the store answers, a worker has beaten lately, nothing is stuck."""
    try:
        with reading(engine) as session:
            session.execute(text("SELECT 1"))
            workers = runtime_status.live_workers(session, now=now, within=FRESH)
            problems = [
                f"{p.key}: {p.state}" + (f" ({p.detail})" if p.detail else "")
                for p in runtime_status.problems(session)
            ]
    except Exception as error:  # report, never raise, from a health check
        return {"ok": False, "problems": [f"database: {type(error).__name__}"]}
    if not workers:
        problems.insert(0, f"worker: none has run in the last {FRESH.seconds} s")
    body: dict[str, Any] = {"ok": not problems, "workers": len(workers)}
    if problems:
        body["problems"] = problems
    return body


def _answer(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def _signed_body(environ: dict[str, Any], verifier: SignatureVerifier) -> bytes | str:
    """The request body if Slack signed it, else why not (nothing parsed before this)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "bad Content-Length"
    if length > MAX_BODY:
        return "body too large"
    stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    if not stamp.isascii() or not stamp.isdigit():
        return "missing or malformed X-Slack-Request-Timestamp"
    if abs(time.time() - int(stamp)) > SIGNATURE_WINDOW:
        return "stale X-Slack-Request-Timestamp"
    body = environ["wsgi.input"].read(length) if length else b""
    try:
        valid = verifier.is_valid(body=body, timestamp=stamp, signature=signature)
    except (UnicodeDecodeError, ValueError):  # Slack's bodies are UTF-8 text
        return "unreadable body"
    return body if valid else "bad signature"


def wsgi_app(
    app: App | None,
    engine: Engine,
    *,
    clock: Callable[[], datetime],
    signing_secret: str | None,
) -> WsgiApp:
    """/slack/events for Bolt (None: Socket Mode, health only); /healthz from the store."""
    bolt = SlackRequestHandler(app, path=EVENTS_PATH) if app is not None else None
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method in ("GET", "HEAD"):
            body = health(engine, clock())
            status = "200 OK" if body["ok"] else "503 Service Unavailable"
            return _answer(start_response, status, body)
        if path == EVENTS_PATH and method == "POST" and bolt is not None:
            if verifier is not None:
                signed = _signed_body(environ, verifier)
                if isinstance(signed, str):
                    return _answer(start_response, "401 Unauthorized", {"error": signed})
                environ["wsgi.input"] = io.BytesIO(signed)
                environ["CONTENT_LENGTH"] = str(len(signed))
            try:
                return bolt(environ, start_response)
            except Exception as error:
                # A signed body Bolt cannot make a request of (Slack never sends one). Its
                # listeners' own errors never reach here: Bolt answers those itself.
                log.warning(
                    "refused a signed request Bolt could not read (%s)", type(error).__name__
                )
                return _answer(start_response, "400 Bad Request", {"error": "unreadable body"})
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return application


def http_server(
    application: WsgiApp, *, host: str, port: int, threads: int = DEFAULT_THREADS
) -> Any:
    """A waitress server for `application`; `.run()` serves until `stop_http(server)`."""
    return create_server(application, host=host, port=port, threads=threads, **SERVER_LIMITS)


def stop_http(server: Any) -> None:
    """Stop a running waitress server from any thread.

    Its sockets are closed on its own loop thread (via its trigger), which ends run();
    then the worker threads finish the requests they hold.
    """

    def close_all() -> None:
        for channel in list(server._map.values()):
            # The listening socket has no close handler of its own (waitress would warn).
            channel.close() if channel is server else channel.handle_close()

    server.trigger.pull_trigger(close_all)
    server.task_dispatcher.shutdown()


def socket_mode_handler(app: App, app_token: str) -> SocketModeHandler:
    """The same app and listeners over Socket Mode (its Web API client is the app's)."""
    return SocketModeHandler(app, app_token)


def serve(
    app: App,
    engine: Engine,
    *,
    clock: Callable[[], datetime],
    host: str,
    port: int,
    threads: int,
    signing_secret: str | None,
    app_token: str | None,
    on_stop: Callable[[], None] = lambda: None,
) -> None:
    """Serve until SIGTERM or Ctrl-C, then stop taking requests and call `on_stop`.

    With `app_token`, Slack's requests arrive over Socket Mode and the HTTP server answers
    `/healthz` only; otherwise it serves `/slack/events` too.
    """
    import signal

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    socket_mode = socket_mode_handler(app, app_token) if app_token else None
    application = wsgi_app(
        None if socket_mode else app, engine, clock=clock, signing_secret=signing_secret
    )
    server = http_server(application, host=host, port=port, threads=threads)
    try:
        if socket_mode is not None:
            socket_mode.connect()
            log.info("connected over Socket Mode; GET /healthz on %s:%s", host, port)
        else:
            log.info("serving HTTP on %s:%s (POST %s, GET /healthz)", host, port, EVENTS_PATH)
        server.run()
    except KeyboardInterrupt:
        pass  # waitress catches it itself; Socket Mode does not
    finally:
        log.info("shutting down")
        if socket_mode is not None:
            socket_mode.close()
        server.close()
        on_stop()
        log.info("stopped")
