"""One sandbox session: the Slack stand-in, the app as `switchboard run` runs it (the Bolt app
behind waitress, and the worker), the page, a simulated clock, and the sample agency.

Nothing leaves the machine: the app's Web API is the stand-in, drafts come from the offline
template, and approved mail is written as .eml files in the session's folder. The bot token
and signing secret are made for the session. `stop` undoes everything `start` did, in
reverse, whatever fails.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from switchboard.agents.escalation_policy import BusinessCalendar
from switchboard.bot.app import create_app
from switchboard.bot.outbox import OutboxPolicy
from switchboard.bot.runtime import Runtime
from switchboard.bot.sample_agency import write_sample
from switchboard.bot.sandbox.acting import Acting
from switchboard.bot.sandbox.clock import STEPS, OffsetClock
from switchboard.bot.sandbox.page_state import Scene
from switchboard.bot.sandbox.web import PageServer
from switchboard.bot.sandbox.workspace import Workspace, message_shortcuts
from switchboard.bot.server import http_server, stop_http, wsgi_app
from switchboard.bot.settings import BUNDLED_MANIFESTS, Settings
from switchboard.bot.slack_standin import SlackStandIn
from switchboard.bot.tick import TickReport
from switchboard.bot.tick_command import build_tick
from switchboard.bot.worker import Worker, WorkerProcess, WorkerSpec
from switchboard.store import escalations
from switchboard.store.csv_import import import_dir
from switchboard.store.engine import reading
from switchboard.store.manifest import load_manifest
from switchboard.store.source_data import holds_data

EXAMPLE_MANIFEST = BUNDLED_MANIFESTS / "agency.example.yaml"
APP_THREADS = 8  # one person clicking: a few request threads are plenty
STOP_TIMEOUT = 10.0
# The stand-in is not Slack: no need to pace one message a second per channel.
SANDBOX_OUTBOX = OutboxPolicy(channel_interval=timedelta(0))
MAX_STOPS = 100  # escalation levels run on the way by one move of the clock


@dataclass(frozen=True)
class SandboxOptions:
    directory: Path  # the session's folder: its store (unless `db`), sample data, mail
    port: int = 8080  # the page's; the app listens on a free port of its own
    empty: bool = False  # no sample agency
    db: str | None = None  # a database URL or SQLite path instead of the folder's file
    manifest: Path = EXAMPLE_MANIFEST
    worker_process: bool = True  # as `switchboard run`; a thread in tests (no spawn)
    scheduled: bool = True  # the worker's periodic tick
    # Where the simulated clock starts (tests: a fixed business morning). By default it is
    # now, moved on to business hours when the sample agency is loaded.
    start: datetime | None = None


class Sandbox:
    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.clock = OffsetClock(options.start)
        self.secret = secrets.token_hex(16)
        self.token = f"xoxb-sandbox-{secrets.token_hex(12)}"
        self.manifest = load_manifest(options.manifest)
        self.calendar = BusinessCalendar.of(self.manifest)
        shortcuts = message_shortcuts(BUNDLED_MANIFESTS / "slack_app.yaml")
        self.workspace = Workspace.of(self.manifest, token=self.token, shortcuts=shortcuts)
        self.standin = SlackStandIn(self.workspace, clock=self.clock)
        self.mail_dir = options.directory / "mail"
        self.sample_loaded: datetime | None = None  # the sample's day, once loaded
        self.events_url = ""
        self._ticking = threading.Lock()  # the start's tick and a clock button's, one at a time
        self._advancing = (
            threading.Lock()
        )  # two clock buttons pressed together: one, then the other
        self._stack = ExitStack()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Sandbox:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _start(self) -> None:
        stack = self._stack
        stack.enter_context(self.standin)
        self.rt = Runtime(
            db_url=self.options.db,
            manifest_override=self.options.manifest,
            clock=self.clock,
            preset=self._settings(),
        )
        stack.callback(self.rt.close)
        if not self.options.empty:
            self._load_sample()
        self.acting = Acting(self.standin, self.workspace, self.secret, lambda: self.events_url)
        scene = Scene(self.standin.store, self.workspace, self.manifest.tz, self.mail_dir)
        self.page = PageServer(self, scene, port=self.options.port)
        stack.callback(self.page.stop)  # taken first: a port in use fails before the rest
        self._serve_app()
        self.page.start()
        self.tick()  # what is due now (the sample's alerts), without waiting for the worker

    def stop(self) -> None:
        self._stack.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.page.port}/"

    def _settings(self) -> Settings:
        """Every setting given, so nothing in the environment or a .env file applies."""
        database = self.options.db or f"sqlite:///{self.options.directory / 'sandbox.db'}"
        return Settings(
            _env_file=None,
            database_url=database,
            switchboard_manifest=self.options.manifest,
            slack_bot_token=SecretStr(self.token),
            slack_app_token=None,
            slack_signing_secret=SecretStr(self.secret),
            slack_api_url=self.standin.api_url,
            anthropic_api_key=None,  # the offline template drafts
            anthropic_base_url=None,
            email_backend="file",
            smtp_url=None,
            email_from=f"team@{self.workspace.team.split()[0].lower()}.example",
            email_file_dir=self.mail_dir,
        )

    def _load_sample(self) -> None:
        """The demo's sample agency, on a business morning, unless the store holds data."""
        with reading(self.rt.engine) as session:
            if holds_data(session):
                return
        now = self.clock()
        opening = self.calendar.next_open(now)
        if opening > now and self.options.start is None:
            self.clock.advance(opening - now)  # closed now: its escalations would wait
        day = self.rt.today()
        data = self.options.directory / "data"
        write_sample(data, day, self.manifest.timezone)
        import_dir(self.rt.engine, data, self.manifest.tz, now=self.clock(), today=day)
        self.sample_loaded = self.clock()

    def _serve_app(self) -> None:
        """The web process's parts (the Bolt app behind waitress), then the worker."""
        stack, rt = self._stack, self.rt
        wake, start_worker = self._worker()
        app = create_app(
            rt.settings,
            rt.engine,
            rt.manifest,
            clock=self.clock,
            interactions=rt.interactions,
            wake=wake.set,
        )
        application = wsgi_app(app, rt.engine, clock=self.clock, signing_secret=self.secret)
        server = http_server(application, host="127.0.0.1", port=0, threads=APP_THREADS)
        thread = threading.Thread(target=server.run, name="sandbox-app", daemon=True)
        thread.start()
        stack.callback(thread.join, STOP_TIMEOUT)
        stack.callback(stop_http, server)
        self.events_url = f"http://127.0.0.1:{server.effective_port}/slack/events"
        start_worker()

    def _worker(self) -> tuple[Any, Callable[[], None]]:
        """How to wake the worker, and how to start it: a process as `switchboard run`
        starts one, or a thread."""
        if not self.options.worker_process:
            event = threading.Event()
            return event, lambda: self._worker_thread(event)
        process = WorkerProcess(
            WorkerSpec(
                db_url=self.rt.db_url,
                manifest=self.rt.manifest_override,
                log_level=logging.WARNING,
                scheduled=self.options.scheduled,
                settings=self.rt.settings,
                clock=self.clock,
            )
        )

        def start() -> None:
            process.start()
            self._stack.callback(process.stop)

        return process.wake, start

    def _worker_thread(self, wake: threading.Event) -> None:
        worker = Worker(self.rt, scheduled=self.options.scheduled)
        stopping = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stopping, wake), name="sandbox-worker")
        thread.start()

        def stop() -> None:
            stopping.set()
            wake.set()
            thread.join(STOP_TIMEOUT)

        self._stack.callback(stop)
        if not worker.started.wait(STOP_TIMEOUT):
            raise RuntimeError("the sandbox's worker did not start")

    # -- the clock -----------------------------------------------------------------------------

    def tick(self) -> TickReport:
        """One pass of everything scheduled as of the simulated now (`switchboard tick`)."""
        with self._ticking:
            report = build_tick(self.rt, self.clock(), outbox_policy=SANDBOX_OUTBOX).run()
        self.standin.store.touch()
        return report

    def advance(self, step: str) -> datetime:
        """Move the clock by one of the page's steps and tick at once; on the way, stop and
        tick at each moment an escalation's next level falls due, so none runs late."""
        with self._advancing:
            target = self.clock() + STEPS[step](self.clock(), self.calendar)
            for _ in range(MAX_STOPS):
                with reading(self.rt.engine) as session:
                    due = escalations.next_due(session, after=self.clock(), until=target)
                if due is None:
                    break
                self.clock.advance(due - self.clock())
                self.tick()
            self.clock.advance(max(target - self.clock(), timedelta(0)))
            self.tick()
            return self.clock()
