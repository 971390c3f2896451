"""Work that runs after the acknowledgement, in the worker.

A deferred listener records the request in the interaction queue (`store/interactions.py`)
and then acks: the web process does nothing else for a click, so an acknowledgement never
waits behind other clicks' work, and a click Slack was told we accepted is in the database
before it is told. The worker (`bot/interactions.py`) claims the recorded request and runs
the work registered here for its kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond

from switchboard.handlers.context import Deps


@dataclass(frozen=True)
class Request:
    """A recorded Slack request: its payload and when the web process received it."""

    body: dict[str, Any]
    received_at: datetime


Work = Callable[[Request, Respond], None]


def action_kind(action_id: str) -> str:
    return f"action:{action_id}"


class Deferred:
    """The registry of deferred work, by kind ("action:alert.ack", "command:/ops")."""

    def __init__(self, app: App, deps: Deps) -> None:
        self.app, self.deps = app, deps
        self.work: dict[str, Work] = {}

    def register(self, kind: str, work: Work) -> str:
        if kind in self.work:
            raise ValueError(f"deferred work for {kind} is registered twice")
        self.work[kind] = work
        return kind

    def action(self, action_id: str, work: Work) -> None:
        """A button whose whole answer comes after the ack."""
        kind = self.register(action_kind(action_id), work)

        def record_then_ack(ack: Ack, body: dict[str, Any]) -> None:
            self.deps.defer(kind, body)
            ack()

        self.app.action(action_id)(record_then_ack)
