"""Client email in the worker: triage in every tick, the drafting agent's run, the drafting
job (a slow job: the model may take seconds), and the expiry of drafts nobody decided on.

Drafting never runs in the click path. A draft the model could not write (overloaded, rate
limited, unreachable, or any error the drafter raised) leaves its mail undrafted with the
error recorded and shown in the approvals channel; the next drafting run tries again.
Nothing is dropped.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session

from switchboard.agents.autonomy import Output, OutputKind
from switchboard.agents.drafting import (
    PROMPT_VERSION,
    AnthropicDrafter,
    Drafter,
    DraftingFailed,
    DraftRequest,
    OfflineDrafter,
    Written,
    write_draft,
)
from switchboard.bot.jobs import GiveUp, JobContext, JobKind
from switchboard.bot.settings import Settings
from switchboard.handlers.draft_posts import drafting_failed, post_for_approval, refresh
from switchboard.handlers.escalation_posts import open_escalation
from switchboard.handlers.mail_intake import (
    AGENT,
    DRAFT_JOB,
    drafting_paused,
    queue_draft,
    take_in,
)
from switchboard.handlers.shadow_posts import gate
from switchboard.handlers.views.limits import clip
from switchboard.handlers.views.text import mention
from switchboard.store import drafts
from switchboard.store.drafts import Draft, DraftState, EmailTriage, Verdict
from switchboard.store.engine import transaction
from switchboard.store.manifest import AgencyManifest, Role, parse_duration
from switchboard.store.source_data import Client, InboundEmail

log = logging.getLogger(__name__)
UNEXPECTED_ERROR = 300  # characters of an unexpected error shown to the approvers


def drafter_for(settings: Settings) -> Drafter:
    """The model when an API key is set; the offline template, clearly labelled, when not."""
    if settings.anthropic_api_key is None:
        return OfflineDrafter()
    return AnthropicDrafter(
        api_key=settings.anthropic_api_key.get_secret_value(),
        model=settings.switchboard_model,
        base_url=settings.anthropic_base_url,
    )


# -- the tick's parts -----------------------------------------------------------------------


def triage_new(engine: Engine, manifest: AgencyManifest, now: datetime) -> Counter[Verdict]:
    """Triage every inbound mail not yet triaged: mail for a person escalates at once, the
    rest has its first draft queued. How many got each verdict. Nothing while drafting is
    paused: the mail waits, untriaged, for the resume."""
    with transaction(engine) as session:
        if drafting_paused(session):
            return Counter()  # held, not dropped: triaged when drafting resumes
        waiting = session.scalars(
            select(InboundEmail)
            .outerjoin(EmailTriage, EmailTriage.message_id == InboundEmail.message_id)
            .where(EmailTriage.message_id.is_(None))  # type: ignore[union-attr]
            .order_by(InboundEmail.received_at)
        ).all()
        return Counter(take_in(session, e, manifest=manifest, now=now).verdict for e in waiting)


def expire_pending(engine: Engine, manifest: AgencyManifest, now: datetime) -> int:
    """Pending drafts older than `approvals.expire_after` expire (never an approval) and
    escalate, naming the approvers and offering Redraft."""
    cutoff = now - parse_duration(manifest.approvals.expire_after)
    with transaction(engine) as session:
        if drafting_paused(session):
            return 0  # nothing of a paused agent's runs: its drafts wait, and expire after
        stale = session.scalars(
            select(Draft).where(Draft.state == DraftState.PENDING, Draft.created_at <= cutoff)
        ).all()
        expired = 0
        for draft in stale:
            if drafts.move(
                session,
                draft,
                DraftState.EXPIRED,
                actor="drafts",
                now=now,
                action="draft.expire",
                decided_at=now,
            ):
                expired += 1
                refresh(session, draft, manifest=manifest, now=now, event="expired")
                _escalate_expiry(session, draft, manifest, now)
    return expired


def _escalate_expiry(
    session: Session, draft: Draft, manifest: AgencyManifest, now: datetime
) -> None:
    client = session.get(Client, draft.client_id)
    approvers = sorted(manifest.with_role(Role.APPROVER))
    who = (
        "Approvers: " + ", ".join(mention(a) for a in approvers)
        if approvers
        else "Nobody in the manifest has the approver role, so nobody can approve client mail."
    )
    open_escalation(
        session,
        subject=draft.key,
        domain=manifest.domain_of(AGENT) or "client_comms",
        agent=AGENT,
        context={
            "headline": f"A reply to {client.name if client else draft.client_id} waited "
            f"{manifest.approvals.expire_after} and expired unsent: {draft.subject}",
            "details": [who, "Redraft writes a new one for the same mail."],
            "redraft": draft.id,
        },
        manifest=manifest,
        now=now,
    )


# -- the drafting agent -----------------------------------------------------------------------


def queue_drafts(engine: Engine, *, now: datetime) -> int:
    """The drafting agent's run: queue a drafting job for every mail that needs a draft (its
    first, or another after a rejection); the jobs write them."""
    with transaction(engine) as session:
        records = session.scalars(
            select(EmailTriage).where(EmailTriage.verdict == Verdict.DRAFT)
        ).all()
        return sum(queue_draft(session, record, now=now) for record in records)


def draft_job(drafter: Drafter) -> JobKind:
    def write(ctx: JobContext) -> None:
        message_id = ctx.job.payload["message_id"]
        generation = int(ctx.job.payload["generation"])
        with transaction(ctx.engine) as session:
            request = _request(session, ctx.manifest, message_id)
            if any(d.generation >= generation for d in drafts.drafts_for(session, message_id)):
                return  # written already (this job was run again after a crash)
        try:
            written = write_draft(drafter, request)
        except DraftingFailed as error:
            _record_failure(ctx, message_id, str(error))
            raise GiveUp(str(error)) from error
        except Exception as error:
            # A bug, or an error the drafter did not expect: recorded the same way. The job
            # is tried once and its key names the attempt, so only a recorded attempt lets
            # the next drafting run queue it again; a bare failure would drop the mail unseen.
            log.exception("drafting %s failed unexpectedly", message_id)
            why = clip(f"{type(error).__name__}: {error}", UNEXPECTED_ERROR)
            _record_failure(ctx, message_id, why)
            raise GiveUp(why) from error
        now = ctx.clock()
        with transaction(ctx.engine) as session:
            inbound = session.get_one(InboundEmail, message_id)
            if not gate(
                session, _would_draft(request, inbound, written), manifest=ctx.manifest, now=now
            ):
                return  # in shadow: shown in the shadow channel, never to the approvers
            draft = drafts.add_draft(
                session,
                Draft(
                    inbound_message_id=message_id,
                    client_id=inbound.client_id,
                    generation=generation,
                    subject=_reply_subject(inbound.subject),
                    body=written.text,
                    prompt_version=PROMPT_VERSION,
                    drafter=drafter.name,
                    lint=written.flags,
                    state=DraftState.PENDING,
                    created_at=now,
                ),
                actor=f"agent:{AGENT}",
                now=now,
            )
            post_for_approval(session, draft, manifest=ctx.manifest, now=now)

    # A model failure gives up at once (recorded; the next run tries again); anything after
    # the draft was written (the store step) is retried with backoff: the job is idempotent.
    return JobKind(DRAFT_JOB, write, max_attempts=3)


def _would_draft(request: DraftRequest, inbound: InboundEmail, written: Written) -> Output:
    flags = ", ".join(f"{f['rule']} ({f['level']})" for f in written.flags) or "none"
    return Output(
        agent=AGENT,
        kind=OutputKind.DRAFT,
        key=f"draft:{inbound.message_id}",
        what=f'drafted a reply to {request.client_name}: "{_reply_subject(inbound.subject)}"',
        for_whom=f"the approvers in the approvals channel, then {inbound.from_email}",
        why=f'{inbound.from_email} wrote "{inbound.subject}"; writing-rule flags: {flags}',
        detail=written.text,
    )


def _reply_subject(subject: str) -> str:
    subject = subject.strip() or "Your message"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def _request(session: Session, manifest: AgencyManifest, message_id: str) -> DraftRequest:
    inbound = session.get_one(InboundEmail, message_id)
    client = session.get(Client, inbound.client_id)
    feedback = tuple(
        f"A person rejected an earlier draft: {d.reason}"
        for d in drafts.drafts_for(session, message_id)
        if d.state is DraftState.REJECTED and d.reason
    )
    return DraftRequest(
        agency=manifest.agency,
        client_name=client.name if client else inbound.client_id,
        subject=inbound.subject,
        sender=inbound.from_email,
        body=inbound.body,
        feedback=feedback,
        allowed_rules=tuple(manifest.writing.allow.get(inbound.client_id, [])),
    )


def _record_failure(ctx: JobContext, message_id: str, error: str) -> None:
    now = ctx.clock()
    log.warning("no draft for %s: %s", message_id, error)
    with transaction(ctx.engine) as session:
        record = session.get_one(EmailTriage, message_id)
        record.draft_attempts += 1
        record.last_error = error[:2000]
        inbound = session.get_one(InboundEmail, message_id)
        drafting_failed(
            session, inbound, error, attempt=record.draft_attempts, manifest=ctx.manifest, now=now
        )
