"""Escalations: executable, persisted state (DESIGN section 9)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from switchboard.store.types import UTCDateTime, enum_type


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    EXHAUSTED = "exhausted"


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=200, index=True)  # "alert:12", "draft:3", "email:<id>"
    domain: str = Field(max_length=64)
    policy_name: str = Field(max_length=64)
    # A copy of the policy's levels at creation: later manifest edits do not change it.
    policy: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    level: int = 0
    next_step_at: datetime = Field(sa_type=UTCDateTime(), index=True)
    status: EscalationStatus = Field(sa_type=enum_type(EscalationStatus), index=True)
    created_at: datetime = Field(sa_type=UTCDateTime())
    acknowledged_by: str | None = Field(default=None, max_length=32)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
