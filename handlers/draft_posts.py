"""Approval messages in the approvals channel, rendered from the rows as they are now.

Keys: `draft:12` is the post; `draft:12:approved` (and so on) its update after an event.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from switchboard.agents.autonomy import Output, OutputKind
from switchboard.handlers.shadow_posts import gate
from switchboard.handlers.views import drafts as views
from switchboard.store.drafts import Draft, approval_for
from switchboard.store.manifest import AgencyManifest
from switchboard.store.outbox import OutboxKind, enqueue
from switchboard.store.source_data import Client, InboundEmail

AGENT = "drafting"


def _message(session: Session, draft: Draft, manifest: AgencyManifest) -> views.Message:
    inbound = session.get_one(InboundEmail, draft.inbound_message_id)
    client = session.get(Client, draft.client_id)
    approval = approval_for(session, draft.id)  # type: ignore[arg-type]
    return views.approval_message(draft, inbound, client, approval, tz=manifest.tz)


def post_for_approval(
    session: Session, draft: Draft, *, manifest: AgencyManifest, now: datetime
) -> None:
    enqueue(
        session,
        key=draft.key,
        kind=OutboxKind.POST,
        channel=manifest.channels.approvals,
        payload=_message(session, draft, manifest).payload(),
        agent=AGENT,
        now=now,
    )


def refresh(
    session: Session, draft: Draft, *, manifest: AgencyManifest, now: datetime, event: str
) -> None:
    """Queue a re-render of the draft's approval message (after a decision or a send)."""
    draft = session.get_one(Draft, draft.id, populate_existing=True)
    enqueue(
        session,
        key=f"{draft.key}:{event}",
        kind=OutboxKind.UPDATE,
        channel=manifest.channels.approvals,
        payload=_message(session, draft, manifest).payload(),
        parent_key=draft.key,
        now=now,
    )


def drafting_failed(
    session: Session,
    inbound: InboundEmail,
    error: str,
    *,
    attempt: int,
    manifest: AgencyManifest,
    now: datetime,
) -> None:
    """Tell the approvers a mail has no draft yet, and why (once per failed attempt); a
    drafting agent in shadow says it in the shadow channel instead."""
    client = session.get(Client, inbound.client_id)
    would = Output(
        agent=AGENT,
        kind=OutputKind.MESSAGE,
        key=f"drafting-failed:{inbound.message_id}:{attempt}",
        what=f"told the approvers there is no draft yet for {inbound.subject}",
        for_whom="the approvals channel",
        why=error,
    )
    if not gate(session, would, manifest=manifest, now=now):
        return
    enqueue(
        session,
        key=f"drafting-failed:{inbound.message_id}:{attempt}",
        kind=OutboxKind.POST,
        channel=manifest.channels.approvals,
        payload=views.drafting_failed(inbound, client, error).payload(),
        agent=AGENT,
        now=now,
    )
