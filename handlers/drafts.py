"""Client email in Slack: Approve, Edit, Reject and Retry on the approval message, Redraft
after an expiry, the "Draft client reply" message shortcut, and `/ops drafts`.

Only people with the `approver` role decide. Approval binds to the exact text: Approve
carries a hash of the text the person saw, and the draft must still have it; Edit approves
the edited text, which must pass the blocking writing rules. Approving queues the send (a
job in the worker) in the same transaction; nothing here sends mail.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, ClassVar

from pydantic import Field
from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from sqlalchemy import select

from switchboard.agents import writing
from switchboard.handlers.clicks import queued_click
from switchboard.handlers.commands import Command, Notice, Origin
from switchboard.handlers.deps import Deps
from switchboard.handlers.draft_posts import refresh
from switchboard.handlers.mail_intake import drafting_paused, queue_draft, take_in
from switchboard.handlers.modals import answer_modal, open_modal
from switchboard.handlers.ops import Subcommand, no_arguments
from switchboard.handlers.permissions import DECIDE_DRAFT, TAKE_MESSAGE, Rule, check
from switchboard.handlers.refs import (
    BODY_BLOCK,
    CLIENT_BLOCK,
    REASON_BLOCK,
    SENDER_BLOCK,
    SHORTCUT,
    ActionId,
    CallbackId,
    DraftRef,
    MessageRef,
)
from switchboard.handlers.slack_requests import (
    NOT_OURS,
    clicked,
    modal_ref,
    modal_value,
    origin_of,
    refuse_in_modal,
    request_key,
)
from switchboard.handlers.views import drafts as views
from switchboard.handlers.views.text import channel_link, escape, local_time, mention
from switchboard.handlers.work import Reply, Work, WorkContext, refuse, registry, say
from switchboard.store import drafts, jobs
from switchboard.store.drafts import Draft, DraftState, EmailTriage, Verdict, sha256
from switchboard.store.engine import reading
from switchboard.store.source_data import Client, InboundEmail

SEND_JOB = "email.send"


class ApproveDraft(Command):
    kind: ClassVar[str] = "draft.approve"
    rule: ClassVar[Rule | None] = DECIDE_DRAFT
    draft_id: int = Field(ge=1)
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class EditDraft(Command):
    kind: ClassVar[str] = "draft.edit"
    rule: ClassVar[Rule | None] = DECIDE_DRAFT
    draft_id: int = Field(ge=1)
    text: str = Field(min_length=1, max_length=3000)


class RejectDraft(Command):
    kind: ClassVar[str] = "draft.reject"
    rule: ClassVar[Rule | None] = DECIDE_DRAFT
    draft_id: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=1000)


class RetrySend(Command):
    kind: ClassVar[str] = "draft.retry"
    rule: ClassVar[Rule | None] = DECIDE_DRAFT
    draft_id: int = Field(ge=1)


class Redraft(Command):
    kind: ClassVar[str] = "draft.redraft"
    rule: ClassVar[Rule | None] = DECIDE_DRAFT
    draft_id: int = Field(ge=1)


class TakeMessage(Command):
    """The message shortcut's submission: this Slack message is client mail to answer."""

    kind: ClassVar[str] = "draft.from_message"
    channel: str
    ts: str
    client_id: str = Field(min_length=1, max_length=64)
    sender: str | None = Field(default=None, max_length=320)
    text: str = Field(max_length=40_000)


class ListDrafts(Command):
    kind: ClassVar[str] = "ops.drafts"


def queue_send(ctx: WorkContext, draft: Draft, *, note: str) -> None:
    jobs.enqueue(
        ctx.session,
        kind=SEND_JOB,
        key=f"email:{draft.id}:{note}",
        payload={"draft_id": draft.id},
        now=ctx.now,  # no agent: a person approved it, so a pause of drafting holds it not
    )


def _decided(ctx: WorkContext, draft: Draft) -> str:
    if draft.decided_by:
        who, at = mention(draft.decided_by), local_time(draft.decided_at, ctx.tz)
        return f"Draft #{draft.id} is already {draft.state.value} by {who} at {at}."
    return f"Draft #{draft.id} is {draft.state.value}; there is nothing to decide."


def _decidable(ctx: WorkContext, draft_id: int) -> Draft | list[Reply]:
    """The draft, or the refusal: gone, or no longer pending (approvers only: the rule)."""
    draft = ctx.session.get(Draft, draft_id)
    if draft is None:
        return refuse("That draft no longer exists.")
    if draft.state is not DraftState.PENDING:
        return refuse(_decided(ctx, draft))
    return draft


def _approve(
    ctx: WorkContext, draft: Draft, origin: Origin, *, text: str, edited: bool
) -> list[Reply]:
    """pending → approved for exactly `text`, and its send queued, in one transaction."""
    approval = drafts.approve(
        ctx.session, draft, text=text, by=origin.user, now=origin.asked_at, edited=edited
    )
    if approval is None:
        ctx.session.refresh(draft)
        return refuse(_decided(ctx, draft))
    queue_send(ctx, draft, note="approved")
    refresh(ctx.session, draft, manifest=ctx.manifest, now=ctx.now, event="approved")
    what = "your edit of draft" if edited else "draft"
    return say(f"Approved {what} #{draft.id}; it is on its way.")


def approve(ctx: WorkContext, command: ApproveDraft) -> list[Reply]:
    draft = _decidable(ctx, command.draft_id)
    if not isinstance(draft, Draft):
        return draft
    if draft.blocked:
        return refuse("A writing rule blocks this draft: use Edit to fix it, then approve.")
    if command.text_sha256 != sha256(draft.body):
        return refuse("The draft changed since you saw it; nothing was approved. Look again.")
    return _approve(ctx, draft, command.origin, text=draft.body, edited=False)


def edit(ctx: WorkContext, command: EditDraft) -> list[Reply]:
    draft = _decidable(ctx, command.draft_id)
    if not isinstance(draft, Draft):
        return draft
    text = command.text.strip()
    inbound = ctx.session.get_one(InboundEmail, draft.inbound_message_id)
    allowed = ctx.manifest.writing.allow.get(draft.client_id, [])
    still = writing.blocking(writing.lint(text, inbound=inbound.body, allowed=allowed))
    if still:
        return refuse("Not approved: the edit still has " + "; ".join(writing.describe(still)))
    return _approve(ctx, draft, command.origin, text=text, edited=True)


def reject(ctx: WorkContext, command: RejectDraft) -> list[Reply]:
    user = command.origin.user
    draft = _decidable(ctx, command.draft_id)
    if not isinstance(draft, Draft):
        return draft
    reason = command.reason.strip()
    won = drafts.move(
        ctx.session,
        draft,
        DraftState.REJECTED,
        actor=user,
        now=command.origin.asked_at,
        action="draft.reject",
        note={"reason": reason},
        decided_by=user,
        decided_at=command.origin.asked_at,
        reason=reason,
    )
    if not won:
        ctx.session.refresh(draft)
        return refuse(_decided(ctx, draft))
    refresh(ctx.session, draft, manifest=ctx.manifest, now=ctx.now, event="rejected")
    return say(f"Rejected draft #{draft.id}; the next draft is written with your reason.")


def retry(ctx: WorkContext, command: RetrySend) -> list[Reply]:
    draft = ctx.session.get(Draft, command.draft_id)
    if draft is None:
        return refuse("That draft no longer exists.")
    if draft.state is not DraftState.SEND_FAILED:
        return refuse(f"Draft #{draft.id} is {draft.state.value}; there is nothing to retry.")
    queue_send(ctx, draft, note=f"retry:{command.origin.asked_at.astimezone(UTC).isoformat()}")
    return say(f"Sending draft #{draft.id} again.")


def redraft(ctx: WorkContext, command: Redraft) -> list[Reply]:
    draft = ctx.session.get(Draft, command.draft_id)
    if draft is None:
        return refuse("That draft no longer exists.")
    record = ctx.session.get_one(EmailTriage, draft.inbound_message_id)
    if draft.state is not DraftState.EXPIRED:
        return refuse(
            f"Draft #{draft.id} is {draft.state.value}; only an expired draft is redrafted."
        )
    record.redraft_asked_by = command.origin.user
    if not queue_draft(ctx.session, record, now=ctx.now):
        return refuse("A newer draft for that mail is already on its way or waiting.")
    where = channel_link(ctx.manifest.channels.approvals)
    return say(f"A new draft for that mail is being written; it will appear in {where}.")


def take_message(ctx: WorkContext, command: TakeMessage) -> list[Reply]:
    """The shortcut: the message becomes inbound mail (once), then triage and drafting."""
    message_id = f"slack:{command.channel}:{command.ts}"
    if ctx.session.get(InboundEmail, message_id) is not None:
        return refuse("That message was already taken in; see the approvals channel.")
    client = ctx.session.get(Client, command.client_id)
    if client is None:
        return refuse(f"There is no client '{escape(command.client_id)}'.")
    decision = check(
        TAKE_MESSAGE, command.origin.user, ctx.manifest, client_owner=client.owner_slack_id
    )
    if not decision.allowed:
        return refuse(decision.reason)
    sender = (command.sender or client.email or "").strip()
    if "@" not in sender:
        return refuse(f"{escape(client.name)} has no email on file: say whom to reply to.")
    lines = command.text.strip().splitlines() or ["(no text)"]
    email = InboundEmail(
        message_id=message_id,
        client_id=client.client_id,
        from_email=sender,
        subject=lines[0][:200],
        body=command.text,
        received_at=command.origin.asked_at,
    )
    ctx.session.add(email)
    ctx.session.flush()
    if drafting_paused(ctx.session):
        return say("Drafting is paused: the message is kept and handled when it resumes.")
    record = take_in(ctx.session, email, manifest=ctx.manifest, now=ctx.now)  # drafting starts
    if record.verdict is Verdict.HUMAN:
        return say(
            f"This needs a person ({', '.join(record.reasons)}): no draft; its owner has been told."
        )
    where = channel_link(ctx.manifest.channels.approvals)
    return say(f"Drafting a reply to {escape(client.name)}; it will appear in {where}.")


def list_drafts(ctx: WorkContext, _command: ListDrafts) -> list[Reply]:
    rows = []
    for draft in drafts.listing(ctx.session):
        client = ctx.session.get(Client, draft.client_id)
        rows.append((draft, client.name if client else draft.client_id))
    return [Reply(views.draft_list(rows, tz=ctx.tz, now=ctx.now))]


WORK = registry(
    Work(ApproveDraft, approve),
    Work(EditDraft, edit),
    Work(RejectDraft, reject),
    Work(RetrySend, retry),
    Work(Redraft, redraft),
    Work(TakeMessage, take_message),
    Work(ListDrafts, list_drafts),
)
SUBCOMMANDS = (
    Subcommand(
        "drafts",
        "client email drafts waiting for approval, with their age",
        no_arguments(ListDrafts),
    ),
)


def register(app: App, deps: Deps) -> None:
    def approve_command(origin: Origin, ref: DraftRef, _body: object) -> Command | None:
        if ref.text_sha256 is None:
            return None
        return ApproveDraft(origin=origin, draft_id=ref.draft_id, text_sha256=ref.text_sha256)

    def retry(origin: Origin, ref: DraftRef, _body: object) -> Command:
        return RetrySend(origin=origin, draft_id=ref.draft_id)

    def redraft(origin: Origin, ref: DraftRef, _body: object) -> Command:
        return Redraft(origin=origin, draft_id=ref.draft_id)

    app.action(ActionId.DRAFT_APPROVE)(queued_click(deps, DraftRef, approve_command))
    app.action(ActionId.DRAFT_RETRY)(queued_click(deps, DraftRef, retry))
    app.action(ActionId.DRAFT_REDRAFT)(queued_click(deps, DraftRef, redraft))

    def open_draft_modal(make_view: Any) -> Any:
        def opener(body: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
            origin = origin_of(body, request.headers, deps.clock)
            ref = clicked(body, DraftRef)
            with reading(deps.engine) as session:
                draft = session.get(Draft, ref.draft_id) if ref else None
            if draft is None:
                deps.record(Notice(origin=origin, text=NOT_OURS), None)
                return
            decision = check(DECIDE_DRAFT, origin.user, deps.manifest)
            if not decision.allowed:
                deps.record(Notice(origin=origin, text=decision.reason), None)
                return
            if draft.state is not DraftState.PENDING:
                deps.record(
                    Notice(origin=origin, text=f"Draft #{draft.id} is {draft.state.value}."), None
                )
                return
            open_modal(deps, client, body, make_view(draft), origin)

        return opener

    # Modals open from here, not from the worker's queue: a trigger_id lasts 3 seconds.
    app.action(ActionId.DRAFT_EDIT)(
        ack=lambda ack: ack(), lazy=[open_draft_modal(views.edit_modal)]
    )
    app.action(ActionId.DRAFT_REJECT)(
        ack=lambda ack: ack(), lazy=[open_draft_modal(views.reject_modal)]
    )

    @app.view(CallbackId.DRAFT_EDIT)
    def on_edit(ack: Ack, body: dict[str, Any], view: dict[str, Any], request: BoltRequest) -> None:
        ref, text = modal_ref(view, DraftRef), modal_value(view, BODY_BLOCK)
        if ref is None or text is None:
            refuse_in_modal(ack, BODY_BLOCK, "Write the reply to approve.")
            return
        origin = origin_of(body, request.headers, deps.clock)
        replies = deps.apply_now(
            EditDraft(origin=origin, draft_id=ref.draft_id, text=text[:3000]), request_key(body)
        )
        answer_modal(ack, replies, title="Approved", error_block=BODY_BLOCK)

    @app.view(CallbackId.DRAFT_REJECT)
    def on_reject(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], request: BoltRequest
    ) -> None:
        ref, reason = modal_ref(view, DraftRef), modal_value(view, REASON_BLOCK)
        if ref is None or reason is None:
            refuse_in_modal(ack, REASON_BLOCK, "Say why: the next draft is written with it.")
            return
        origin = origin_of(body, request.headers, deps.clock)
        command = RejectDraft(origin=origin, draft_id=ref.draft_id, reason=reason[:1000])
        answer_modal(
            ack,
            deps.apply_now(command, request_key(body)),
            title="Rejected",
            error_block=REASON_BLOCK,
        )

    def open_client_picker(body: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        origin = origin_of(body, request.headers, deps.clock)
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id", "")
        text = str(message.get("text", ""))
        try:
            ref = MessageRef(channel=channel, ts=str(message.get("ts", "")), text=text[:2600])
        except ValueError:
            deps.record(Notice(origin=origin, text="That message cannot be drafted from."), None)
            return
        with reading(deps.engine) as session:
            clients = list(session.scalars(select(Client).order_by(Client.name)))
        view = views.client_modal(clients, metadata=ref.encode(), preview=text)
        open_modal(deps, client, body, view, origin)

    app.shortcut(SHORTCUT)(ack=lambda ack: ack(), lazy=[open_client_picker])

    @app.view(CallbackId.DRAFT_CLIENT)
    def on_client(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], request: BoltRequest
    ) -> None:
        ref, client_id = modal_ref(view, MessageRef), modal_value(view, CLIENT_BLOCK)
        if ref is None or client_id is None:
            refuse_in_modal(ack, CLIENT_BLOCK, "Choose the client this message is from.")
            return
        origin = origin_of(body, request.headers, deps.clock)
        command = TakeMessage(
            origin=origin,
            channel=ref.channel,
            ts=ref.ts,
            client_id=client_id,
            sender=modal_value(view, SENDER_BLOCK),
            text=ref.text,
        )
        replies = deps.apply_now(command, request_key(body))
        answer_modal(ack, replies, title="Draft client reply", error_block=CLIENT_BLOCK)
