"""Each agent's autonomy as it stands now: the manifest seeds it, the store is the truth after.

Every run reads the level from here, so a pause from Slack takes effect at the next run
without a restart, and a restart never resets a level someone changed.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, Text, func, select
from sqlmodel import Field, Session, SQLModel

from switchboard.store.engine import upsert_insert
from switchboard.store.types import UTCDateTime, enum_type


class Autonomy(StrEnum):
    SHADOW = "shadow"  # outputs posted for review; nothing acts
    SUPERVISED = "supervised"  # actions need a human
    AUTONOMOUS = "autonomous"  # acts, logged
    PAUSED = "paused"  # kill switch


class AgentState(SQLModel, table=True):
    __tablename__ = "agent_state"

    name: str = Field(primary_key=True, max_length=64)
    autonomy: Autonomy = Field(sa_type=enum_type(Autonomy))
    shadow_since: date | None = None
    promoted_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    updated_at: datetime = Field(sa_type=UTCDateTime())
    updated_by: str = Field(max_length=64)


def seed(
    session: Session, agents: dict[str, tuple[Autonomy, date | None]], *, now: datetime
) -> None:
    """Insert agents missing from the store as `{name: (autonomy, shadow_since)}`.

    Existing rows win, and two processes seeding a fresh database at once both succeed.
    """
    if not agents:
        return
    rows = [
        {
            "name": name,
            "autonomy": autonomy,
            "shadow_since": since,
            "updated_at": now,
            "updated_by": "manifest",
        }
        for name, (autonomy, since) in agents.items()
    ]
    session.execute(upsert_insert(session, AgentState).values(rows).on_conflict_do_nothing())


def level(session: Session, name: str) -> Autonomy | None:
    """The agent's level now, or None for an agent the store does not know."""
    row = session.get(AgentState, name, populate_existing=True)
    return row.autonomy if row else None


class AgentRun(SQLModel, table=True):
    """One run of an agent: when it ran, for which date, how it was started, what it did.

    An agent is due when a fire time of its schedule falls after its last run.
    """

    __tablename__ = "agent_run"
    __table_args__ = (Index("ix_agent_run_agent_ran_at", "agent", "ran_at"),)

    id: int | None = Field(default=None, primary_key=True)
    agent: str = Field(max_length=64)
    as_of: date
    ran_at: datetime = Field(sa_type=UTCDateTime())
    trigger: str = Field(max_length=16)  # "tick", "cli", "demo"
    outcome: str = Field(sa_type=Text)  # its summary line


def record_run(
    session: Session, *, agent: str, as_of: date, ran_at: datetime, trigger: str, outcome: str
) -> None:
    session.add(AgentRun(agent=agent, as_of=as_of, ran_at=ran_at, trigger=trigger, outcome=outcome))


def last_run(session: Session, agent: str, *, at_or_before: datetime) -> datetime | None:
    """When `agent` last ran, at or before `at_or_before` (a later one is another clock's)."""
    return session.scalar(
        select(func.max(AgentRun.ran_at)).where(
            AgentRun.agent == agent, AgentRun.ran_at <= at_or_before
        )
    )
