"""Each agent's autonomy as it stands now: the manifest seeds it, the store is the truth after.

Every run reads the level from here, so a pause from Slack takes effect at the next run
without a restart, and a restart never resets a level someone changed.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

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
