"""The work the worker runs for each kind of command, and the one way a command is applied.

A handler module declares its work as `Work(CommandType, function)`; `handlers.WORK` is the
plain registry the worker imports (no Bolt app needed). `apply` runs a command's work in
one transaction and queues the person's answers (replies to the request's response_url) in
the outbox in that same transaction: the command is done once that transaction commits,
whatever later happens to the reply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from switchboard.handlers.commands import Command, Notice
from switchboard.handlers.permissions import check
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.ops import notice
from switchboard.store import outbox
from switchboard.store.engine import transaction
from switchboard.store.manifest import AgencyManifest
from switchboard.store.outbox import OutboxKind

C = TypeVar("C", bound=Command)


@dataclass(frozen=True)
class WorkContext:
    """What work is given: the transaction, the manifest, and the time it runs at."""

    session: Session
    manifest: AgencyManifest
    now: datetime

    @property
    def tz(self) -> ZoneInfo:
        return self.manifest.tz


@dataclass(frozen=True)
class Reply:
    """An answer to the person who asked: ephemeral, or replacing the message they clicked in."""

    message: Message
    replace_original: bool = False
    refused: bool = False  # the request was not carried out (a modal keeps itself open)

    def payload(self, response_url: str) -> dict[str, Any]:
        return {
            "response_url": response_url,
            "response_type": "ephemeral",
            "replace_original": self.replace_original,
            **self.message.payload(),
        }


def say(text: str, *, refused: bool = False) -> list[Reply]:
    return [Reply(notice(text), refused=refused)]


def refuse(text: str) -> list[Reply]:
    return say(text, refused=True)


@dataclass(frozen=True)
class Work(Generic[C]):
    command: type[C]
    run: Callable[[WorkContext, C], Sequence[Reply]]


def registry(*works: Work[Any]) -> dict[str, Work[Any]]:
    """Work by command kind; a kind registered twice is a mistake caught at import."""
    table: dict[str, Work[Any]] = {}
    for work in works:
        if work.command.kind in table:
            raise ValueError(f"work for {work.command.kind} is registered twice")
        table[work.command.kind] = work
    return table


def combine(*tables: Mapping[str, Work[Any]]) -> dict[str, Work[Any]]:
    return registry(*(work for table in tables for work in table.values()))


def queue_replies(
    session: Session, command: Command, replies: Sequence[Reply], *, key: str, now: datetime
) -> None:
    """Answer the person through the outbox (nothing to do without a response_url)."""
    url = command.origin.response_url
    if url is None:
        return
    for i, reply in enumerate(replies):
        outbox.enqueue(
            session,
            key=f"{key}:reply:{i}",
            kind=OutboxKind.RESPOND,
            payload=reply.payload(url),
            now=now,
        )


def apply(
    engine: Engine,
    manifest: AgencyManifest,
    work: Work[C],
    command: C,
    *,
    now: datetime,
    reply_key: str | None,
) -> Sequence[Reply]:
    """Run `command`'s work in one transaction (if its `rule` allows who asked); with
    `reply_key`, queue its replies in it too.

    `reply_key` names the request, so applying the same request twice (a worker replaced
    mid-way) never answers twice. Without it the caller delivers the replies itself (a
    modal's submission answers in its acknowledgement).
    """
    with transaction(engine) as session:
        decision = check(command.rule, command.origin.user, manifest) if command.rule else None
        if decision is not None and not decision.allowed:
            replies: Sequence[Reply] = refuse(decision.reason)
        else:
            replies = work.run(WorkContext(session, manifest, now), command)
        if reply_key is not None:
            queue_replies(session, command, replies, key=reply_key, now=now)
    return replies


def _notice(_ctx: WorkContext, command: Notice) -> list[Reply]:
    return say(command.text)


NOTICES: Mapping[str, Work[Any]] = registry(Work(Notice, _notice))
