"""What listeners are given: the store, the manifest, a clock, and the views to render with.

Views live in `bot/views` (the Slack runtime); they reach handlers through `Deps` so that
imports keep running store <- agents <- handlers <- bot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy import Engine

from switchboard.store.alerts import Alert
from switchboard.store.audit import AuditEvent
from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner


@dataclass(frozen=True)
class Message:
    """A Slack message: fallback text (notifications, screen readers) and blocks."""

    text: str
    blocks: Sequence[Block] = ()

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [block.to_dict() for block in self.blocks]}


@dataclass(frozen=True)
class AlertLabel:
    """Names that make an alert readable, loaded beside it."""

    client_name: str
    account_name: str


class Views(Protocol):
    def alert_message(self, alert: Alert, label: AlertLabel, tz: ZoneInfo) -> Message: ...
    def alert_worse(self, alert: Alert, label: AlertLabel) -> Message: ...
    def alert_list(self, alerts: Sequence[tuple[Alert, AlertLabel]], tz: ZoneInfo) -> Message: ...
    def owners(self, owners: Sequence[DomainOwner], manifest: AgencyManifest) -> Message: ...
    def audit_list(self, events: Sequence[AuditEvent], tz: ZoneInfo) -> Message: ...
    def help(self, problem: str | None = None) -> Message: ...
    def reassign_modal(
        self, *, callback_id: str, title: str, prompt: str, metadata: str, current: str | None
    ) -> View: ...
    def notice_modal(self, title: str, text: str) -> View: ...


def _no_queue(kind: str, body: dict[str, Any]) -> None:
    raise RuntimeError(f"no interaction queue is wired to record {kind}")


@dataclass
class Deps:
    engine: Engine
    manifest: AgencyManifest
    clock: Callable[[], datetime]
    views: Views
    kick_outbox: Callable[[], None] = lambda: None  # ask the outbox to drain now
    # Record a request for the worker (handlers/deferred.py); bot/app.py wires the queue.
    defer: Callable[[str, dict[str, Any]], None] = _no_queue

    @property
    def tz(self) -> ZoneInfo:
        return self.manifest.tz
