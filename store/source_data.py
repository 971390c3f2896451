"""Source data imported from the agency's systems (DESIGN section 5)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Index, String, Text, select
from sqlmodel import Field, Session, SQLModel

from switchboard.store.types import Money, UTCDateTime, enum_type


class ClientStatus(StrEnum):
    ACTIVE = "active"
    ONBOARDING = "onboarding"
    OFFBOARDING = "offboarding"
    CHURNED = "churned"


class Platform(StrEnum):
    GOOGLE_ADS = "google_ads"
    META_ADS = "meta_ads"


class ProjectStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    ON_HOLD = "on_hold"


class Client(SQLModel, table=True):
    client_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    status: ClientStatus = Field(sa_type=enum_type(ClientStatus))
    offboarding_date: date | None = None
    owner_slack_id: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=320)


class AdAccount(SQLModel, table=True):
    __tablename__ = "ad_account"

    account_id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(foreign_key="client.client_id", index=True, max_length=64)
    platform: Platform = Field(sa_type=enum_type(Platform))
    name: str = Field(max_length=200)
    currency: str = Field(max_length=3)
    timezone: str = Field(max_length=64)


class Budget(SQLModel, table=True):
    """A month's budget; a row with a later `effective_from` replaces it from that day."""

    account_id: str = Field(foreign_key="ad_account.account_id", primary_key=True, max_length=64)
    month: str = Field(primary_key=True, max_length=7)
    # A row imported without effective_from is in force from day 1, stored as that day.
    effective_from: date = Field(primary_key=True)
    amount: Decimal = Field(sa_type=Money())


class SpendDay(SQLModel, table=True):
    """One account-day of spend. No row means no data; a 0 row means no spend."""

    __tablename__ = "spend_day"
    __table_args__ = (Index("ix_spend_day_day", "day"),)

    account_id: str = Field(foreign_key="ad_account.account_id", primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    spend: Decimal = Field(sa_type=Money())
    leads: int | None = None


class Exclusion(SQLModel, table=True):
    account_id: str = Field(foreign_key="ad_account.account_id", primary_key=True, max_length=64)
    reason: str = Field(primary_key=True, max_length=200)
    starts: date | None = None
    ends: date | None = None

    def covers(self, day: date) -> bool:
        return (self.starts is None or self.starts <= day) and (
            self.ends is None or day <= self.ends
        )


class Project(SQLModel, table=True):
    """A project as one source reports it; two sources may disagree (a conflict)."""

    source: str = Field(primary_key=True, max_length=64)
    project_id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(foreign_key="client.client_id", index=True, max_length=64)
    name: str = Field(max_length=200)
    due_date: date
    status: ProjectStatus = Field(sa_type=enum_type(ProjectStatus))


class InboundEmail(SQLModel, table=True):
    __tablename__ = "inbound_email"

    message_id: str = Field(primary_key=True, max_length=200)
    client_id: str = Field(foreign_key="client.client_id", index=True, max_length=64)
    from_email: str = Field(max_length=320)
    subject: str = Field(sa_column=Column(String(500), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_type=UTCDateTime())


def holds_data(session: Session) -> bool:
    """Whether the store holds anything yet: a client (every other imported row belongs to
    one) or an audit event (anything that happened)."""
    from switchboard.store.audit import AuditEvent

    return any(
        session.scalar(select(column).limit(1)) is not None
        for column in (Client.client_id, AuditEvent.id)
    )
