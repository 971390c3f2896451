"""The long-running commands: `web`, `worker`, `run` (both) and `sandbox`, and what they
check before they start (a Slack token, a free port)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from switchboard.bot.cli_common import err, flag, out, runtime, setup_problems_exit

if TYPE_CHECKING:
    from switchboard.bot.runtime import Runtime

log = logging.getLogger(__name__)


PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="HTTP port.")]


HostOption = Annotated[str, typer.Option("--host", help="HTTP interface.")]


ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, max=256, help="HTTP request threads (default 32).")
]


NoSchedulerOption = Annotated[
    bool,
    typer.Option(
        "--no-scheduler",
        help="Leave scheduled runs to cron (`switchboard tick`); clicks, jobs and the outbox "
        "still run.",
    ),
]


def _require_slack(rt: Runtime) -> None:
    from switchboard.bot.settings import SettingsError

    try:
        rt.settings.require_slack()
    except SettingsError as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None


def _log_to_stderr() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _slack_app(rt: Runtime, *, wake: Any) -> Any:
    """The Bolt app, its token checked with auth.test, or exit 2 saying what failed.

    "Slack did not accept the token" only when Slack answered so; a Web API that cannot be
    reached, or that answers as Slack does not, is a problem with SLACK_API_URL.
    """
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from switchboard.bot.app import create_app

    url = rt.settings.slack_api_url
    try:
        return create_app(
            rt.settings,
            rt.engine,
            rt.manifest,
            clock=rt.now,
            interactions=rt.interactions,
            wake=wake,
        )
    except (BoltError, SlackApiError, OSError) as error:
        # Bolt raises BoltError from the SlackApiError that holds Slack's answer.
        cause = error if isinstance(error, SlackApiError) else error.__context__
        if isinstance(cause, SlackApiError):
            answer = cause.response
            code = answer.get("error") if isinstance(answer.data, dict) else None
            if answer.status_code == 200 and code:
                problem = f"SLACK_BOT_TOKEN: Slack did not accept it at {url} (auth.test: {code})"
            else:
                problem = (
                    f"SLACK_API_URL: {url} is not Slack's Web API "
                    f"(auth.test answered HTTP {answer.status_code})"
                )
        elif isinstance(error, OSError):
            problem = f"SLACK_API_URL: cannot reach {url}: {_reason(error)}"
        else:
            problem = f"SLACK_BOT_TOKEN: {error}"
        err.print(problem, markup=False, highlight=False)
        raise typer.Exit(2) from None


def _reason(error: OSError) -> str:
    """`connection refused` from an OSError, however deep urllib wrapped it."""
    inner: Any = error
    while isinstance(getattr(inner, "reason", None), BaseException):
        inner = inner.reason
    text = inner.strerror if getattr(inner, "strerror", None) else str(inner)
    return text[:1].lower() + text[1:]


def _check_port(host: str, port: int) -> None:
    """Exit 2 in one line if the HTTP server could not listen on `host`:`port`.

    Checked before anything starts (the worker, the Slack app), with the address options
    waitress uses; the server's own bind error is reported the same way.
    """
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        _cannot_listen(host, port, error)
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            _cannot_listen(host, port, error)


def _cannot_listen(host: str, port: int, error: OSError) -> NoReturn:
    import errno
    import socket

    setting = (
        "--host"
        if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL
        else "--port"
    )
    reason = error.strerror or str(error)
    err.print(
        f"{setting}: cannot listen on {host}:{port}: {reason[:1].lower()}{reason[1:]}",
        markup=False,
        highlight=False,
    )
    raise typer.Exit(2) from None


def _serve_web(
    rt: Runtime, slack: Any, *, host: str, port: int, threads: int | None, on_stop: Any
) -> None:
    """Serve until stopped; a port taken since `_check_port` is reported as it is there."""
    from switchboard.bot.server import DEFAULT_THREADS, serve

    secret, app_token = rt.settings.slack_signing_secret, rt.settings.slack_app_token
    serving = False

    def stopping() -> None:
        nonlocal serving
        serving = True  # serve() calls it once its server ran, whatever ended it
        on_stop()

    try:
        serve(
            slack,
            rt.engine,
            clock=rt.now,
            host=host,
            port=port,
            threads=threads or DEFAULT_THREADS,
            signing_secret=secret.get_secret_value() if secret else None,
            app_token=app_token.get_secret_value() if app_token else None,
            on_stop=stopping,
        )
    except OSError as error:
        if serving:
            raise
        on_stop()  # the server was never made: nothing else stops what was started
        _cannot_listen(host, port, error)


def web(
    ctx: typer.Context,
    port: PortOption = 3000,
    host: HostOption = "0.0.0.0",
    threads: ThreadsOption = None,
) -> None:
    """The web process alone: verify, record and acknowledge Slack's requests (HTTP or
    Socket Mode). Run `switchboard worker` beside it."""
    rt = runtime(ctx)
    _require_slack(rt)
    _check_port(host, port)
    slack = _slack_app(rt, wake=lambda: None)
    _log_to_stderr()
    _serve_web(rt, slack, host=host, port=port, threads=threads, on_stop=rt.close)


def worker(ctx: typer.Context, no_scheduler: NoSchedulerOption = False) -> None:
    """The worker process alone: apply recorded requests, run jobs, drain the outbox, keep
    the schedules. Any number may run against one PostgreSQL store."""
    import signal
    import threading

    from switchboard.bot.worker import Worker, request_stop

    rt = runtime(ctx)
    _require_slack(rt)
    _log_to_stderr()
    stop, wake = threading.Event(), threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: request_stop(stop, wake))
    try:
        Worker(rt, scheduled=not no_scheduler).run(stop, wake)
    finally:
        rt.close()


def run(
    ctx: typer.Context,
    port: PortOption = 3000,
    host: HostOption = "0.0.0.0",
    threads: ThreadsOption = None,
    no_scheduler: NoSchedulerOption = False,
) -> None:
    """The Slack app and its worker in one command (HTTP, or Socket Mode when
    SLACK_APP_TOKEN is set)."""
    from switchboard.bot.worker import WorkerProcess, WorkerSpec

    rt = runtime(ctx)
    _require_slack(rt)
    _check_port(host, port)
    spec = WorkerSpec(db_url=rt.db_url, manifest=rt.manifest_override, scheduled=not no_scheduler)
    worker_process = WorkerProcess(spec)
    # The token is checked before the worker starts: a refused one stops nothing half-started.
    slack = _slack_app(rt, wake=worker_process.wake.set)
    _log_to_stderr()
    worker_process.start()

    def stop_all() -> None:
        log.info("letting the worker finish what it holds")
        worker_process.stop()
        rt.close()

    _serve_web(rt, slack, host=host, port=port, threads=threads, on_stop=stop_all)


def sandbox(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="The page's port on 127.0.0.1.")
    ] = 8080,
    empty: Annotated[
        bool, flag("--empty", "Start without the sample agency: the manifest's people only.")
    ] = False,
) -> None:
    """The whole product in a browser, offline: Switchboard as `run` starts it, a Slack
    stand-in, and a chat page at http://127.0.0.1:PORT/ (Ctrl-C stops it all).

    Its store is a temporary SQLite file unless --db is given; --manifest picks the agency
    (default: the example's). No environment setting applies: the bot token and signing
    secret are made for the session, drafts come from the offline template, and approved
    mail is written as .eml files.
    """
    from switchboard.bot.runtime import Runtime
    from switchboard.bot.sandbox.command import run_sandbox

    _check_port("127.0.0.1", port)
    options = ctx.ensure_object(Runtime)
    with setup_problems_exit():
        run_sandbox(
            out, port=port, empty=empty, db=options.db_url, manifest=options.manifest_override
        )
