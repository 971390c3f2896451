"""A live Switchboard for end-to-end tests: the real Bolt app behind waitress on loopback,
the real worker on a thread, the Slack stand-in as the Web API, requests signed as Slack
signs them. Everything it starts is torn down whatever fails first."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from switchboard.bot.agent_runs import run_pacing
from switchboard.bot.app import create_app, outbox_transport
from switchboard.bot.outbox import Outbox
from switchboard.bot.runtime import Runtime
from switchboard.bot.server import http_server, stop_http, wsgi_app
from switchboard.bot.settings import Settings
from switchboard.bot.worker import Worker
from switchboard.store.alerts import Alert
from switchboard.store.audit import AuditEvent
from switchboard.store.engine import reading
from switchboard.store.manifest import AgencyManifest
from switchboard.store.outbox import OutboxMessage, OutboxState
from switchboard.store.ownership import DomainOwner
from tests.agency_builder import AgencyBuilder
from tests.conftest import FakeClock, poll_until, sqlite_store
from tests.fake_slack import Call, FakeSlack
from tests.slack_requests import (
    Reply,
    block_action,
    signed_post,
    slash_command,
    view_submission,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AS_OF = date(2026, 3, 16)  # the clock's day: 13:00 UTC is 09:00 in New York (EDT)
STRANGER = "U0NOBODY"


class WorkerThread:
    """The worker as `switchboard worker` runs it, on a thread; stoppable and restartable."""

    def __init__(self, rt: Runtime, wake: threading.Event) -> None:
        self.rt, self.wake = rt, wake
        self.worker: Worker | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.stopping = threading.Event()
        self.worker = Worker(self.rt, scheduled=False)
        self.thread = threading.Thread(target=self.worker.run, args=(self.stopping, self.wake))
        self.thread.start()
        assert self.worker.started.wait(10), "the worker did not start"

    def stop(self) -> None:
        if self.thread is None:
            return
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the worker did not stop within 10 s"
        self.thread = None


@dataclass
class Live:
    url: str
    fake: FakeSlack
    rt: Runtime
    worker: WorkerThread
    clock: FakeClock
    outbox: Outbox
    manifest: AgencyManifest
    alert_id: int
    _requests: int = 0

    @property
    def engine(self) -> Engine:
        return self.rt.engine

    @property
    def interactions(self) -> Engine:
        return self.rt.interactions

    def _next(self) -> int:
        self._requests += 1
        return self._requests

    def response_url(self) -> str:
        return self.fake.response_url(f"r{self._next()}")

    def post(self, body: str, **kwargs: Any) -> Reply:
        return signed_post(f"{self.url}/slack/events", body, SECRET, **kwargs)

    def ops(self, text: str, user: str, **kwargs: Any) -> Reply:
        n = self._next()
        body = slash_command(
            text, user=user, response_url=self.fake.response_url(f"r{n}"), trigger_id=f"T{n}"
        )
        return self.post(body, **kwargs)

    def click(self, action_id: str, value: str, user: str, **kwargs: Any) -> Reply:
        return self.post(self.click_body(action_id, value, user, **kwargs))

    def click_body(self, action_id: str, value: str, user: str, **kwargs: Any) -> str:
        n = self._next()
        return block_action(
            action_id,
            value,
            user=user,
            response_url=self.fake.response_url(f"r{n}"),
            trigger_id=f"T{n}",
            action_ts=self.clock().timestamp(),
            **kwargs,
        )

    def submit(self, callback_id: str, metadata: str, picked: str | None, user: str) -> Reply:
        n = self._next()
        body = view_submission(
            callback_id, metadata, picked, user=user, view_id=f"V{n}", view_hash=f"h{n}"
        )
        return self.post(body)

    def responses(self, count: int = 1) -> list[Call]:
        return self.fake.wait_for_calls("response_url", count)

    def alert(self) -> Alert:
        with reading(self.engine) as session:
            return session.get_one(Alert, self.alert_id)

    def audit_count(self, action: str | None = None) -> int:
        query = select(func.count()).select_from(AuditEvent)
        if action:
            query = query.where(AuditEvent.action == action)
        with reading(self.engine) as session:
            return session.scalar(query)

    def owner(self, domain: str) -> str:
        with reading(self.engine) as session:
            return session.get_one(DomainOwner, domain).owner

    def snapshot(self) -> tuple[Any, ...]:
        return (self.alert().model_dump(), self.audit_count(), self.owner("ad_performance"))

    def drain(self) -> None:
        """Deliver everything due, moving the clock past each channel's one-second pacing.

        The worker's own outbox thread may hold a row at any moment, or meet a channel's
        pacing or a parent not yet posted: the clock moves on at each look until none is left.
        """

        def settled() -> bool:
            self.clock.advance(seconds=1.5)
            self.outbox.drain()
            return unsent(self.engine) == 0

        poll_until(settled, what="the outbox to drain")


def unsent(engine: Engine) -> int:
    with reading(engine) as session:
        query = select(func.count()).where(
            OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING])  # type: ignore[attr-defined]
        )
        return session.scalar(query)


def settings_for(url: str, fake: FakeSlack, mail_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=url,
        slack_bot_token=SecretStr("xoxb-test"),
        slack_signing_secret=SecretStr(SECRET),
        slack_app_token=None,
        slack_api_url=fake.api_url,
        email_file_dir=mail_dir,  # the file backend: sent mail is .eml files here
    )


@pytest.fixture
def live(tmp_path: Path, sqlite_template: Path, manifest: AgencyManifest) -> Iterator[Live]:
    clock = FakeClock()
    url, template_engine = sqlite_store(sqlite_template, tmp_path)
    template_engine.dispose()
    with ExitStack() as stack:
        fake = stack.enter_context(FakeSlack())
        rt = Runtime(preset=settings_for(url, fake, tmp_path / "mail"), clock=clock)
        stack.callback(rt.close)
        builder = AgencyBuilder().client("C1").account("A1", "C1").budget("A1", "2026-03", "3100")
        builder.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "150.00")  # +50%
        builder.load(rt.engine)
        [change] = run_pacing(rt.engine, rt.manifest, as_of=AS_OF, now=clock()).changes
        wake = threading.Event()
        app = create_app(
            rt.settings,
            rt.engine,
            rt.manifest,
            clock=clock,
            interactions=rt.interactions,
            wake=wake.set,
        )
        application = wsgi_app(app, rt.engine, clock=clock, signing_secret=SECRET)
        server = http_server(application, host="127.0.0.1", port=0, threads=12)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        # Torn down in reverse, each whatever the others did: no thread outlives the test.
        stack.callback(thread.join, 5)
        stack.callback(stop_http, server)
        worker = WorkerThread(rt, wake)
        worker.start()
        stack.callback(worker.stop)
        transport = outbox_transport(rt.settings)
        outbox = Outbox(rt.engine, transport, clock=clock, alerts_channel="C0ALERTS")
        yield Live(
            url=f"http://127.0.0.1:{server.effective_port}",
            fake=fake,
            rt=rt,
            worker=worker,
            clock=clock,
            outbox=outbox,
            manifest=rt.manifest,
            alert_id=change.alert_id,
        )
