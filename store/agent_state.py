"""Each agent's autonomy as it stands now (the manifest gives the starting point)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

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
