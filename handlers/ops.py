"""`/ops`: a command table (name, argument parser, work), one place, help generated from it.

Each handler module contributes its rows (`SUBCOMMANDS`); `handlers.OPS` is the whole table.
A row's parser turns the words after the name into a typed command, or raises UsageError
saying what is wrong; the command's work (registered by kind) authorizes and answers in the
worker. `/ops help` and usage mistakes are answered in the acknowledgement itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field
from slack_bolt import Ack, App, BoltRequest

from switchboard.handlers.alert_posts import alert_listing
from switchboard.handlers.commands import Command, Origin
from switchboard.handlers.deps import Deps
from switchboard.handlers.slack_requests import origin_of, request_key
from switchboard.handlers.views import ops as views
from switchboard.handlers.views.message import Message
from switchboard.handlers.work import Reply, Work, WorkContext, registry
from switchboard.store import audit, ownership
from switchboard.store.manifest import AgencyManifest
from switchboard.store.slack_ids import MENTION_RE, is_user_id

_COUNT = re.compile(r"^[0-9]{1,4}$")  # ASCII digits only: str.isdigit also accepts "²"
AUDIT_DEFAULT, AUDIT_MAX = 10, 50
ECHO = 60  # characters of the person's own text quoted back in a usage message


class UsageError(ValueError):
    """The text is not a command; the message says what was wrong."""


Parser = Callable[[Sequence[str], AgencyManifest, Origin], Command]


@dataclass(frozen=True)
class Subcommand:
    usage: str  # "reassign DOMAIN @user": the name, then its arguments
    summary: str  # what it does, for help
    parse: Parser | None  # None: answered in the acknowledgement (help)

    @property
    def name(self) -> str:
        return self.usage.split()[0]


def parse_person(token: str, manifest: AgencyManifest) -> str:
    if match := MENTION_RE.match(token):
        return match.group(1)
    if is_user_id(token):
        return token
    name = token.removeprefix("@").lower()
    for person in manifest.people:
        if person.name.lower() == name:
            return person.slack_id
    raise UsageError(f"'{token[:ECHO]}' is not a person: mention them, like @Ana")


def no_arguments(command: type[Command]) -> Parser:
    """The parser of a subcommand that takes nothing but who asked (`parse` checks the rest)."""
    return lambda _args, _manifest, origin: command(origin=origin)


def parse(
    text: str, table: Sequence[Subcommand], manifest: AgencyManifest, origin: Origin
) -> Command | None:
    """The command `text` asks for, or None for help; raises UsageError."""
    words = (text or "").split()
    if not words:
        return None
    rows = {row.name: row for row in table}
    row = rows.get(words[0].lower())
    if row is None:
        raise UsageError(f"'{text.strip()[:ECHO]}' is not an /ops command")
    if row.parse is None:
        return None
    if row.usage == row.name and len(words) > 1:
        raise UsageError(f"`/ops {row.name}` takes no arguments")
    return row.parse(words[1:], manifest, origin)


def usage(table: Sequence[Subcommand]) -> list[tuple[str, str]]:
    return [(row.usage, row.summary) for row in table]


def help_message(table: Sequence[Subcommand], problem: str | None = None) -> Message:
    return views.help(usage(table), problem)


# -- the subcommands of this module -----------------------------------------------------------


class ListAlerts(Command):
    kind: ClassVar[str] = "ops.alerts"


class ListOwners(Command):
    kind: ClassVar[str] = "ops.owners"


class ListAudit(Command):
    kind: ClassVar[str] = "ops.audit"
    count: int = Field(ge=1, le=AUDIT_MAX)


def _audit(args: Sequence[str], _manifest: AgencyManifest, origin: Origin) -> Command:
    if len(args) > 1 or (args and not (_COUNT.match(args[0]) and 1 <= int(args[0]) <= AUDIT_MAX)):
        raise UsageError(f"`/ops audit N`: N must be a number from 1 to {AUDIT_MAX}")
    return ListAudit(origin=origin, count=int(args[0]) if args else AUDIT_DEFAULT)


def list_alerts(ctx: WorkContext, _command: ListAlerts) -> list[Reply]:
    return [Reply(alert_listing(ctx.session, ctx.manifest))]


def list_owners(ctx: WorkContext, _command: ListOwners) -> list[Reply]:
    return [Reply(views.owners(ownership.all_owners(ctx.session), ctx.manifest))]


def list_audit(ctx: WorkContext, command: ListAudit) -> list[Reply]:
    return [Reply(views.audit_list(audit.recent(ctx.session, command.count), ctx.tz))]


WORK = registry(
    Work(ListAlerts, list_alerts), Work(ListOwners, list_owners), Work(ListAudit, list_audit)
)
SUBCOMMANDS = (
    Subcommand("help", "this list", None),
    Subcommand(
        "alerts", "open pacing alerts, with Acknowledge and Reassign", no_arguments(ListAlerts)
    ),
    Subcommand(
        "owners", "each data domain, its owning agent and its human owner", no_arguments(ListOwners)
    ),
    Subcommand(
        "audit [N]", f"the last N changes (default {AUDIT_DEFAULT}, at most {AUDIT_MAX})", _audit
    ),
)


def register(app: App, deps: Deps, table: Sequence[Subcommand]) -> None:
    @app.command("/ops")
    def on_ops(ack: Ack, body: dict[str, Any], request: BoltRequest) -> None:
        """Help and usage problems are answered in the ack itself; the rest comes after."""
        origin = origin_of(body, request.headers, deps.clock)
        try:
            command = parse(body.get("text", ""), table, deps.manifest, origin)
        except UsageError as problem:
            ack(response_type="ephemeral", **help_message(table, str(problem)).payload())
            return
        if command is None:
            ack(response_type="ephemeral", **help_message(table).payload())
            return
        if not deps.record(command, request_key(body)):
            ack(response_type="ephemeral", text="That request was already handled.")
            return
        ack()
