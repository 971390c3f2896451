"""When each escalation step is due, and whom it reaches (DESIGN section 9).

Timing, pinned:
- `after` is a duration (`0m`, `30m`, `2h`, `1d`) or `next_business_day`, counted from the
  previous step's delivery (the first level from the escalation's creation).
- Steps run only inside business hours (agency timezone; start inclusive, end exclusive);
  one that comes due outside them runs at the next business-hours start, unless its level
  says `anytime: true`.
- `next_business_day` is the business-hours start of the first business day after the
  previous step's delivery.
- An escalation is exhausted when its last level was delivered and the next business day
  has begun without acknowledgement.

Who, resolved when the step runs: `owner` is, for an alert, its assignee; for client mail,
the client's owner when that is a listed person, else the domain's owner; otherwise the
domain's owner. `lead` is that person's lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from switchboard.store.alerts import Alert
from switchboard.store.escalations import Escalation, Via
from switchboard.store.manifest import (
    NEXT_BUSINESS_DAY,
    AgencyManifest,
    BusinessHours,
    EscalationLevel,
    Weekday,
    parse_duration,
)
from switchboard.store.ownership import DomainOwner
from switchboard.store.source_data import Client, InboundEmail

_WEEKDAYS = list(Weekday)  # Monday first, as date.weekday() counts


@dataclass(frozen=True)
class BusinessCalendar:
    hours: BusinessHours
    tz: ZoneInfo

    @classmethod
    def of(cls, manifest: AgencyManifest) -> BusinessCalendar:
        return cls(manifest.business_hours, manifest.tz)

    def _business_day(self, day: date) -> bool:
        return _WEEKDAYS[day.weekday()] in self.hours.days

    def _start(self, day: date) -> datetime:
        return datetime.combine(day, self.hours.start, tzinfo=self.tz)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        hours = self.hours
        return self._business_day(local.date()) and hours.start <= local.time() < hours.end

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself inside business hours, else the next business-hours start."""
        if self.is_open(moment):
            return moment
        day = moment.astimezone(self.tz).date()
        for ahead in range(8):
            start = self._start(day + timedelta(days=ahead))
            if self._business_day(start.date()) and start >= moment:
                return start
        raise ValueError("business_hours has no business days")  # the manifest refuses this

    def next_business_day_start(self, moment: datetime) -> datetime:
        """The business-hours start of the first business day after `moment`'s day."""
        day = moment.astimezone(self.tz).date()
        for ahead in range(1, 9):
            if self._business_day(day + timedelta(days=ahead)):
                return self._start(day + timedelta(days=ahead))
        raise ValueError("business_hours has no business days")


def level_spec(policy: list[dict[str, Any]], level: int) -> EscalationLevel:
    """Level `level` (1-based) of a policy copied into an escalation."""
    return EscalationLevel.model_validate(policy[level - 1])


def due_after(spec: EscalationLevel, previous: datetime, calendar: BusinessCalendar) -> datetime:
    """When a level is due, counted from the previous step's delivery (or the creation)."""
    if spec.after == NEXT_BUSINESS_DAY:
        due = calendar.next_business_day_start(previous)
    else:
        due = previous + parse_duration(spec.after)
    return due if spec.anytime else calendar.next_open(due)


def exhausted_at(last_delivery: datetime, calendar: BusinessCalendar) -> datetime:
    return calendar.next_business_day_start(last_delivery)


@dataclass(frozen=True)
class Target:
    """Whom a step reaches: a person by DM, or a channel (mentioning the owner)."""

    via: Via
    address: str | None  # the user id (DM) or channel id; None when it resolves to nobody
    person: str | None  # who is reached (DM) or mentioned (channel)
    problem: str | None = None  # why it resolved to nobody


def owner_of(session: Session, escalation: Escalation, manifest: AgencyManifest) -> str | None:
    """The person `owner` means for this escalation now (a reassigned alert: the new one)."""
    kind, _, ref = escalation.subject.partition(":")
    if kind == "alert" and ref.isdigit():
        alert = session.get(Alert, int(ref))
        if alert is not None and alert.assignee:
            return alert.assignee
    if kind == "email":
        email = session.get(InboundEmail, ref)
        client = session.get(Client, email.client_id) if email else None
        if client and client.owner_slack_id and manifest.person(client.owner_slack_id):
            return client.owner_slack_id
    row = session.get(DomainOwner, escalation.domain)
    return row.owner if row else None


def target_of(spec: EscalationLevel, owner: str | None, manifest: AgencyManifest) -> Target:
    if spec.channel is not None:
        return Target(Via.CHANNEL, getattr(manifest.channels, spec.channel), owner)
    if spec.notify == "owner":
        person = owner
        problem = None if owner else "the subject has no owner"
    elif spec.notify == "lead":
        person = manifest.lead_of(owner) if owner else None
        problem = None if person else f"{owner or 'the owner'} has no lead in the manifest"
    else:
        person, problem = spec.notify, None
    return Target(Via.DM, person, person, problem)
