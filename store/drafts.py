"""Client email: how each inbound mail was triaged, the drafts written for it, and the
approvals that bind to their exact text (DESIGN section 10).

Draft states: `pending` → `approved` | `rejected` (reason kept as feedback) | `expired`
(never counts as approval) | `superseded`; `approved` → `sending` → `sent` | `send_failed`;
`send_failed` → `sending` on a retry. Every change is a compare-and-set with its audit row.
An approval records the exact text approved (the draft's, or a person's edit of it) and its
SHA-256: the email gateway sends nothing else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, func, select
from sqlmodel import Field, Session, SQLModel, col

from switchboard.store import audit
from switchboard.store.engine import one_writer_at_a_time
from switchboard.store.transitions import transition
from switchboard.store.types import UTCDateTime, enum_type


class DraftState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    SENDING = "sending"
    SENT = "sent"
    SEND_FAILED = "send_failed"


# A draft in one of these holds its inbound mail: no other draft is written meanwhile.
LIVE = (
    DraftState.PENDING,
    DraftState.APPROVED,
    DraftState.SENDING,
    DraftState.SENT,
    DraftState.SEND_FAILED,
)
SEND_CAP_LOCK = 0x5B0A53  # PostgreSQL advisory lock id: one sender at a time checks the cap


class Verdict(StrEnum):
    HUMAN = "human"  # angry, legal, cancelling, asking for a person, disputing a bill
    DRAFT = "draft"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmailTriage(SQLModel, table=True):
    """How one inbound mail was handled: once, however often it arrives."""

    __tablename__ = "email_triage"

    message_id: str = Field(
        primary_key=True, foreign_key="inbound_email.message_id", max_length=200
    )
    verdict: Verdict = Field(sa_type=enum_type(Verdict))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    triaged_at: datetime = Field(sa_type=UTCDateTime())
    draft_attempts: int = 0  # drafting runs that failed (the model unreachable, say)
    last_error: str | None = Field(default=None, sa_type=Text)
    redraft_asked_by: str | None = Field(default=None, max_length=32)  # after an expiry


class Draft(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    inbound_message_id: str = Field(foreign_key="inbound_email.message_id", max_length=200)
    client_id: str = Field(max_length=64, index=True)
    generation: int = 1  # the nth draft for its inbound mail
    subject: str = Field(max_length=500)
    body: str = Field(sa_column=Column(Text, nullable=False))
    prompt_version: str = Field(max_length=32)
    drafter: str = Field(max_length=64)  # model name, or "offline-template"
    # Writing-rule findings: [{rule, level, excerpt}]; a `block` one stops approval unedited.
    lint: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: DraftState = Field(sa_type=enum_type(DraftState), index=True)
    created_at: datetime = Field(sa_type=UTCDateTime())
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    reason: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), index=True)
    send_error: str | None = Field(default=None, sa_type=Text)

    @property
    def key(self) -> str:
        return f"draft:{self.id}"

    @property
    def blocked(self) -> bool:
        """A writing rule at `block` level tripped: it cannot be approved unless edited."""
        return any(flag.get("level") == "block" for flag in self.lint)


class Approval(SQLModel, table=True):
    """A human's approval of one exact text; the email gateway sends nothing without one."""

    __table_args__ = (Index("ix_approval_draft_id", "draft_id", unique=True),)  # one per draft

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    text_sha256: str = Field(max_length=64)
    approved_by: str = Field(max_length=32)
    approved_at: datetime = Field(sa_type=UTCDateTime())
    edited: bool = False  # the person changed the text before approving


def add_draft(session: Session, draft: Draft, *, actor: str, now: datetime) -> Draft:
    """Store a new draft; a pending draft for the same mail is superseded, in one transaction."""
    for older in drafts_for(session, draft.inbound_message_id):
        if older.state is DraftState.PENDING:
            move(
                session,
                older,
                DraftState.SUPERSEDED,
                actor=actor,
                now=now,
                action="draft.supersede",
            )
    session.add(draft)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="draft.create",
        subject=draft.key,
        before=None,
        after={
            "state": draft.state.value,
            "mail": draft.inbound_message_id,
            "flags": len(draft.lint),
        },
    )
    return draft


def move(
    session: Session,
    draft: Draft,
    to: DraftState,
    *,
    actor: str,
    now: datetime,
    action: str,
    expected: DraftState | tuple[DraftState, ...] = DraftState.PENDING,
    note: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    """One transition of a draft: compare-and-set and its audit row; False if someone was first."""
    return transition(
        session,
        Draft,
        draft.id,
        expected=expected,
        to=to,
        actor=actor,
        action=action,
        now=now,
        subject=draft.key,
        note=note,
        **values,
    )


def approve(
    session: Session, draft: Draft, *, text: str, by: str, now: datetime, edited: bool
) -> Approval | None:
    """pending → approved, binding the approval to `text` exactly; None if it was not pending."""
    digest = sha256(text)
    won = move(
        session,
        draft,
        DraftState.APPROVED,
        actor=by,
        now=now,
        action="draft.approve",
        note={"sha256": digest, "edited": edited},
        decided_by=by,
        decided_at=now,
    )
    if not won:
        return None
    approval = Approval(
        draft_id=draft.id,  # type: ignore[arg-type]
        text=text,
        text_sha256=digest,
        approved_by=by,
        approved_at=now,
        edited=edited,
    )
    session.add(approval)
    session.flush()
    return approval


def approval_for(session: Session, draft_id: int) -> Approval | None:
    return session.scalars(select(Approval).where(Approval.draft_id == draft_id)).first()


def drafts_for(session: Session, message_id: str) -> list[Draft]:
    query = select(Draft).where(Draft.inbound_message_id == message_id).order_by(col(Draft.id))
    return list(session.scalars(query))


def listing(session: Session, *, include_done: bool = False) -> list[Draft]:
    """Drafts waiting for a person (pending), or all of them."""
    query = select(Draft).order_by(col(Draft.id))
    if not include_done:
        query = query.where(Draft.state == DraftState.PENDING)
    return list(session.scalars(query))


def to_json(draft: Draft) -> dict[str, Any]:
    """`switchboard drafts --json`: these keys exactly."""

    def moment(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "id": draft.id,
        "client_id": draft.client_id,
        "inbound_message_id": draft.inbound_message_id,
        "subject": draft.subject,
        "state": draft.state.value,
        "drafter": draft.drafter,
        "flags": [
            {"rule": f["rule"], "level": f["level"], "excerpt": f["excerpt"]} for f in draft.lint
        ],
        "created_at": moment(draft.created_at),
        "decided_by": draft.decided_by,
        "decided_at": moment(draft.decided_at),
        "reason": draft.reason,
        "sent_at": moment(draft.sent_at),
    }


@dataclass(frozen=True)
class RecentSends:
    """What the hourly cap counts: mail sent in the window, and sends under way."""

    sent: list[datetime]  # when each left, oldest first
    in_flight: int  # drafts `sending`: each counts at once, so side-by-side senders see it

    @property
    def count(self) -> int:
        return len(self.sent) + self.in_flight


def recent_sends(session: Session, since: datetime) -> RecentSends:
    """Call it after `hold_the_send_cap`, in the transaction that starts the next send."""
    query = select(Draft.sent_at).where(Draft.sent_at >= since).order_by(col(Draft.sent_at))
    in_flight = select(func.count()).select_from(Draft).where(Draft.state == DraftState.SENDING)
    return RecentSends(
        sent=[moment for moment in session.scalars(query) if moment is not None],
        in_flight=session.scalar(in_flight) or 0,
    )


def hold_the_send_cap(session: Session) -> None:
    """Senders in other transactions wait here until this one has started its send or not."""
    one_writer_at_a_time(session, SEND_CAP_LOCK)
