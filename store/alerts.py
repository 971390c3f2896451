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

from switchboard.store import audit
from switchboard.store.transitions import transition
from switchboard.store.types import ExactDecimal, Money, UTCDateTime, enum_type


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
    domain: str = Field(max_length=64)  # the data domain its agent owns (the manifest says)
    account_id: str = Field(index=True, max_length=64)
    client_id: str = Field(max_length=64)
    month: str = Field(max_length=7)
    direction: AlertDirection = Field(sa_type=enum_type(AlertDirection))
    state: AlertState = Field(sa_type=enum_type(AlertState), index=True)
    deviation_pct: Decimal | None = Field(default=None, sa_type=ExactDecimal(9, 1))
    # The deviation last told to people: re-notify only when it worsens by 10 points.
    notified_deviation_pct: Decimal | None = Field(default=None, sa_type=ExactDecimal(9, 1))
    notifications: int = 0
    # The figures the alert's message shows, as of its last evaluation (raised, re-notified,
    # seen again): money in the account's currency, and the deviation that makes an alert
    # (over_pct, under_pct, or early_alert_pct - 100 early in the month; none for dark).
    # Null on alerts raised before these were kept, until the agent next sees them.
    spend_to_date: Decimal | None = Field(default=None, sa_type=Money())
    plan_to_date: Decimal | None = Field(default=None, sa_type=Money())
    budget: Decimal | None = Field(default=None, sa_type=Money())
    projected_month_end: Decimal | None = Field(default=None, sa_type=Money())
    threshold_pct: Decimal | None = Field(default=None, sa_type=ExactDecimal(9, 2))
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

    def to_json(self) -> dict[str, object]:
        def moment(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "account_id": self.account_id,
            "client_id": self.client_id,
            "month": self.month,
            "direction": self.direction.value,
            "state": self.state.value,
            "deviation_pct": None if self.deviation_pct is None else float(self.deviation_pct),
            "assignee": self.assignee,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": moment(self.acknowledged_at),
            "suppressed": (
                {"code": self.suppressed_code, "detail": self.suppressed_detail}
                if self.suppressed_code
                else None
            ),
            "first_seen_on": self.first_seen_on.isoformat(),
            "last_seen_on": self.last_seen_on.isoformat(),
            "resolved_at": moment(self.resolved_at),
            "resolved_reason": self.resolved_reason,
        }


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


def _move(
    session: Session,
    alert_id: int,
    *,
    expected: AlertState | tuple[AlertState, ...],
    to: AlertState,
    actor: str,
    action: str,
    now: datetime,
    note: dict[str, object] | None = None,
    **values: object,
) -> bool:
    return transition(
        session,
        Alert,
        alert_id,
        expected=expected,
        to=to,
        actor=actor,
        action=action,
        now=now,
        subject=f"alert:{alert_id}",
        note=note,
        updated_at=now,
        **values,
    )


def _outcome(session: Session, alert_id: int, won: bool) -> Outcome:
    return Outcome(won=won, alert=session.get_one(Alert, alert_id, populate_existing=True))


def acknowledge(session: Session, alert_id: int, *, by: str, now: datetime) -> Outcome:
    """open → acknowledged (a person has it)."""
    won = _move(
        session,
        alert_id,
        expected=AlertState.OPEN,
        to=AlertState.ACKNOWLEDGED,
        actor=by,
        action="alert.ack",
        now=now,
        acknowledged_by=by,
        acknowledged_at=now,
    )
    return _outcome(session, alert_id, won)


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
    won = transition(
        session,
        Alert,
        alert_id,
        field="assignee",
        expected=expected_assignee,
        to=to,
        actor=by,
        action="alert.reassign",
        now=now,
        subject=f"alert:{alert_id}",
        updated_at=now,
    )
    return _outcome(session, alert_id, won)


def open_new(session: Session, alert: Alert, *, actor: str, now: datetime) -> Alert:
    """Insert a new alert (state `open` or `suppressed`) with its audit row."""
    session.add(alert)
    session.flush()
    code = {"code": alert.suppressed_code} if alert.state is AlertState.SUPPRESSED else {}
    audit.record(
        session,
        at=now,
        actor=actor,
        action="alert.raise",
        subject=alert.subject,
        before=None,
        after={"state": alert.state.value, **code},
    )
    return alert


def suppress(
    session: Session, alert: Alert, *, code: str, detail: str, actor: str, now: datetime
) -> bool:
    """open → suppressed: a cross-check now holds the alert back (acknowledged ones stay)."""
    return _move(
        session,
        alert.id,  # type: ignore[arg-type]
        expected=AlertState.OPEN,
        to=AlertState.SUPPRESSED,
        actor=actor,
        action="alert.suppress",
        now=now,
        note={"code": code},
        suppressed_code=code,
        suppressed_detail=detail,
    )


def unsuppress(session: Session, alert: Alert, *, actor: str, now: datetime) -> bool:
    """suppressed → open: the cross-check no longer holds; people must hear of it now."""
    return _move(
        session,
        alert.id,  # type: ignore[arg-type]
        expected=AlertState.SUPPRESSED,
        to=AlertState.OPEN,
        actor=actor,
        action="alert.unsuppress",
        now=now,
        suppressed_code=None,
        suppressed_detail=None,
    )


def resolve(session: Session, alert: Alert, *, reason: str, actor: str, now: datetime) -> bool:
    """Any unresolved state → resolved."""
    return _move(
        session,
        alert.id,  # type: ignore[arg-type]
        expected=UNRESOLVED,
        to=AlertState.RESOLVED,
        actor=actor,
        action="alert.resolve",
        now=now,
        note={"reason": reason},
        resolved_at=now,
        resolved_reason=reason,
    )
