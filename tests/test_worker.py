"""The worker process's doorbell: ringing never waits, even for a worker that was killed."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from switchboard.bot import worker as worker_module
from switchboard.bot.runtime import Runtime
from switchboard.bot.worker import Doorbell, Worker
from tests.conftest import FakeClock, poll_until, sqlite_store
from tests.fake_slack import FakeSlack
from tests.live_slack import settings_for


def _listen(doorbell: Doorbell, listening: Any) -> None:
    listening.set()
    while True:  # as the worker's idle loop does
        doorbell.wait(0.05)
        doorbell.clear()


def test_ringing_never_waits_even_for_a_worker_killed_while_listening() -> None:
    context = multiprocessing.get_context("spawn")
    doorbell, listening = Doorbell(context), context.Event()
    worker = context.Process(target=_listen, args=(doorbell, listening))
    worker.start()
    assert listening.wait(30)
    worker.kill()
    worker.join(10)

    rang = threading.Thread(target=lambda: [doorbell.set() for _ in range(3)])
    rang.start()
    rang.join(10)  # a detector, not a pause: the rings return at once or never
    assert not rang.is_alive(), "ringing waited for a dead worker"
    assert doorbell.wait(0) and doorbell.wait(0)  # the rings are there for the next worker
    doorbell.clear()
    assert not doorbell.wait(0)


class CountedWorker(Worker):
    """The worker as it runs, counting its scheduled heartbeats and ticks."""

    def __post_init__(self) -> None:
        self.beats = self.ticks = 0
        super().__post_init__()

    def beat(self) -> None:
        super().beat()
        self.beats += 1

    def run_tick(self) -> None:
        super().run_tick()
        self.ticks += 1


def test_an_idle_worker_logs_nothing_at_info(
    tmp_path: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """APScheduler says "Running job" and "executed successfully" at INFO for every run; the
    worker holds it at WARNING (bot/scheduler.py), so an idle worker logging at INFO is quiet.
    The entries keep their order and kind; only their periods are shortened for the test."""
    monkeypatch.setattr(worker_module, "HEARTBEAT", timedelta(seconds=0.05))
    monkeypatch.setattr(worker_module, "TICK_EVERY", 0.1)
    url, template = sqlite_store(sqlite_template, tmp_path)
    template.dispose()
    caplog.set_level(logging.INFO)
    with FakeSlack() as fake, ExitStack() as stack:
        settings = settings_for(url, fake, tmp_path / "mail")
        rt = Runtime(preset=settings, clock=FakeClock())  # time stands still: nothing falls due
        stack.callback(rt.close)
        worker = CountedWorker(rt)
        stop, wake = threading.Event(), threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop, wake), name="worker")
        thread.start()
        stack.callback(thread.join, 10)
        stack.callback(wake.set)
        stack.callback(stop.set)
        # The first tick runs every agent (none has run yet): a change, and said at INFO.
        poll_until(lambda: worker.ticks >= 1, what="the first scheduled tick")
        caplog.clear()
        beats, ticks = worker.beats, worker.ticks

        poll_until(
            lambda: worker.beats >= beats + 5 and worker.ticks >= ticks + 3,
            what="five more heartbeats and three more ticks",
        )
        idle = [r for r in caplog.records if r.levelno == logging.INFO]

    assert not thread.is_alive()
    assert idle == [], [f"{r.name}: {r.getMessage()}" for r in idle]
