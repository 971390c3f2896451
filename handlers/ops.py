"""`/ops`: parse the text into a command, ack at once, answer ephemerally."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond

from switchboard.handlers import owners
from switchboard.handlers.alert_posts import label
from switchboard.handlers.context import Deps, Message
from switchboard.handlers.deferred import Deferred, Request
from switchboard.store import alerts, audit, ownership
from switchboard.store.alerts import AlertState
from switchboard.store.engine import reading

# Slack escapes mentions in command text as <@U123|name> (should_escape) or <@U123>.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
AUDIT_DEFAULT, AUDIT_MAX = 10, 50


class UsageError(ValueError):
    """The text is not a command; the message says what was wrong."""


@dataclass(frozen=True)
class Command:
    name: str
    domain: str | None = None
    user: str | None = None
    count: int | None = None


def parse_user(token: str, deps: Deps) -> str:
    if match := _MENTION.match(token):
        return match.group(1)
    if _USER_ID.match(token):
        return token
    name = token.removeprefix("@").lower()
    for person in deps.manifest.people:
        if person.name.lower() == name:
            return person.slack_id
    raise UsageError(f"'{token}' is not a person: mention them, like @Ana")


def parse(text: str, deps: Deps) -> Command:
    words = (text or "").split()
    if not words or words[0].lower() == "help":
        return Command("help")
    verb, args = words[0].lower(), words[1:]
    if verb in ("alerts", "owners") and not args:
        return Command(verb)
    if verb == "audit" and len(args) <= 1:
        if args and not (args[0].isdigit() and 1 <= int(args[0]) <= AUDIT_MAX):
            raise UsageError(f"`/ops audit N`: N must be a number from 1 to {AUDIT_MAX}")
        return Command("audit", count=int(args[0]) if args else AUDIT_DEFAULT)
    if verb == "reassign":
        if len(args) != 2:
            raise UsageError("`/ops reassign DOMAIN @user`: name one domain and one person")
        domain = args[0].lower()
        if domain not in deps.manifest.domains:
            known = ", ".join(sorted(deps.manifest.domains))
            raise UsageError(f"'{args[0]}' is not a domain (domains: {known})")
        return Command("reassign", domain=domain, user=parse_user(args[1], deps))
    raise UsageError(f"'{text.strip()[:60]}' is not an /ops command")


def alert_listing(deps: Deps) -> Message:
    """Open and acknowledged alerts (suppressed ones are held back by design)."""
    with reading(deps.engine) as session:
        rows = [
            (a, label(session, a))
            for a in alerts.listing(session)
            if a.state is not AlertState.SUPPRESSED
        ]
    return deps.views.alert_list(rows, deps.tz)


def answer(deps: Deps, command: Command, user: str, *, asked_at: datetime) -> Message:
    views = deps.views
    if command.name == "help":
        return views.help()
    if command.name == "alerts":
        return alert_listing(deps)
    if command.name == "owners":
        with reading(deps.engine) as session:
            rows = ownership.all_owners(session)
        return views.owners(rows, deps.manifest)
    if command.name == "audit":
        with reading(deps.engine) as session:
            events = audit.recent(session, command.count or AUDIT_DEFAULT)
        return views.audit_list(events, deps.tz)
    assert command.name == "reassign" and command.domain and command.user
    outcome = owners.reassign_domain(deps, command.domain, command.user, by=user, asked_at=asked_at)
    return Message(text=outcome.text)


def register(app: App, deps: Deps, deferred: Deferred) -> None:
    def answer_later(request: Request, respond: Respond) -> None:
        try:
            command = parse(request.body.get("text", ""), deps)
        except UsageError as problem:  # the manifest changed since the ack
            reply = deps.views.help(str(problem))
        else:
            reply = answer(deps, command, request.body["user_id"], asked_at=request.received_at)
        respond(response_type="ephemeral", **reply.payload())

    kind = deferred.register("command:/ops", answer_later)

    @app.command("/ops")
    def ack_ops(ack: Ack, body: dict[str, Any]) -> None:
        """Help and usage problems are answered in the ack itself; the rest comes after."""
        try:
            parsed = parse(body.get("text", ""), deps)
        except UsageError as problem:
            ack(response_type="ephemeral", **deps.views.help(str(problem)).payload())
            return
        if parsed.name == "help":
            ack(response_type="ephemeral", **deps.views.help().payload())
            return
        deps.defer(kind, body)
        ack()
