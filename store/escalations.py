"""Escalations: executable, persisted state (DESIGN section 9).

An escalation copies its policy when it opens (a manifest edited later changes nothing
running), keeps the level it has reached and when its next step is due, and records one
row per step: who it resolved to, how, the outbox message, and whether Slack took it. It
is `open` until someone acknowledges it (`acknowledged`), its subject goes away
(`resolved`), or its last level went unanswered a business day (`exhausted`, which can
still be acknowledged). Due escalations are claimed through the lease mechanism, so two
ticks or two replicas never run the same step; the step's unique (escalation, level) key
is the second lock on that door.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, func, select, text
from sqlmodel import Field, Session, SQLModel, col

from switchboard.store import audit
from switchboard.store.leases import Leasable, Lease, claim, claimable
from switchboard.store.transitions import transition
from switchboard.store.types import UTCDateTime, enum_type

SUBJECT_LENGTH = 300  # "email:" and a 200-character message id, with room to spare


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    EXHAUSTED = "exhausted"


ACTIVE = (EscalationStatus.OPEN, EscalationStatus.EXHAUSTED)  # can still be acknowledged


class StepState(StrEnum):
    QUEUED = "queued"  # in the outbox
    DELIVERED = "delivered"  # Slack took it: the step counts as executed
    FAILED = "failed"  # undeliverable, or resolved to nobody: the next level is due at once


class Via(StrEnum):
    DM = "dm"
    CHANNEL = "channel"


class Escalation(Leasable, table=True):
    __table_args__ = (
        Index("ix_escalation_status_next_step_at", "status", "next_step_at"),
        # One active escalation per subject: opening twice in a race is refused by the store.
        Index(
            "uq_escalation_active_subject",
            "subject",
            unique=True,
            sqlite_where=text("status IN ('open', 'exhausted')"),
            postgresql_where=text("status IN ('open', 'exhausted')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=SUBJECT_LENGTH, index=True)  # "alert:12", "email:<id>"
    domain: str = Field(max_length=64)
    policy_name: str = Field(max_length=64)
    # A copy of the policy's levels at creation: later manifest edits do not change it.
    policy: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    # What the messages say about the subject (headline, details), written by its opener.
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The highest level run so far, its step possibly still queued (the driver's next is
    # one above). The JSON's `level` counts only steps delivered or failed: `reached`.
    level: int = 0
    next_step_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    status: EscalationStatus = Field(sa_type=enum_type(EscalationStatus), index=True)
    created_at: datetime = Field(sa_type=UTCDateTime())
    acknowledged_by: str | None = Field(default=None, max_length=32)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    late_reported_level: int = 0  # the auditor has reported lateness up to this level

    @property
    def key(self) -> str:
        return f"escalation:{self.id}"

    @property
    def levels(self) -> int:
        return len(self.policy)


class EscalationStep(SQLModel, table=True):
    __tablename__ = "escalation_step"
    __table_args__ = (UniqueConstraint("escalation_id", "level", name="uq_escalation_step_level"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    level: int  # 1-based
    notify: str = Field(max_length=64)  # the policy's word: owner, lead, U123, channel:alerts
    via: Via = Field(sa_type=enum_type(Via))
    target: str | None = Field(default=None, max_length=32)  # user id (DM) or channel id
    person: str | None = Field(default=None, max_length=32)  # who it reached or mentioned
    state: StepState = Field(sa_type=enum_type(StepState))
    outbox_key: str | None = Field(default=None, max_length=300)
    queued_at: datetime = Field(sa_type=UTCDateTime())
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    error: str | None = Field(default=None, sa_type=Text)


def step_key(escalation_id: int, level: int) -> str:
    """The outbox key of a step's message (its delivery is recorded on the step by it)."""
    return f"escalation:{escalation_id}:level:{level}"


def parse_step_key(key: str) -> tuple[int, int] | None:
    parts = key.split(":")
    if len(parts) == 4 and parts[0] == "escalation" and parts[2] == "level":
        try:
            return int(parts[1]), int(parts[3])
        except ValueError:
            return None
    return None


def active_for(session: Session, subject: str) -> Escalation | None:
    query = select(Escalation).where(
        Escalation.subject == subject, col(Escalation.status).in_(ACTIVE)
    )
    return session.scalars(query).first()


def ever_opened(session: Session, subject: str) -> bool:
    """Whether `subject` ever had an escalation, in any status (for once-only subjects)."""
    query = select(Escalation.id).where(Escalation.subject == subject).limit(1)
    return session.scalar(query) is not None


def open_new(
    session: Session,
    *,
    subject: str,
    domain: str,
    policy_name: str,
    policy: Sequence[dict[str, Any]],
    context: dict[str, Any],
    first_step_at: datetime,
    actor: str,
    now: datetime,
) -> Escalation | None:
    """Open an escalation for `subject`, in the caller's transaction, with its audit row.

    None if the subject already has an active one (nothing is opened twice).
    """
    if active_for(session, subject) is not None:
        return None
    escalation = Escalation(
        subject=subject,
        domain=domain,
        policy_name=policy_name,
        policy=[dict(level) for level in policy],
        context=context,
        next_step_at=first_step_at,
        status=EscalationStatus.OPEN,
        created_at=now,
    )
    session.add(escalation)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="escalation.open",
        subject=escalation.key,
        before=None,
        after={"status": "open", "for": subject, "policy": policy_name},
    )
    return escalation


def steps(session: Session, escalation_id: int) -> list[EscalationStep]:
    query = select(EscalationStep).where(EscalationStep.escalation_id == escalation_id)
    return list(session.scalars(query.order_by(EscalationStep.level)))


def steps_of(session: Session, escalation_ids: Sequence[int]) -> dict[int, list[EscalationStep]]:
    """The steps of several escalations in one query, by escalation id."""
    found: dict[int, list[EscalationStep]] = {i: [] for i in escalation_ids}
    query = select(EscalationStep).where(col(EscalationStep.escalation_id).in_(escalation_ids))
    for row in session.scalars(query.order_by(EscalationStep.level)):
        found[row.escalation_id].append(row)
    return found


def step(session: Session, escalation_id: int, level: int) -> EscalationStep | None:
    query = select(EscalationStep).where(
        EscalationStep.escalation_id == escalation_id, EscalationStep.level == level
    )
    return session.scalars(query).first()


def acknowledge(session: Session, escalation_id: int, *, by: str, now: datetime) -> bool:
    """open | exhausted → acknowledged: nothing more is sent."""
    return transition(
        session,
        Escalation,
        escalation_id,
        field="status",
        expected=ACTIVE,
        to=EscalationStatus.ACKNOWLEDGED,
        actor=by,
        action="escalation.ack",
        now=now,
        subject=f"escalation:{escalation_id}",
        acknowledged_by=by,
        acknowledged_at=now,
        closed_at=now,
        next_step_at=None,
    )


def resolve(
    session: Session, escalation_id: int, *, reason: str, actor: str, now: datetime
) -> bool:
    """open | exhausted → resolved: its subject went away (the alert resolved, say)."""
    return transition(
        session,
        Escalation,
        escalation_id,
        field="status",
        expected=ACTIVE,
        to=EscalationStatus.RESOLVED,
        actor=actor,
        action="escalation.resolve",
        now=now,
        subject=f"escalation:{escalation_id}",
        note={"reason": reason},
        closed_at=now,
        next_step_at=None,
    )


def exhaust(session: Session, escalation_id: int, *, now: datetime) -> bool:
    """open → exhausted: every level went unanswered; it may still be acknowledged."""
    return transition(
        session,
        Escalation,
        escalation_id,
        field="status",
        expected=EscalationStatus.OPEN,
        to=EscalationStatus.EXHAUSTED,
        actor="escalations",
        action="escalation.exhausted",
        now=now,
        subject=f"escalation:{escalation_id}",
        next_step_at=None,
    )


def claim_due(session: Session, *, now: datetime, lease: Any, limit: int) -> list[Lease]:
    """Open escalations whose next step is due, oldest due first, under a lease."""
    candidates = (
        select(Escalation.id)
        .where(
            Escalation.status == EscalationStatus.OPEN,
            Escalation.next_step_at <= now,
            claimable(Escalation, now),
        )
        .order_by(Escalation.next_step_at, Escalation.id)
        .limit(limit)
    )
    return claim(session, Escalation, candidates, now=now, lease=lease)


def next_due(session: Session, *, after: datetime, until: datetime) -> datetime | None:
    """The earliest moment in (after, until] at which an open escalation's next step is due
    (a clock moved by hand stops there, so no step is run late)."""
    return session.scalar(
        select(func.min(Escalation.next_step_at)).where(
            Escalation.status == EscalationStatus.OPEN,
            col(Escalation.next_step_at) > after,
            col(Escalation.next_step_at) <= until,
        )
    )


def listing(session: Session, *, include_closed: bool = False) -> list[Escalation]:
    query = select(Escalation).order_by(col(Escalation.id))
    if not include_closed:
        query = query.where(col(Escalation.status).in_(ACTIVE))
    return list(session.scalars(query))


def reached(steps: Sequence[EscalationStep]) -> int:
    """The highest level delivered or failed; 0 before the first (a queued step is not yet)."""
    done = (StepState.DELIVERED, StepState.FAILED)
    return max((s.level for s in steps if s.state in done), default=0)


def to_json(escalation: Escalation, steps: Sequence[EscalationStep]) -> dict[str, Any]:
    """`switchboard escalations --json`: these keys exactly, times ISO-8601 with offset."""

    def moment(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "id": escalation.id,
        "subject": escalation.subject,
        "domain": escalation.domain,
        "policy": escalation.policy_name,
        "status": escalation.status.value,
        "level": reached(steps),
        "levels": escalation.levels,
        "created_at": moment(escalation.created_at),
        "next_step_at": moment(escalation.next_step_at),
        "acknowledged_by": escalation.acknowledged_by,
        "steps": [
            {
                "level": step.level,
                "notify": step.notify,
                "target": step.target,
                "via": step.via.value,
                "state": step.state.value,
                "delivered_at": moment(step.delivered_at),
                "error": step.error,
            }
            for step in steps
        ],
    }
