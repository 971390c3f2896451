"""Client email in Slack: the approval message, its modals, the `/ops drafts` list, the
shortcut's client picker, and the notice when a draft could not be written."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    InputBlock,
    Option,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from switchboard.agents.durations import age
from switchboard.handlers.refs import (
    BODY_BLOCK,
    CLIENT_BLOCK,
    INPUT_ACTION,
    REASON_BLOCK,
    SENDER_BLOCK,
    ActionId,
    CallbackId,
    DraftRef,
)
from switchboard.handlers.views.limits import clip, context, fit, section
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.modals import form_modal, text_input
from switchboard.handlers.views.text import escape, local_time, mention
from switchboard.store.drafts import Approval, Draft, DraftState, sha256
from switchboard.store.source_data import Client, InboundEmail

OFFLINE = "offline-template"
QUOTED = 800  # characters of the client's mail quoted in the approval message
_FLAG_ICON = {"block": ":no_entry:", "warn": ":warning:"}
_RULE_WHAT = {
    "dash": "an em or en dash",
    "placeholder": "an unfilled placeholder",
    "ai_disclosure": "says it was written by an AI",
    "cheerful_complaint": "a cheerful answer to a complaint",
    "hedge": "hedging",
    "ai_phrase": "a stock AI phrase",
    "inbound_instructions": "the client's mail contains instructions to an assistant (not obeyed)",
}


def _quote(text: str) -> str:
    flat = clip(text.strip(), QUOTED)
    return "\n".join(f">{escape(line)}" for line in flat.splitlines() or [""])


def _drafter(draft: Draft) -> str:
    if draft.drafter == OFFLINE:
        return ":memo: Offline template (no model configured)"
    return f":robot_face: Drafted by `{escape(draft.drafter)}`"


def _outcome(draft: Draft, approval: Approval | None, tz: ZoneInfo) -> str:
    who, when = mention(draft.decided_by), local_time(draft.decided_at, tz)
    edited = " (edited)" if approval and approval.edited else ""
    match draft.state:
        case DraftState.APPROVED | DraftState.SENDING:
            return f":white_check_mark: Approved{edited} by {who} at {when}; sending"
        case DraftState.SENT:
            return (
                f":email: Approved{edited} by {who} at {when}; sent {local_time(draft.sent_at, tz)}"
            )
        case DraftState.SEND_FAILED:
            return f":x: Approved{edited} by {who}; not sent: {escape(draft.send_error)}"
        case DraftState.REJECTED:
            return f":no_entry_sign: Rejected by {who} at {when}: {escape(draft.reason)}"
        case DraftState.EXPIRED:
            return f":hourglass: Expired at {when} with nobody deciding; not sent"
        case DraftState.SUPERSEDED:
            return ":arrows_counterclockwise: Superseded by a newer draft"
    return ""


def _buttons(draft: Draft) -> ActionsBlock | None:
    plain = DraftRef(draft_id=draft.id).encode()  # type: ignore[arg-type]
    if draft.state is DraftState.SEND_FAILED:
        retry = ButtonElement(text="Retry sending", action_id=ActionId.DRAFT_RETRY, value=plain)
        return ActionsBlock(block_id=f"draft-{draft.id}", elements=[retry])
    if draft.state is not DraftState.PENDING:
        return None
    elements = []
    if not draft.blocked:
        shown = DraftRef(draft_id=draft.id, text_sha256=sha256(draft.body)).encode()  # type: ignore[arg-type]
        elements.append(
            ButtonElement(
                text="Approve",
                action_id=ActionId.DRAFT_APPROVE,
                value=shown,
                style="primary",
                confirm=ConfirmObject(
                    title="Send this reply?",
                    text="It is sent to the client as written here.",
                    confirm="Approve and send",
                    deny="Not yet",
                ),
            )
        )
    elements += [
        ButtonElement(text="Edit", action_id=ActionId.DRAFT_EDIT, value=plain),
        ButtonElement(text="Reject", action_id=ActionId.DRAFT_REJECT, value=plain, style="danger"),
    ]
    return ActionsBlock(block_id=f"draft-{draft.id}", elements=elements)


def approval_message(
    draft: Draft,
    inbound: InboundEmail,
    client: Client | None,
    approval: Approval | None,
    *,
    tz: ZoneInfo,
) -> Message:
    """The approvals-channel post; re-rendered from the rows after every decision."""
    name = escape(client.name if client else draft.client_id)
    text = approval.text if approval is not None else draft.body
    blocks: list[Block] = [
        section(
            f":incoming_envelope: *{name}*: {escape(inbound.from_email)} wrote "
            f"*{escape(inbound.subject or '(no subject)')}*\n{_quote(inbound.body)}"
        ),
        section(f"*Reply* ({escape(draft.subject)}):\n{escape(text)}"),
    ]
    for flag in draft.lint:
        what = _RULE_WHAT.get(flag["rule"], flag["rule"])
        blocks.append(
            context(f'{_FLAG_ICON.get(flag["level"], "")} {what}: "{escape(flag["excerpt"])}"')
        )
    if draft.state is DraftState.PENDING and draft.blocked:
        blocks.append(context(":lock: A writing rule blocks this draft: edit it to approve it."))
    outcome = _outcome(draft, approval, tz)
    if outcome:
        blocks.append(context(outcome))
    buttons = _buttons(draft)
    if buttons is not None:
        blocks.append(buttons)
    blocks.append(context(f"{_drafter(draft)} · draft #{draft.id} · try {draft.generation}"))
    return Message(text=f"Draft reply to {name}: {escape(draft.subject)}", blocks=blocks)


def drafting_failed(inbound: InboundEmail, client: Client | None, error: str) -> Message:
    name = escape(client.name if client else inbound.client_id)
    text = (
        f':warning: No draft yet for {name} ("{escape(inbound.subject)}"): {escape(error)}. '
        "The mail is kept; the next drafting run tries again."
    )
    return Message(text=text, blocks=[section(text)])


def draft_list(rows: Sequence[tuple[Draft, str]], *, tz: ZoneInfo, now: datetime) -> Message:
    """`/ops drafts`: drafts waiting for approval, oldest first, with their age."""
    if not rows:
        return Message(text="No drafts waiting.", blocks=[section(":sunny: No drafts waiting.")])
    head = [section(f"*Drafts waiting for approval ({len(rows)})*")]
    items = [
        [
            section(
                f"*#{draft.id}* {escape(client)}: {escape(draft.subject)} · waiting "
                f"{age(draft.created_at, now)}"
                + (" · :no_entry: blocked until edited" if draft.blocked else "")
            ),
            DividerBlock(),
        ]
        for draft, client in rows
    ]
    return Message(
        text=f"{len(rows)} draft(s) waiting",
        blocks=fit(head, items, more="`switchboard drafts` lists them all."),
    )


def edit_modal(draft: Draft) -> View:
    return form_modal(
        callback_id=CallbackId.DRAFT_EDIT,
        title="Edit and approve",
        submit="Approve",
        metadata=DraftRef(draft_id=draft.id).encode(),  # type: ignore[arg-type]
        intro=[section("Your edit is what the client receives, exactly as written.")],
        inputs=[text_input(BODY_BLOCK, "Reply", initial=draft.body, multiline=True)],
    )


def reject_modal(draft: Draft) -> View:
    return form_modal(
        callback_id=CallbackId.DRAFT_REJECT,
        title="Reject draft",
        submit="Reject",
        metadata=DraftRef(draft_id=draft.id).encode(),  # type: ignore[arg-type]
        inputs=[
            text_input(
                REASON_BLOCK,
                "Why? The next draft is written with this.",
                multiline=True,
                max_length=1000,
            )
        ],
    )


def client_modal(clients: Sequence[Client], *, metadata: str, preview: str) -> View:
    """The message shortcut: which client is this from, and (if we lack it) their address."""
    options = [
        Option(value=c.client_id, text=clip(f"{c.name} ({c.client_id})", 75)) for c in clients[:100]
    ]
    picker = StaticSelectElement(
        action_id=INPUT_ACTION, placeholder="Choose the client", options=options
    )
    return form_modal(
        callback_id=CallbackId.DRAFT_CLIENT,
        title="Draft client reply",
        submit="Draft",
        metadata=metadata,
        intro=[section(f"*The message*\n{_quote(preview)}")],
        inputs=[
            InputBlock(block_id=CLIENT_BLOCK, label="Client", element=picker),
            text_input(
                SENDER_BLOCK,
                "Reply to (needed when the client has no email on file)",
                optional=True,
                max_length=320,
            ),
        ],
    )
