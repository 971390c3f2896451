"""`/ops` replies: help (from the command table), owners, audit, plain notices."""

from __future__ import annotations

import json
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ButtonElement, SectionBlock

from switchboard.handlers.refs import ActionId, DomainRef
from switchboard.handlers.views.limits import clip, context, fit, section
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.text import escape, local_time, mention
from switchboard.store.audit import AuditEvent
from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner


def help(usage: Sequence[tuple[str, str]], problem: str | None = None) -> Message:
    """Every subcommand as `(usage, what it does)`, after the problem with the text, if any."""
    lines = "\n".join(f"`/ops {name}`: {summary}" for name, summary in usage)
    blocks = []
    if problem:
        blocks.append(section(f":warning: {escape(problem)}"))
    blocks.append(section(f"*Switchboard commands*\n{lines}"))
    names = " | ".join(name.split()[0] for name, _ in usage)
    prefix = f"{escape(problem)} " if problem else ""
    return Message(text=clip(f"{prefix}Usage: /ops {names}", 3000), blocks=blocks)


def notice(text: str) -> Message:
    """A short answer; `text` is the bot's own words (mentions in it stay live)."""
    return Message(text=text, blocks=[section(text)])


def owners(rows: Sequence[DomainOwner], manifest: AgencyManifest) -> Message:
    head = [section("*Data domains: one seat, one owner*")]
    items = []
    for row in rows:
        domain = manifest.domains.get(row.id)
        sources = f" · sources {escape(', '.join(domain.sources))}" if domain else ""
        line = SectionBlock(
            text=clip(
                f"*{escape(row.id)}*: agent `{escape(row.agent)}` · owner {mention(row.owner)}"
                + sources
            ),
            accessory=ButtonElement(
                text="Reassign",
                action_id=ActionId.OWNER_REASSIGN,
                value=DomainRef(domain=row.id).encode(),
            ),
        )
        items.append([line])
    return Message(text="Data domain owners", blocks=fit(head, items, more=""))


def _actor(actor: str) -> str:
    return mention(actor) if actor.startswith(("U", "W")) else f"`{escape(actor)}`"


def _change(event: AuditEvent) -> str:
    def shown(value: object) -> str:
        return "" if value is None else escape(json.dumps(value, sort_keys=True, default=str))

    return f"{shown(event.before)} → {shown(event.after)}"


def audit_list(events: Sequence[AuditEvent], tz: ZoneInfo) -> Message:
    if not events:
        return Message(text="The audit log is empty.", blocks=[section("The audit log is empty.")])
    head = [section(f"*Audit log: last {len(events)}* ({tz.key} time)")]
    items = [
        [
            context(
                f"{local_time(e.at, tz)} · {_actor(e.actor)} · *{escape(e.action)}* "
                f"`{escape(e.subject)}` {_change(e)}"
            )
        ]
        for e in events
    ]
    return Message(
        text=f"Audit log: last {len(events)}",
        blocks=fit(head, items, more="`switchboard audit` shows more."),
    )
