"""Shadow mode's record: what a shadow agent would have done, and people's verdicts on it.

Each output is kept once (its `key` names the event, so an agent that runs every hour does
not repeat itself). A reviewer gives one verdict per output: the unique index makes a
second click, or ten at once, record exactly one. Promotion out of shadow is judged on
these rows: outputs since the agent's `shadow_since`, how many were reviewed, and the
share of agreeing verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Index, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col

from switchboard.store import audit
from switchboard.store.engine import upsert_insert
from switchboard.store.types import UTCDateTime, enum_type


class ShadowVerdict(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"


class ShadowOutput(SQLModel, table=True):
    __tablename__ = "shadow_output"
    __table_args__ = (Index("ix_shadow_output_agent_created", "agent", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    agent: str = Field(max_length=64)
    kind: str = Field(max_length=32)  # alert, escalation, draft, message
    what: str = Field(sa_type=Text)  # "post an over-pacing alert for Birch & Co"
    for_whom: str = Field(sa_type=Text)  # "#alerts, assigned to U0AM"
    why: str = Field(sa_type=Text)
    detail: str | None = Field(default=None, sa_type=Text)  # e.g. the draft's text
    created_at: datetime = Field(sa_type=UTCDateTime())


class ShadowReview(SQLModel, table=True):
    __tablename__ = "shadow_review"
    __table_args__ = (
        Index("ix_shadow_review_output_reviewer", "output_id", "reviewer", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    output_id: int = Field(foreign_key="shadow_output.id")
    reviewer: str = Field(max_length=32)
    verdict: ShadowVerdict = Field(sa_type=enum_type(ShadowVerdict))
    note: str | None = Field(default=None, sa_type=Text)
    at: datetime = Field(sa_type=UTCDateTime())


def add_output(session: Session, output: ShadowOutput) -> ShadowOutput | None:
    """Keep `output` (in the caller's transaction); None if its key was kept before."""
    values = output.model_dump(exclude={"id"})
    statement = (
        upsert_insert(session, ShadowOutput)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(ShadowOutput.id)
    )
    new_id = session.execute(statement).scalar()
    if new_id is None:
        return None
    audit.record(
        session,
        at=output.created_at,
        actor=f"agent:{output.agent}",
        action="shadow.output",
        subject=f"shadow:{new_id}",
        after={"kind": output.kind, "what": output.what},
    )
    return session.get_one(ShadowOutput, new_id)


def review(
    session: Session,
    output: ShadowOutput,
    *,
    reviewer: str,
    verdict: ShadowVerdict,
    note: str | None,
    now: datetime,
) -> ShadowReview | None:
    """Record one reviewer's verdict; None if they gave one before (it stands)."""
    if verdict_of(session, output.id, reviewer) is not None:  # type: ignore[arg-type]
        return None
    row = ShadowReview(
        output_id=output.id,  # type: ignore[arg-type]
        reviewer=reviewer,
        verdict=verdict,
        note=note,
        at=now,
    )
    try:
        with session.begin_nested():  # a concurrent click may have won the unique index
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    audit.record(
        session,
        at=now,
        actor=reviewer,
        action=f"shadow.{verdict.value}",
        subject=f"shadow:{output.id}",
        after={"note": note} if note else None,
    )
    return row


def verdict_of(session: Session, output_id: int, reviewer: str) -> ShadowReview | None:
    query = select(ShadowReview).where(
        ShadowReview.output_id == output_id, ShadowReview.reviewer == reviewer
    )
    return session.scalars(query).first()


def reviews(session: Session, output_id: int) -> list[ShadowReview]:
    query = (
        select(ShadowReview)
        .where(ShadowReview.output_id == output_id)
        .order_by(col(ShadowReview.id))
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class ShadowRecord:
    """An agent's shadow numbers since a moment (its `shadow_since`)."""

    outputs: int
    reviewed: int  # outputs with at least one verdict
    agrees: int
    disagrees: int

    @property
    def agreement_pct(self) -> Decimal | None:
        """agrees / (agrees + disagrees) over every verdict; None before the first."""
        verdicts = self.agrees + self.disagrees
        if not verdicts:
            return None
        return (Decimal(100) * self.agrees / verdicts).quantize(Decimal("0.1"))


def record_since(session: Session, agent: str, since: datetime | None) -> ShadowRecord:
    outputs = select(ShadowOutput.id).where(ShadowOutput.agent == agent)
    if since is not None:
        outputs = outputs.where(ShadowOutput.created_at >= since)
    ids = outputs.scalar_subquery()
    count = session.scalar(select(func.count()).select_from(outputs.subquery())) or 0
    reviewed = session.scalar(
        select(func.count(func.distinct(ShadowReview.output_id))).where(
            ShadowReview.output_id.in_(ids)  # type: ignore[attr-defined]
        )
    )
    tally = dict(
        session.execute(
            select(ShadowReview.verdict, func.count())
            .where(ShadowReview.output_id.in_(ids))  # type: ignore[attr-defined]
            .group_by(ShadowReview.verdict)
        ).all()
    )
    return ShadowRecord(
        outputs=count,
        reviewed=reviewed or 0,
        agrees=tally.get(ShadowVerdict.AGREE, 0),
        disagrees=tally.get(ShadowVerdict.DISAGREE, 0),
    )
