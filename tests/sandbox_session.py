"""A sandbox session for tests: the whole of `switchboard sandbox` in this process (the worker
on a thread, no periodic tick), on a copy of the migrated template store, its clock on a
business morning whatever the day the tests run. Loaded by tests/conftest.py."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from switchboard.bot.sandbox.session import Sandbox, SandboxOptions
from tests.conftest import poll_until, sqlite_store

AGENCY_TZ = ZoneInfo("America/New_York")  # the example manifest's


def business_morning() -> datetime:
    """Next Monday 09:00 agency time: business hours, two hours of them ahead."""
    today = datetime.now(AGENCY_TZ).date()
    return datetime.combine(today + timedelta(days=7 - today.weekday()), time(9), AGENCY_TZ)


class PageClient:
    """The page's side of the API, as the browser calls it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.url = sandbox.page_url.rstrip("/")

    def request(self, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
        data = None if body is None else json.dumps(body).encode()
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def state(self, user: str) -> dict[str, Any]:
        return self.request(f"/api/state?as={user}")

    def act(self, path: str, user: str, **body: Any) -> dict[str, Any]:
        return self.request(path, {"as": user, **body})

    def wait_for(self, user: str, found: Callable[[dict[str, Any]], Any], what: str) -> Any:
        """The first non-empty `found(state)` for `user`, waiting for the app to get there."""
        seen: list[Any] = []

        def look() -> bool:
            seen[:] = [found(self.state(user))]
            return bool(seen[0])

        poll_until(look, timeout=15, what=what)
        return seen[0]


def conversation(state: dict[str, Any], channel: str) -> dict[str, Any]:
    return next(c for c in state["conversations"] if c["id"] == channel)


def start_sandbox(directory: Path, template: Path) -> Sandbox:
    url, engine = sqlite_store(template, directory)
    engine.dispose()
    options = SandboxOptions(
        directory=directory,
        port=0,
        db=url,
        worker_process=False,
        scheduled=False,
        start=business_morning(),
    )
    return Sandbox(options).start()


@pytest.fixture
def sandbox(tmp_path: Path, sqlite_template: Path) -> Iterator[Sandbox]:
    running = start_sandbox(tmp_path, sqlite_template)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def page(sandbox: Sandbox) -> PageClient:
    return PageClient(sandbox)
