"""The sandbox's simulated clock: real time plus an offset that only moves forward.

The offset lives in a byte of shared memory, so the worker process the sandbox starts reads
the same time as the web process: every `now` the app reads, its periodic tick included, is
real time plus the offset. Slack's own times (request signatures, which Bolt checks against
the real clock, and `action_ts`) stay real; the app moves them onto this clock by its offset
(`handlers.slack_requests.asked_at`).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard.agents.escalation_policy import BusinessCalendar


class OffsetClock:
    """Real time plus `offset` (from `start`, if given); picklable into a spawned process,
    which then shares it."""

    def __init__(self, start: datetime | None = None) -> None:
        offset = (start - datetime.now(UTC)).total_seconds() if start is not None else 0.0
        self._seconds = multiprocessing.get_context("spawn").RawValue(ctypes.c_double, offset)
        self._moving = threading.Lock()  # two clicks on "+2 h" make four hours, not two

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @property
    def offset(self) -> timedelta:
        return timedelta(seconds=self._seconds.value)

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward by `by` (never back); the new time."""
        if by < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        with self._moving:
            self._seconds.value += by.total_seconds()
        return self()

    def __getstate__(self) -> dict[str, Any]:
        return {"_seconds": self._seconds}  # a lock does not cross processes; readers need none

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._seconds = state["_seconds"]
        self._moving = threading.Lock()


def next_business_morning(now: datetime, calendar: BusinessCalendar) -> datetime:
    """The next business-hours start after `now` (today's, if today's has not come yet)."""
    upcoming = calendar.next_open(now)
    return upcoming if upcoming > now else calendar.next_business_day_start(now)


# The page's clock buttons: label -> how far they move the clock from a given moment.
STEPS: dict[str, Callable[[datetime, BusinessCalendar], timedelta]] = {
    "30m": lambda _now, _calendar: timedelta(minutes=30),
    "2h": lambda _now, _calendar: timedelta(hours=2),
    "morning": lambda now, calendar: next_business_morning(now, calendar) - now,
}
