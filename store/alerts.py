"""Pacing alerts and their lifecycle.

States: `suppressed` (a cross-check holds it back; kept for the briefing), `open`,
`acknowledged`, `resolved`. At most one unresolved alert per account, month and direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field, Session, SQLModel, col, select

from store import audit
from store.transitions import compare_and_set
from store.types import ExactDecimal, UTCDateTime, enum_type


class AlertDirection(StrEnum):
    OVER = "over"
    UNDER = "under"
    DARK = "dark"


class AlertState(StrEnum):
    SUPPRESSED = "suppressed"
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


UNRESOLVED = (AlertState.SUPPRESSED, AlertState.OPEN, AlertState.ACKNOWLEDGED)


class Alert(SQLModel, table=True):
    __table_args__ = (
        Index(
            "uq_alert_unresolved",
            "account_id",
            "month",
            "direction",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    domain: str = Field(default="ad_performance", max_length=64)
    account_id: str = Field(index=True, max_length=64)
    client_id: str = Field(max_length=64)
    month: str = Field(max_length=7)
    direction: AlertDirection = Field(sa_type=enum_type(AlertDirection))
    state: AlertState = Field(sa_type=enum_type(AlertState), index=True)
    deviation_pct: Decimal | None = Field(default=None, sa_type=ExactDecimal(9, 1))
    # The deviation last told to people: re-notify only when it worsens by 10 points.
    notified_deviation_pct: Decimal | None = Field(default=None, sa_type=ExactDecimal(9, 1))
    notifications: int = 0
    suppressed_code: str | None = Field(default=None, max_length=32)
    suppressed_detail: str | None = Field(default=None, max_length=500)
    assignee: str | None = Field(default=None, max_length=32)
    first_seen_on: date
    last_seen_on: date
    opened_at: datetime = Field(sa_type=UTCDateTime())
    updated_at: datetime = Field(sa_type=UTCDateTime())
    acknowledged_by: str | None = Field(default=None, max_length=32)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    resolved_reason: str | None = Field(default=None, max_length=200)

    @property
    def subject(self) -> str:
        return f"alert:{self.id}"


def unresolved(session: Session, *, month: str | None = None) -> list[Alert]:
    query = select(Alert).where(col(Alert.state).in_(UNRESOLVED)).order_by(col(Alert.id))
    if month is not None:
        query = query.where(Alert.month == month)
    return list(session.exec(query))


def listing(session: Session, *, include_resolved: bool = False) -> list[Alert]:
    query = select(Alert).order_by(col(Alert.id))
    if not include_resolved:
        query = query.where(col(Alert.state).in_(UNRESOLVED))
    return list(session.exec(query))


@dataclass(frozen=True)
class Outcome:
    """What a person's action on an alert did: `won` or, if not, the row as it stands."""

    won: bool
    alert: Alert


def acknowledge(session: Session, alert_id: int, *, by: str, now: datetime) -> Outcome:
    """open → acknowledged, with its audit row, in the caller's transaction."""
    won = compare_and_set(
        session,
        Alert,
        alert_id,
        expected=AlertState.OPEN,
        to=AlertState.ACKNOWLEDGED,
        acknowledged_by=by,
        acknowledged_at=now,
        updated_at=now,
    )
    if won:
        audit.record(
            session,
            at=now,
            actor=by,
            action="alert.ack",
            subject=f"alert:{alert_id}",
            before={"state": AlertState.OPEN.value},
            after={"state": AlertState.ACKNOWLEDGED.value},
        )
    return Outcome(won=won, alert=session.get_one(Alert, alert_id, populate_existing=True))


def reassign(
    session: Session,
    alert_id: int,
    *,
    expected_assignee: str | None,
    to: str,
    by: str,
    now: datetime,
) -> Outcome:
    """Hand the alert to another person, if nobody else reassigned it meanwhile."""
    won = compare_and_set(
        session,
        Alert,
        alert_id,
        state_field="assignee",
        expected=expected_assignee,
        to=to,
        updated_at=now,
    )
    if won:
        audit.record(
            session,
            at=now,
            actor=by,
            action="alert.reassign",
            subject=f"alert:{alert_id}",
            before={"assignee": expected_assignee},
            after={"assignee": to},
        )
    return Outcome(won=won, alert=session.get_one(Alert, alert_id, populate_existing=True))
