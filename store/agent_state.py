"""Each agent's autonomy as it stands now: the manifest seeds it, the store is the truth after.

Every run reads the level from here, so a pause from Slack takes effect at the next run
without a restart, and a restart never resets a level someone changed. Every change is a
compare-and-set with its audit row (`agent.level`), which is also the agent's level history.
A paused agent's queued work (its jobs, its outbox messages) is held, not dropped:
`not_held` is the filter both queues use when they pick what to run next.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Index, Text, func, or_, select
from sqlmodel import Field, Session, SQLModel, col

from switchboard.store import audit
from switchboard.store.engine import upsert_insert
from switchboard.store.transitions import transition
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
    # The level a pause interrupted, which a resume restores.
    paused_from: Autonomy | None = Field(default=None, sa_type=enum_type(Autonomy))
    failures: int = 0  # runs failed in a row; the circuit breaker pauses at three


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
    row = get(session, name)
    return row.autonomy if row else None


def get(session: Session, name: str) -> AgentState | None:
    """The agent's row as the store holds it now (not as this session last saw it)."""
    return session.get(AgentState, name, populate_existing=True)


def everyone(session: Session) -> list[AgentState]:
    return list(session.scalars(select(AgentState).order_by(col(AgentState.name))))


def change_level(
    session: Session,
    name: str,
    *,
    expected: Autonomy,
    to: Autonomy,
    actor: str,
    now: datetime,
    reason: str | None = None,
    **values: Any,
) -> bool:
    """One level change, compare-and-set from `expected`, audited; False if it had moved."""
    return transition(
        session,
        AgentState,
        name,
        expected=expected,
        to=to,
        field="autonomy",
        actor=actor,
        action="agent.level",
        now=now,
        subject=f"agent:{name}",
        note={"reason": reason} if reason else None,
        updated_at=now,
        updated_by=actor,
        **values,
    )


def history(session: Session, name: str) -> list[audit.AuditEvent]:
    """The agent's level changes, oldest first (from the audit log, where each is)."""
    query = (
        select(audit.AuditEvent)
        .where(
            audit.AuditEvent.subject == f"agent:{name}", audit.AuditEvent.action == "agent.level"
        )
        .order_by(col(audit.AuditEvent.id))
    )
    return list(session.scalars(query))


def paused_agents() -> Any:
    return select(AgentState.name).where(AgentState.autonomy == Autonomy.PAUSED)


def not_held(agent: Any) -> ColumnElement[bool]:
    """A queue row's `agent` column is free to run: no agent, or one that is not paused."""
    return or_(agent.is_(None), agent.not_in(paused_agents()))


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


def run_failed(session: Session, name: str) -> int:
    """Count a failed run; how many have failed in a row now."""
    row = session.get(AgentState, name, populate_existing=True, with_for_update=True)
    if row is None:
        return 0
    row.failures += 1
    session.flush()
    return row.failures


def run_worked(session: Session, name: str) -> None:
    row = get(session, name)
    if row is not None and row.failures:
        row.failures = 0
