"""Taking in client mail: triage once, hand angry or urgent mail to a person, queue drafts.

Each inbound mail is triaged once, however often it arrives (a re-import, the shortcut used
twice): the `email_triage` row is the record. Mail a rule sends to a person opens an
escalation at once under the drafting agent's policy, carrying the handoff context; for other
mail the first drafting job is queued at once, and the drafting agent's runs queue the rest.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from switchboard.agents.handoff import handoff
from switchboard.agents.triage import triage
from switchboard.handlers.escalation_posts import open_escalation
from switchboard.store import agent_state, drafts, jobs
from switchboard.store.agent_state import Autonomy
from switchboard.store.drafts import LIVE, DraftState, EmailTriage, Verdict
from switchboard.store.manifest import AgencyManifest
from switchboard.store.source_data import InboundEmail

AGENT = "drafting"
DRAFT_JOB = "draft"
MAX_REDRAFTS = 2  # after rejections, per inbound mail


def drafting_paused(session: Session) -> bool:
    """While drafting is paused, client mail waits untriaged and undrafted (held, not lost)."""
    return agent_state.level(session, AGENT) is Autonomy.PAUSED


def take_in(
    session: Session, email: InboundEmail, *, manifest: AgencyManifest, now: datetime
) -> EmailTriage:
    """Triage `email` (once): a person for angry or urgent mail, a draft for the rest."""
    seen = session.get(EmailTriage, email.message_id)
    if seen is not None:
        return seen
    reasons = triage(email.subject, email.body)
    record = EmailTriage(
        message_id=email.message_id,
        verdict=Verdict.HUMAN if reasons else Verdict.DRAFT,
        reasons=reasons,
        triaged_at=now,
    )
    session.add(record)
    session.flush()
    if reasons:
        open_escalation(
            session,
            subject=f"email:{email.message_id}",
            domain=manifest.domain_of(AGENT) or "client_comms",
            agent=AGENT,
            context=handoff(session, email, reasons, manifest),
            manifest=manifest,
            now=now,
        )
    elif not drafting_paused(session):
        # The first draft starts now; the drafting agent's runs catch up on the rest
        # (redrafts after a rejection, retries after the model failed).
        queue_draft(session, record, now=now)
    return record


def next_generation(session: Session, record: EmailTriage) -> int | None:
    """Which draft this mail needs next, or None (one is live, or it has had enough)."""
    if record.verdict is not Verdict.DRAFT:
        return None
    written = drafts.drafts_for(session, record.message_id)
    if not written:
        return 1
    if any(d.state in LIVE for d in written):
        return None
    last = written[-1]
    rejected = sum(d.state is DraftState.REJECTED for d in written)
    if last.state is DraftState.REJECTED and rejected <= MAX_REDRAFTS:
        return last.generation + 1
    if last.state is DraftState.EXPIRED and record.redraft_asked_by:
        return last.generation + 1
    return None


def queue_draft(session: Session, record: EmailTriage, *, now: datetime) -> bool:
    """Queue the next draft for this mail, if it needs one; True if a job was queued.

    The job's key names the mail, the draft and the attempt, so the same draft is never
    queued twice, and a drafting run after a failed attempt queues a fresh one.
    """
    generation = next_generation(session, record)
    if generation is None:
        return False
    return jobs.enqueue(
        session,
        kind=DRAFT_JOB,
        key=f"draft:{record.message_id}:{generation}:{record.draft_attempts}",
        payload={"message_id": record.message_id, "generation": generation},
        agent=AGENT,
        now=now,
    )
