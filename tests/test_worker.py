"""The worker process's doorbell: ringing never waits, even for a worker that was killed."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

from switchboard.bot.worker import Doorbell


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
