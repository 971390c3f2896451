"""Briefing runs: the unique (channel, day) key is what posts a briefing exactly once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from switchboard.store.types import UTCDateTime


class BriefingRun(SQLModel, table=True):
    __tablename__ = "briefing_run"
    __table_args__ = (UniqueConstraint("channel", "day", name="uq_briefing_run_channel_day"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    day: date
    created_at: datetime = Field(sa_type=UTCDateTime())
