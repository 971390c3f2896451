"""The demo's world: a sample agency on a simulated clock, Switchboard's real parts, and a
local Slack stand-in that records every message, shown as a person would read it.

Everything runs as in production (the importer, the agents, the tick, the interaction queue,
the outbox over HTTP), on a clock the demo moves by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from slack_sdk import WebClient

from switchboard.bot.escalations import EscalationDriver
from switchboard.bot.interactions import InteractionRunner, Recorder
from switchboard.bot.job_kinds import job_kinds
from switchboard.bot.jobs import JobRunner
from switchboard.bot.outbox import Outbox, OutboxPolicy
from switchboard.bot.runtime import Runtime
from switchboard.bot.slack_standin import Call, SlackStandIn
from switchboard.bot.slack_transport import SlackTransport
from switchboard.bot.terminal import slack_message_lines
from switchboard.bot.tick import Tick, TickReport
from switchboard.handlers.commands import Command, Origin
from switchboard.handlers.registry import WORK
from switchboard.store.manifest import Role


@dataclass
class SimulatedClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class DemoWorld:
    rt: Runtime
    clock: SimulatedClock
    slack: SlackStandIn
    console: Console
    mail_dir: Path  # approved mail is written here as .eml files: nothing leaves the machine
    seen: int = 0  # stand-in calls already shown
    _requests: int = 0
    people: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        manifest = self.rt.manifest
        self.people = {p.slack_id: p.name for p in manifest.people}
        self.channels = {
            getattr(manifest.channels, name): name for name in type(manifest.channels).model_fields
        }
        client = WebClient(token="xoxb-demo", base_url=self.slack.api_url, retry_handlers=[])
        self.driver = EscalationDriver(self.rt.engine, manifest, self.clock)
        # The stand-in is not Slack: no need to pace one message a second per channel.
        self.outbox = Outbox(
            self.rt.engine,
            SlackTransport(client),
            clock=self.clock,
            alerts_channel=manifest.channels.alerts,
            admins=sorted(manifest.with_role(Role.ADMIN)),
            policy=OutboxPolicy(channel_interval=timedelta(0)),
            on_outcome=self.driver.record_delivery,
        )
        # Offline whatever the environment says: the template drafter, the file backend.
        settings = self.rt.settings.model_copy(
            update={
                "anthropic_api_key": None,
                "email_backend": "file",
                "email_file_dir": self.mail_dir,
                "email_from": "team@northwind.example",
                # The chart job uploads to the stand-in, as the worker does to Slack.
                "slack_bot_token": SecretStr("xoxb-demo"),
                "slack_api_url": self.slack.api_url,
            }
        )
        kinds = job_kinds(settings, self.rt.engine, self.clock)
        self.jobs = JobRunner(self.rt.engine, manifest, kinds, self.clock)
        self.record = Recorder(self.rt.interactions, clock=self.clock, wake=lambda: None)
        self.runner = InteractionRunner(
            queue=self.rt.interactions,
            store=self.rt.engine,
            manifest=manifest,
            work=WORK,
            clock=self.clock,
        )

    def at(self, moment: datetime) -> None:
        self.clock.now = moment

    def tick(self) -> TickReport:
        """Everything the scheduler does, as of the simulated clock."""
        tick = Tick(
            self.rt.engine,
            self.rt.manifest,
            self.clock,
            self.driver,
            jobs=self.jobs,
            outbox=self.outbox,
        )
        tick.trigger = "demo"
        return tick.run()

    def click(self, user: str, make: Callable[[Origin], Command]) -> None:
        """A person's click or command: recorded, then applied by the worker's runner."""
        self._requests += 1
        url = self.slack.response_url(f"{user}-{self._requests}")
        self.record(make(Origin(user=user, asked_at=self.clock(), response_url=url)), None)
        self.runner.drain()
        self.jobs.run_due()
        self.outbox.drain()

    # -- showing what reached Slack ----------------------------------------------------------

    def _where(self, call: Call) -> str:
        if call.method == "response_url":
            user = call.path.rsplit("/", 1)[-1].split("-")[0]
            return f"only {self.people.get(user, user)} sees"
        channel = str(call.params.get("channel", ""))
        if channel in self.channels:
            return f"#{self.channels[channel]}"
        if channel.startswith("D"):
            user = channel[1:]
            return f"DM to {self.people.get(user, user)}"
        return channel

    def _show_file(self, call: Call, indent: str) -> None:
        channel = str(call.params.get("channel_id", ""))
        where = f"#{self.channels.get(channel, channel)}, in the thread"
        for file in _json(call.params.get("files")) or []:
            size = len(self.slack.uploads.get(file.get("id", ""), b""))
            title = file.get("title") or file.get("id")
            line = f"{indent}{where} (file): {title}, a {size // 1024} KB PNG chart"
            self.console.print(line, markup=False, highlight=False)

    def files(self) -> dict[str, bytes]:
        """Every file uploaded, by the name it was uploaded with."""
        named = {}
        for call in self.slack.calls_to("files.getUploadURLExternal"):
            file_id = (call.response or {}).get("file_id", "")
            if file_id in self.slack.uploads:
                named[str(call.params.get("filename") or file_id)] = self.slack.uploads[file_id]
        return named

    def messages(self) -> list[tuple[str, list[Any]]]:
        """Every message Slack was sent, in order: where it went and its blocks."""
        found = []
        for call in self.slack.calls:
            if (
                call.method in SHOWN
                and call.status == 200
                and call.method.startswith(("chat", "resp"))
            ):
                blocks = SlackStandIn.blocks_of(call)
                if blocks:
                    found.append((self._where(call), list(blocks)))
        return found

    def show_new(
        self, indent: str = "   ", *, heading: str | None = None, limit: int | None = None
    ) -> list[Call]:
        """Print each message Slack received since the last look (under `heading`, if there
        are any; the first `limit` of them, then how many more); return their calls."""
        calls = [c for c in self.slack.calls[self.seen :] if c.method in SHOWN and c.status == 200]
        # A message updated twice in one look (approved, then sent) is shown as it ends.
        last_update = {_edited(c): i for i, c in enumerate(calls) if c.method == "chat.update"}
        calls = [
            c
            for i, c in enumerate(calls)
            if c.method != "chat.update" or last_update[_edited(c)] == i
        ]
        self.seen = len(self.slack.calls)
        if calls and heading:
            self.console.print(heading, markup=False, highlight=False)
        for call in calls[:limit]:
            if call.method == "files.completeUploadExternal":
                self._show_file(call, indent)
                continue
            verb = {"chat.update": "updated", "response_url": "reply"}.get(call.method, "new")
            blocks: Any = SlackStandIn.blocks_of(call)
            lines = slack_message_lines(str(call.params.get("text", "")), blocks, self.people)
            self.console.print(
                f"{indent}{self._where(call)} ({verb}): {lines[0]}", markup=False, highlight=False
            )
            for line in lines[1:]:
                self.console.print(f"{indent}    {line}", markup=False, highlight=False)
        if limit is not None and len(calls) > limit:
            more = f"{indent}... and {len(calls) - limit} more like these"
            self.console.print(more, markup=False, highlight=False)
        return calls


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


SHOWN = ("chat.postMessage", "chat.update", "response_url", "files.completeUploadExternal")


def _edited(call: Call) -> tuple[str, str]:
    return str(call.params.get("channel", "")), str(call.params.get("ts", ""))
