"""Sending an approved reply: a job in the worker (or a tick), never in the web process.

A draft is sent at most once. The job moves it `approved` → `sending` (or `send_failed` →
`sending` on a retry) before it hands the mail over; a start that finds it already `sending`
means the last sender stopped mid-send, with the outcome unknown: it becomes `send_failed`
and waits for a person's Retry, never resent by itself. A send the server certainly did not
take (refused the connection, answered 4xx/5xx) becomes `send_failed` and is retried with
backoff. Beyond `approvals.sends_per_hour`, mail waits; it is not dropped.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from switchboard.bot.email import EmailGateway, NotAccepted, OutcomeUnknown, Refused
from switchboard.bot.jobs import GiveUp, JobContext, JobKind, RetryLater
from switchboard.handlers.draft_posts import refresh
from switchboard.handlers.drafts import SEND_JOB
from switchboard.store import drafts
from switchboard.store.drafts import Draft, DraftState, approval_for
from switchboard.store.engine import transaction

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
SEND_LEASE = timedelta(minutes=2)  # extended while the send runs


UNKNOWN = "the sender stopped mid-send; it may have gone: check before retrying"


def _start(ctx: JobContext, draft_id: int) -> str | None:
    """Move the draft to `sending` for this attempt; the approved text, or None to stop.

    Raises GiveUp when a previous sender stopped mid-send, RetryLater over the hourly cap.
    """
    now = ctx.clock()
    with transaction(ctx.engine) as session:
        draft = session.get_one(Draft, draft_id)
        if draft.state is DraftState.SENDING:
            crashed = True
        elif draft.state not in (DraftState.APPROVED, DraftState.SEND_FAILED):
            return None  # sent already, or nothing to send
        else:
            crashed = False
            drafts.hold_the_send_cap(session)
            recent = drafts.recent_sends(session, since=now - HOUR)
            cap = ctx.manifest.approvals.sends_per_hour
            if recent.count >= cap:
                # A send under way may yet fail and free its place: look again once it has
                # ended (its lease bounds it). Otherwise, when the oldest send counted ages out.
                ages_out = recent.sent[-cap] + HOUR - now if len(recent.sent) >= cap else HOUR
                wait = min(ages_out, SEND_LEASE) if recent.in_flight else ages_out
                raise RetryLater(f"{cap} sends in the last hour; waiting", max(wait, SECOND))
            started = drafts.move(
                session,
                draft,
                DraftState.SENDING,
                actor="email",
                now=now,
                action="email.sending",
                expected=(DraftState.APPROVED, DraftState.SEND_FAILED),
            )
            if not started:
                return None  # another sender moved it first
            approval = approval_for(session, draft_id)
    if crashed:
        _failed(ctx, draft_id, UNKNOWN)
        raise GiveUp("outcome unknown")
    assert approval is not None  # an approved draft always has its approval
    return approval.text


def send_job(gateway: EmailGateway) -> JobKind:
    def send(ctx: JobContext) -> None:
        draft_id = int(ctx.job.payload["draft_id"])
        text = _start(ctx, draft_id)
        if text is None:
            return
        try:
            message_id = gateway.send(draft_id, text)
        except NotAccepted as error:
            _failed(ctx, draft_id, f"not accepted: {error}")
            raise  # the job retries it with backoff (send_failed → sending)
        except OutcomeUnknown as error:
            _failed(ctx, draft_id, f"outcome unknown: {error}")
            raise GiveUp(str(error)) from error
        except Refused as error:  # no approval of this exact text: nothing was sent
            _failed(ctx, draft_id, f"refused: {error}")
            raise GiveUp(str(error)) from error
        except Exception as error:  # a fault of ours mid-send: whether it left is not known
            _failed(ctx, draft_id, f"outcome unknown: {type(error).__name__}: {error}")
            raise GiveUp(str(error)) from error
        now = ctx.clock()
        with transaction(ctx.engine) as session:
            draft = session.get_one(Draft, draft_id)
            drafts.move(
                session,
                draft,
                DraftState.SENT,
                actor="email",
                now=now,
                action="email.sent",
                expected=DraftState.SENDING,
                note={"message_id": message_id},
                sent_at=now,
                send_error=None,
            )
            refresh(session, draft, manifest=ctx.manifest, now=now, event="sent")

    return JobKind(SEND_JOB, send, lease=SEND_LEASE, max_attempts=5)


def _failed(ctx: JobContext, draft_id: int, why: str) -> None:
    now = ctx.clock()
    log.warning("draft %s not sent: %s", draft_id, why)
    with transaction(ctx.engine) as session:
        draft = session.get_one(Draft, draft_id)
        moved = drafts.move(
            session,
            draft,
            DraftState.SEND_FAILED,
            actor="email",
            now=now,
            action="email.send_failed",
            expected=DraftState.SENDING,
            note={"error": why[:500]},
            send_error=why[:2000],
        )
        if moved:
            refresh(
                session, draft, manifest=ctx.manifest, now=now, event=f"failed:{now.isoformat()}"
            )
