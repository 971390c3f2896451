"""Briefing runs: the unique (channel, day) key is what posts a briefing exactly once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint, select
from sqlmodel import Field, Session, SQLModel

from switchboard.store.engine import upsert_insert
from switchboard.store.types import UTCDateTime


class BriefingRun(SQLModel, table=True):
    __tablename__ = "briefing_run"
    __table_args__ = (UniqueConstraint("channel", "day", name="uq_briefing_run_channel_day"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    day: date
    created_at: datetime = Field(sa_type=UTCDateTime())


def claim(session: Session, *, channel: str, day: date, now: datetime) -> BriefingRun | None:
    """Claim the briefing of `channel` for `day`, in the caller's transaction; None if it was
    claimed before (by this process, another replica or an earlier tick)."""
    statement = (
        upsert_insert(session, BriefingRun)
        .values(channel=channel, day=day, created_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "day"])
        .returning(BriefingRun.id)
    )
    new_id = session.execute(statement).scalar()
    return None if new_id is None else session.get_one(BriefingRun, new_id)


def posted(session: Session, *, channel: str, day: date) -> BriefingRun | None:
    query = select(BriefingRun).where(BriefingRun.channel == channel, BriefingRun.day == day)
    return session.scalars(query).first()
