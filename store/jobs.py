"""Jobs: work that takes longer than a click (drafting, email sends, chart renders).

A job is a row with a kind, a unique key (so the same job is never queued twice), a JSON
payload, and, for a job that produces a file, the file itself (`artifact`), not inside the
JSON. Workers claim due jobs through the lease mechanism (`store/leases.py`) and extend
the lease while a job runs; `bot/jobs.py` says which kinds exist, on which pool they run,
how long their lease is and how often they may be tried.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, select
from sqlmodel import Field, Session

from switchboard.store.agent_state import not_held
from switchboard.store.engine import upsert_insert
from switchboard.store.leases import Leasable, Lease, claim, claimable
from switchboard.store.types import UTCDateTime, enum_type


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # given up; `last_error` says why


class Job(Leasable, table=True):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_state_run_at", "state", "run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    key: str = Field(max_length=300, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    artifact: bytes | None = Field(default=None, sa_type=LargeBinary)
    agent: str | None = Field(default=None, max_length=64)  # the agent it works for, if any
    state: JobState = Field(default=JobState.PENDING, sa_type=enum_type(JobState))
    run_at: datetime = Field(sa_type=UTCDateTime())
    created_at: datetime = Field(sa_type=UTCDateTime())
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


def enqueue(
    session: Session,
    *,
    kind: str,
    key: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    agent: str | None = None,
) -> bool:
    """Queue a job in the caller's transaction; a key already queued is left alone.

    Returns whether a row was added.
    """
    statement = (
        upsert_insert(session, Job)
        .values(
            kind=kind,
            key=key,
            payload=payload or {},
            agent=agent,
            state=JobState.PENDING,
            attempts=0,
            run_at=run_at or now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Job.id)
    )
    return session.execute(statement).scalar() is not None


def claim_due(
    session: Session,
    *,
    kinds: Collection[str],
    now: datetime,
    lease: Any,
    limit: int = 1,
) -> list[Lease]:
    """Take up to `limit` due jobs of `kinds` (oldest first), or jobs whose lease ran out."""
    candidates = (
        select(Job.id)
        .where(
            Job.kind.in_(list(kinds)),
            Job.state.in_([JobState.PENDING, JobState.RUNNING]),
            Job.run_at <= now,
            claimable(Job, now),
            not_held(Job.agent),  # a paused agent's jobs wait for its resume
        )
        .order_by(Job.run_at, Job.id)
        .limit(limit)
    )
    return claim(session, Job, candidates, now=now, lease=lease, state=JobState.RUNNING)


def by_key(session: Session, key: str) -> Job | None:
    return session.scalars(select(Job).where(Job.key == key)).first()
