"""`/ops` replies: help, owners, audit."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ButtonElement, SectionBlock

from switchboard.bot.views.limits import clip, context, fit, section
from switchboard.handlers.context import Message
from switchboard.handlers.refs import ActionId, DomainRef
from switchboard.store.audit import AuditEvent
from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner

USAGE = "\n".join(
    [
        "`/ops help`: this list",
        "`/ops alerts`: open pacing alerts, with Acknowledge and Reassign",
        "`/ops owners`: each data domain, its owning agent and its human owner",
        "`/ops reassign DOMAIN @user`: hand a domain to another person (admins, or its owner)",
        "`/ops audit [N]`: the last N changes (default 10, at most 50)",
    ]
)


def help(problem: str | None = None) -> Message:
    blocks = []
    if problem:
        blocks.append(section(f":warning: {problem}"))
    blocks.append(section(f"*Switchboard commands*\n{USAGE}"))
    text = f"{problem} " if problem else ""
    return Message(
        text=f"{text}Usage: /ops help | alerts | owners | reassign | audit", blocks=blocks
    )


def owners(rows: Sequence[DomainOwner], manifest: AgencyManifest) -> Message:
    head = [section("*Data domains: one seat, one owner*")]
    items = []
    for row in rows:
        sources = ", ".join(manifest.domains[row.id].sources) if row.id in manifest.domains else ""
        line = SectionBlock(
            # Clipped like every section: a domain may list any number of sources.
            text=clip(
                f"*{row.id}*: agent `{row.agent}` · owner <@{row.owner}>"
                + (f" · sources {sources}" if sources else "")
            ),
            accessory=ButtonElement(
                text="Reassign",
                action_id=ActionId.OWNER_REASSIGN,
                value=DomainRef(domain=row.id).encode(),
            ),
        )
        items.append([line])
    return Message(text="Data domain owners", blocks=fit(head, items, more=""))


def audit_list(events: Sequence[AuditEvent], tz: ZoneInfo) -> Message:
    if not events:
        return Message(text="The audit log is empty.", blocks=[section("The audit log is empty.")])
    head = [section(f"*Audit log: last {len(events)}*")]
    items = []
    for e in events:
        when = e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        actor = f"<@{e.actor}>" if e.actor.startswith(("U", "W")) else f"`{e.actor}`"
        change = f"{e.before or ''} → {e.after or ''}"
        items.append([context(f"{when} · {actor} · *{e.action}* `{e.subject}` {change}")])
    return Message(
        text=f"Audit log: last {len(events)}",
        blocks=fit(head, items, more="`switchboard audit` shows more."),
    )
